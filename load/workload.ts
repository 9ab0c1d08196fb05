/**
 * A day of a 12345 center, compressed (一天的来电，压缩回放): tickets arrive as a Poisson process
 * whose rate follows the hour of the day; each ticket lives its story through the public API, by the
 * people who act on it — the agent registers it (受理), answers a consultation on the spot (即办) or
 * the dispatcher sends it to a unit (派单); the unit acknowledges (签收), sometimes adds a photo,
 * replies (办结反馈); the center accepts the reply (审核); the sweep opens the callback (回访) and the
 * agent records the citizen's rating. One ticket in ten is left unacknowledged and its reminder is
 * brought forward (the driver moves the milestone's due time to now), so the supervision ladder
 * fires during the run too.
 *
 * Every write the server accepted goes in the ledger with its idempotency key.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { sleep } from './cluster';
import type { SpreadClient } from './client';
import type { ConsoleUser } from './consoles';

/** Beijing's 12345 takes about 68,000 tickets a day (the figure); 1× is that day's average rate. */
export const BEIJING_TICKETS_PER_DAY = 68_000;

/**
 * Share of a day's tickets by hour (Beijing time, 0–23): two peaks (9–11, 14–16), a quiet night.
 * An assumed shape typical of hotline centers, not a published series.
 */
export const HOURLY_SHAPE = [0.6, 0.4, 0.3, 0.3, 0.3, 0.5, 1.2, 3.0, 6.5, 8.6, 8.8, 7.6, 5.6, 6.0, 7.8, 8.0, 7.4, 6.2, 4.4, 3.8, 3.6, 3.2, 2.4, 1.5];

export interface LedgerOp {
  kind: 'create' | 'answer_on_spot' | 'dispatch' | 'acknowledge' | 'attachment' | 'reply' | 'review' | 'callback_result';
  key: string;
  ticketId: string;
  workOrderId?: string;
  /** attachment id and sha256; callback id. */
  ref?: string;
  sha256?: string;
  size?: number;
  /** The node that answered, and how many attempts it took. */
  node: number;
  attempts: number;
}

export class Ledger {
  readonly ops: LedgerOp[] = [];
  /** Idempotency key → the ticket id it created (a retry that got another id would be a duplicate). */
  readonly createdByKey = new Map<string, string>();
  readonly duplicateCreates: string[] = [];
  /** Work orders left unacknowledged, whose reminder the driver brought forward. */
  readonly laggards = new Set<string>();
  /** Uploads the server refused (disk full: 507 with a clear code), not retried by the unit. */
  readonly refusedUploads: { status: number; code: string | null; ticketId: string }[] = [];
  /** Creates the client gave up on (every try timed out or failed): the server may still have made them. */
  readonly abandonedCreates: string[] = [];
  offered = 0;
  stories = { done: 0, failed: 0, shed: 0 };

  record(op: LedgerOp) {
    if (op.kind === 'create') {
      const had = this.createdByKey.get(op.key);
      if (had && had !== op.ticketId) this.duplicateCreates.push(op.key);
      if (had) return;
      this.createdByKey.set(op.key, op.ticketId);
    }
    this.ops.push(op);
  }
  tickets(): string[] {
    return [...new Set(this.createdByKey.values())];
  }
}

export interface Message {
  title: string;
  text: string;
}

/** Real citizen messages (Teddy Cup 2020) from the shared data folder; a handful of plain ones when it is absent. */
export function loadMessages(path: string): { messages: Message[]; source: string } {
  if (existsSync(path)) {
    const rows = parse(readFileSync(path), { columns: true, bom: true, relax_quotes: true, relax_column_count: true }) as Record<string, string>[];
    const messages = rows
      .map((r) => ({ title: (r['留言主题'] ?? '').trim().slice(0, 60), text: (r['留言详情'] ?? '').replace(/\s+/g, ' ').trim().slice(0, 800) }))
      .filter((m) => m.title && m.text);
    if (messages.length) return { messages, source: path };
  }
  return {
    source: 'built-in (shared data absent)',
    messages: [
      { title: '小区停水', text: '整栋楼停水两天了，请尽快恢复供水' },
      { title: '路灯不亮', text: '路口路灯连续一周不亮，晚上很黑' },
      { title: '噪音扰民', text: '楼下商铺喇叭声音很大，影响休息' },
    ],
  };
}

export interface Actors {
  agents: ConsoleUser[];
  dispatcher: ConsoleUser;
  /** Unit handlers (经办人) by unit id. */
  units: { unitId: string; user: ConsoleUser; weight: number }[];
}

const ROADS = ['白龙南路', '湖滨大道', '滨江路'];

export interface WorkloadOptions {
  scale: number;
  seconds: number;
  runId: string;
  /** Extra ticket stories in flight beyond which arrivals are shed (counted, not sent). */
  maxInFlight: number;
  thinkMs: [number, number];
}

export class Workload {
  readonly ledger = new Ledger();
  private inflight = new Set<Promise<void>>();
  private rnd: () => number;
  readonly arrivals: number[] = [];

  constructor(readonly client: SpreadClient, readonly actors: Actors, readonly messages: Message[], readonly o: WorkloadOptions, seed = 12345) {
    let s = seed >>> 0;
    this.rnd = () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Tickets per second at `t` seconds into the compressed day. */
  rateAt(t: number): number {
    const avg = (BEIJING_TICKETS_PER_DAY / 86_400) * this.o.scale;
    const total = HOURLY_SHAPE.reduce((a, b) => a + b, 0);
    const h = Math.min(23, Math.floor((t / this.o.seconds) * 24));
    return avg * ((HOURLY_SHAPE[h] * 24) / total);
  }

  /** Runs the day; resolves when the last arrival has been started (stories may still be running). */
  async run(): Promise<void> {
    const start = Date.now();
    let i = 0;
    // A Poisson process whose rate changes with the hour: candidates at the peak rate, each kept with
    // probability rate(t)/peak (thinning), so a quiet hour does not hold back the busy one after it.
    const peak = Math.max(...HOURLY_SHAPE.map((_, h) => this.rateAt(((h + 0.5) / 24) * this.o.seconds)));
    let next = 0;
    for (;;) {
      next += -Math.log(1 - this.rnd()) / peak;
      if (next >= this.o.seconds) break;
      const wait = start + next * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
      if (this.rnd() * peak > this.rateAt(next)) continue;
      this.ledger.offered++;
      this.arrivals.push(Date.now());
      if (this.inflight.size >= this.o.maxInFlight) {
        this.ledger.stories.shed++;
        continue;
      }
      const p = this.story(i++).then(
        () => void this.ledger.stories.done++,
        () => void this.ledger.stories.failed++,
      );
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
  }

  async drain(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.inflight.size && Date.now() < end) await Promise.race([Promise.all([...this.inflight]), sleep(1000)]);
    return this.inflight.size === 0;
  }

  get inFlight() {
    return this.inflight.size;
  }

  private think() {
    const [a, b] = this.o.thinkMs;
    return sleep(a + this.rnd() * (b - a));
  }

  private pickUnit() {
    const total = this.actors.units.reduce((s, u) => s + u.weight, 0);
    let x = this.rnd() * total;
    for (const u of this.actors.units) if ((x -= u.weight) < 0) return u;
    return this.actors.units[0];
  }

  private ok(op: string, a: { status: number; body: any }, want: number) {
    if (a.status !== want) throw new Error(`${op}: ${a.status} ${JSON.stringify(a.body)?.slice(0, 200)}`);
    return a.body;
  }

  /** One ticket's life. */
  async story(i: number): Promise<void> {
    const c = this.client;
    const L = this.ledger;
    const key = (step: string) => `${this.o.runId}-${i}-${step}`;
    const msg = this.messages[Math.floor(this.rnd() * this.messages.length)];
    const agent = this.actors.agents[i % this.actors.agents.length];
    const consult = i % 5 === 0; // about one in five is a consultation answered on the spot (即办)
    const phone = `139${String(Math.floor(this.rnd() * 1e8)).padStart(8, '0')}`;
    const road = ROADS[i % ROADS.length];
    const created = await c.send('create', 'POST', '/api/v1/tickets', {
      cookie: agent.cookie, idem: key('create'), expect: [201],
      json: {
        channel: 'phone', type: consult ? 'consultation' : i % 3 ? 'complaint' : 'help', title: msg.title, occurredAt: new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
        addressText: `${road}${1 + (i % 90)}号`, parties: '来电市民', situation: msg.text, demand: '请尽快处理并答复', callerPhone: phone,
      },
    });
    if (created.status !== 201) L.abandonedCreates.push(key('create'));
    const ticket = this.ok('create', created, 201);
    L.record({ kind: 'create', key: key('create'), ticketId: ticket.id, node: created.node, attempts: created.attempts });
    await this.think();

    if (consult) {
      const a = await c.send('answer_on_spot', 'POST', `/api/v1/tickets/${ticket.id}/transitions`, {
        cookie: agent.cookie, idem: key('answer'), expect: [200], json: { action: 'answer_on_spot', version: ticket.version, answer: '已根据相关政策当场答复来电人' },
      });
      this.ok('answer_on_spot', a, 200);
      L.record({ kind: 'answer_on_spot', key: key('answer'), ticketId: ticket.id, node: a.node, attempts: a.attempts });
      return;
    }

    const unit = this.pickUnit();
    const d = await c.send('dispatch', 'POST', `/api/v1/tickets/${ticket.id}/dispatch`, {
      cookie: this.actors.dispatcher.cookie, idem: key('dispatch'), expect: [200],
      json: { version: ticket.version, handlingUnitId: unit.unitId, overrideReason: '负载演练：按演练分配承办单位' },
    });
    this.ok('dispatch', d, 200);
    L.record({ kind: 'dispatch', key: key('dispatch'), ticketId: ticket.id, node: d.node, attempts: d.attempts });
    await this.think();

    const list = await c.send('unit_queue', 'GET', `/api/v1/work-orders?queue=all&ticketId=${ticket.id}`, { cookie: unit.user.cookie, expect: [200] });
    const wo = this.ok('unit_queue', list, 200).items.find((w: any) => w.role === 'lead');
    if (!wo) throw new Error(`no lead work order for ${ticket.id}`);
    if (i % 10 === 1) {
      L.laggards.add(wo.id); // never acknowledged: its reminder is brought forward and must fire once
      return;
    }

    const ack = await c.send('acknowledge', 'POST', `/api/v1/work-orders/${wo.id}/acknowledge`, { cookie: unit.user.cookie, idem: key('ack'), expect: [200], json: { version: wo.version } });
    const acked = this.ok('acknowledge', ack, 200);
    L.record({ kind: 'acknowledge', key: key('ack'), ticketId: ticket.id, workOrderId: wo.id, node: ack.node, attempts: ack.attempts });
    await this.think();

    if (i % 3 === 0) {
      const photo = randomBytes(2048 + Math.floor(this.rnd() * 30_000));
      const sha = createHash('sha256').update(photo).digest('hex');
      const up = await c.send('attachment', 'POST', `/api/v1/work-orders/${wo.id}/attachments`, {
        cookie: unit.user.cookie, idem: key('photo'), expect: [201, 507],
        form: () => {
          const f = new FormData();
          f.append('file', new Blob([photo], { type: 'image/jpeg' }), `现场照片-${i}.jpg`);
          return f;
        },
      });
      if (up.status === 201) {
        if (up.body.sha256 !== sha) throw new Error(`attachment stored with another hash: ${up.body.sha256} ≠ ${sha}`);
        L.record({ kind: 'attachment', key: key('photo'), ticketId: ticket.id, workOrderId: wo.id, ref: up.body.id, sha256: sha, size: photo.length, node: up.node, attempts: up.attempts });
      } else L.refusedUploads.push({ status: up.status, code: up.body?.code ?? null, ticketId: ticket.id });
    }

    const rep = await c.send('reply', 'POST', `/api/v1/work-orders/${wo.id}/reply`, { cookie: unit.user.cookie, idem: key('reply'), expect: [200], json: { version: acked.version, result: '已到现场核实并处理完毕，已向来电人说明' } });
    this.ok('reply', rep, 200);
    L.record({ kind: 'reply', key: key('reply'), ticketId: ticket.id, workOrderId: wo.id, node: rep.node, attempts: rep.attempts });
    await this.think();

    const rev = await c.send('review', 'POST', `/api/v1/tickets/${ticket.id}/reply-review`, { cookie: this.actors.dispatcher.cookie, idem: key('review'), expect: [200], json: { decision: 'accept' } });
    this.ok('review', rev, 200);
    L.record({ kind: 'review', key: key('review'), ticketId: ticket.id, node: rev.node, attempts: rev.attempts });

    // The sweep (any node) opens the callback and texts the survey; the agent then records the rating.
    const until = Date.now() + 120_000;
    let cb: any = null;
    while (!cb && Date.now() < until) {
      await sleep(1000);
      const l = await c.send('callbacks', 'GET', `/api/v1/tickets/${ticket.id}/callbacks`, { cookie: agent.cookie, expect: [200] });
      cb = (l.body ?? []).find((x: any) => x.status !== 'answered' && x.status !== 'closed') ?? null;
    }
    if (!cb) throw new Error(`no callback opened for ${ticket.id} within 120 s`);
    const res = await c.send('callback_result', 'POST', `/api/v1/callbacks/${cb.id}/result`, {
      cookie: agent.cookie, idem: key('rating'), expect: [200], json: { satisfaction: i % 7 === 0 ? 'basically_satisfied' : 'satisfied' },
    });
    this.ok('callback_result', res, 200);
    L.record({ kind: 'callback_result', key: key('rating'), ticketId: ticket.id, ref: cb.id, node: res.node, attempts: res.attempts });
  }
}

