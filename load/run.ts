/**
 * `npm run load` — the load driver (负载与故障演练). Starts its own MariaDB and Redis and three
 * hotline nodes on them, replays a compressed day through the public API with console clients on the
 * live feed, optionally injects a fault in the middle, then checks the ledger against the database
 * and the consoles and prints a report.
 *
 *   npm run load -- --rate 5x --minutes 2
 *   npm run load -- --rate 5x --minutes 2 --fault kill-node     (kill-node | restart-mariadb | drop-redis | fill-disk)
 *   npm run load -- --all                                         (5× on one node, 1×, 5×, 20×, then each fault at 3×)
 *
 * Options: --nodes 3, --consoles 12, --seconds N (instead of --minutes), --dir /tmp/hotline-load,
 * --mysql-port 3317, --redis-port 6391, --base-port 4101, --json FILE (the report as JSON), --keep (keep databases).
 * Not part of `npm test`: it runs for minutes and needs root for the tmpfs of fill-disk.
 */
import { loadavg, cpus } from 'node:os';
import { writeFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase, type Database } from '../db';
import { mayReceive, type Audience } from '../live';
import { toDbTime } from '../core';
import { Cluster, sleep } from './cluster';
import { SpreadClient, summarize } from './client';
import { ConsoleClient, type ConsoleUser } from './consoles';
import { loadMessages, Workload, BEIJING_TICKETS_PER_DAY, type Actors } from './workload';
import { verify, type Check } from './verify';

const FAULTS = ['none', 'kill-node', 'restart-mariadb', 'drop-redis', 'fill-disk'] as const;
type Fault = (typeof FAULTS)[number];

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1x' },
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    fault: { type: 'string', default: 'none' },
    all: { type: 'boolean', default: false },
    nodes: { type: 'string', default: '3' },
    consoles: { type: 'string', default: '12' },
    dir: { type: 'string', default: '/tmp/hotline-load' },
    'mysql-port': { type: 'string', default: '3317' },
    'redis-port': { type: 'string', default: '6391' },
    'base-port': { type: 'string', default: '4101' },
    messages: { type: 'string', default: resolve(import.meta.dirname, '../../shared/data/messages/teddy2020-messages-4326.csv') },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

interface RunSpec {
  scale: number;
  seconds: number;
  fault: Fault;
  nodes: number;
}

const log = (s: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const scaleOf = (r: string) => {
  const m = /^(\d+(?:\.\d+)?)x?$/.exec(r.trim());
  if (!m) throw new Error(`--rate: say 1x, 5x or 20x (got ${r})`);
  return Number(m[1]);
};
const minutesArg = args.minutes ? Number(args.minutes) * 60 : undefined;
const secondsOf = (dflt: number) => (args.seconds ? Number(args.seconds) : minutesArg ?? dflt);
for (const f of [args.fault]) if (!FAULTS.includes(f as Fault)) throw new Error(`--fault: one of ${FAULTS.join(', ')}`);

const specs: RunSpec[] = args.all
  ? [
      { scale: 5, seconds: secondsOf(90), fault: 'none', nodes: 1 },
      ...[1, 5, 20].map((scale) => ({ scale, seconds: secondsOf(90), fault: 'none' as Fault, nodes: Number(args.nodes) })),
      ...(['kill-node', 'restart-mariadb', 'drop-redis', 'fill-disk'] as Fault[]).map((fault) => ({ scale: 3, seconds: secondsOf(90), fault, nodes: Number(args.nodes) })),
    ]
  : args.rate.split(',').map((r) => ({ scale: scaleOf(r), seconds: secondsOf(120), fault: args.fault as Fault, nodes: Number(args.nodes) }));

async function login(client: SpreadClient, username: string): Promise<ConsoleUser> {
  const a = await client.send('login', 'POST', '/api/v1/auth/login', { json: { username, password: 'demo12345' }, expect: [200] });
  if (a.status !== 200) throw new Error(`login ${username}: ${a.status} ${JSON.stringify(a.body)}`);
  const u = a.body.user;
  // The session cookie: log in once more with a raw fetch to read Set-Cookie (fetch hides it from .body).
  const res = await fetch(`${client.bases[a.node]}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: 'demo12345' }) });
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { username, cookie, viewer: { id: u.id, role: u.role, cityId: u.cityId, unitId: u.unitId ?? null, territoryPath: null } };
}

interface RunReport {
  spec: RunSpec;
  ticketsPerSecondAvg: number;
  machine: { cores: number; loadBefore: number[]; loadAfter: number[] };
  offered: number;
  stories: { done: number; failed: number; shed: number };
  acceptedWrites: number;
  requests: number;
  durationSeconds: number;
  writesPerSecond: number;
  requestsPerSecond: number;
  latency: ReturnType<typeof summarize>;
  latencyByOp: Record<string, ReturnType<typeof summarize>>;
  errors: number;
  errorSamples: { op: string; status: number; body: string }[];
  errorsByKind: Record<string, number>;
  failedAttempts: Record<string, number>;
  fault: { kind: Fault; at: number; note: string } | null;
  drained: boolean;
  settledSeconds: number;
  checks: Check[];
  attachmentsFs: string;
  messagesSource: string;
}

async function oneRun(spec: RunSpec, runNo: number): Promise<RunReport> {
  const cluster = new Cluster({
    dir: args.dir!, mysqlPort: Number(args['mysql-port']), redisPort: Number(args['redis-port']), basePort: Number(args['base-port']),
    nodes: spec.nodes, attachmentsBytes: 8 << 20, sweepSeconds: 1, log,
  });
  log(`run ${runNo}: ${spec.scale}× Beijing (${((BEIJING_TICKETS_PER_DAY / 86_400) * spec.scale).toFixed(2)} tickets/s on average), ${spec.seconds} s, ${spec.nodes} node(s), fault: ${spec.fault}`);
  await cluster.ensureMariadb();
  await cluster.ensureRedis();
  cluster.mountAttachments();
  let database: Database | null = null;
  const consoles: ConsoleClient[] = [];
  try {
    await cluster.startNodes();
    log(`nodes up on ${cluster.nodes.map((n) => n.port).join(', ')} (database ${cluster.database}, attachments on ${cluster.attachmentsFs})`);
    database = await openDatabase(cluster.databaseUrl, { poolSize: 3 });
    const client = new SpreadClient(cluster.nodes.map((n) => n.base));
    const users = new Map<string, ConsoleUser>();
    for (const u of ['agent1', 'agent2', 'dispatcher1', 'supervisor1', 'water1', 'power1', 'chengguan1', 'street1']) users.set(u, await login(client, u));
    const actors: Actors = {
      agents: [users.get('agent1')!, users.get('agent2')!],
      dispatcher: users.get('dispatcher1')!,
      units: [
        { user: users.get('water1')!, unitId: users.get('water1')!.viewer.unitId!, weight: 3 },
        { user: users.get('power1')!, unitId: users.get('power1')!.viewer.unitId!, weight: 2 },
        { user: users.get('chengguan1')!, unitId: users.get('chengguan1')!.viewer.unitId!, weight: 4 },
        { user: users.get('street1')!, unitId: users.get('street1')!.viewer.unitId!, weight: 3 },
      ],
    };
    const consoleUsers = ['agent1', 'agent2', 'dispatcher1', 'supervisor1', 'water1', 'chengguan1'];
    const wsBases = cluster.nodes.map((n) => n.base.replace('http', 'ws'));
    for (let i = 0; i < Number(args.consoles); i++) {
      const u = users.get(consoleUsers[i % consoleUsers.length])!;
      consoles.push(new ConsoleClient(u, wsBases, i % cluster.nodes.length, !['agent', 'dispatcher', 'supervisor', 'admin'].includes(u.viewer.role)));
    }
    await Promise.all(consoles.map((c) => c.start()));
    log(`${consoles.length} consoles synced`);

    const { messages, source } = loadMessages(args.messages!);
    const loadBefore = loadavg();
    const workload = new Workload(client, actors, messages, { scale: spec.scale, seconds: spec.seconds, runId: `r${runNo}-${Date.now().toString(36)}`, maxInFlight: 3000, thinkMs: [200, 1500] });

    // The ladder brought forward for the laggards: their acknowledge reminder falls due now.
    let warping = true;
    const warp = (async () => {
      while (warping) {
        await sleep(1000);
        const lag = [...workload.ledger.laggards];
        if (!lag.length) continue;
        const now = toDbTime(new Date());
        await database!.db.updateTable('work_order_milestones').set({ due_at: now })
          .where('work_order_id', 'in', lag).where('clock', '=', 'acknowledge').where('step', '=', 'reminder').where('status', '=', 'pending').where('due_at', '>', now)
          .execute().catch(() => {}); // MariaDB may be down (the fault): next second
      }
    })();

    const startedAt = Date.now();
    // The fault, a third of the way in.
    let fault: RunReport['fault'] = null;
    const faultDone = (async () => {
      if (spec.fault === 'none') return;
      await sleep(spec.seconds * 333);
      const at = Date.now();
      let note = '';
      log(`fault: ${spec.fault}`);
      switch (spec.fault) {
        case 'kill-node': {
          const victim = cluster.nodes[1 % cluster.nodes.length];
          await cluster.killNode(victim);
          note = `node ${victim.index + 1} (port ${victim.port}) killed with SIGKILL`;
          await sleep(5000);
          await cluster.startNode(victim);
          note += `, restarted ${((Date.now() - at) / 1000).toFixed(0)} s later`;
          break;
        }
        case 'restart-mariadb':
          await cluster.restartMariadb(3000);
          note = `MariaDB stopped (SIGTERM, clients cut), down 3 s, back after ${((Date.now() - at) / 1000).toFixed(0)} s`;
          break;
        case 'drop-redis':
          cluster.stopRedis();
          await sleep(30_000);
          cluster.startRedis();
          await cluster.waitRedis();
          note = 'Redis SHUTDOWN NOSAVE (all keys lost), started again empty after 30 s';
          break;
        case 'fill-disk': {
          if (cluster.attachmentsFs !== 'tmpfs') {
            note = 'skipped: the attachments folder is not a filesystem of its own (needs root for a tmpfs)';
            break;
          }
          const bytes = cluster.fillAttachments();
          await sleep(20_000);
          cluster.freeAttachments();
          note = `attachments tmpfs (8 MiB) filled to the last byte (${(bytes / 1048576).toFixed(1)} MiB filler) for 20 s, then freed`;
          break;
        }
      }
      fault = { kind: spec.fault, at: (at - startedAt) / 1000, note };
      log(`fault done: ${note}`);
    })();

    await workload.run();
    log(`arrivals over: ${workload.ledger.offered} offered, ${workload.inFlight} stories in flight`);
    await faultDone;
    const drained = await workload.drain(240_000);
    const loadEnd = Date.now();
    warping = false;
    await warp;

    // Settle: outbox delivered, staged events numbered, texts sent, consoles at the newest event.
    const settleStart = Date.now();
    const seen: { seq: number; city_id: string; audience: unknown }[] = [];
    const from = Math.min(...consoles.map((c) => c.startPosition ?? 0));
    for (;;) {
      const db = database.db;
      const [pending, staged, unsent, max] = await Promise.all([
        db.selectFrom('notification_outbox').select((e) => e.fn.countAll<number>().as('n')).where('status', '!=', 'delivered').executeTakeFirstOrThrow(),
        db.selectFrom('live_outbox').select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
        db.selectFrom('sms_messages').select((e) => e.fn.countAll<number>().as('n')).where('state', 'in', ['queued', 'submitting']).executeTakeFirstOrThrow(),
        db.selectFrom('live_events').select((e) => e.fn.max('seq').as('m')).executeTakeFirstOrThrow(),
      ]).catch(() => [{ n: 1 }, { n: 1 }, { n: 1 }, { m: 0 }] as any[]);
      const newer = await database.db.selectFrom('live_events').select(['seq', 'city_id', 'audience']).where('seq', '>', seen.at(-1)?.seq ?? from).orderBy('seq').execute().catch(() => []);
      seen.push(...newer);
      void max;
      const behind = consoles.filter((c) => seen.some((e) => e.seq > c.position && e.seq > (c.startPosition ?? 0) && mayReceive(c.user.viewer as never, e.city_id, (typeof e.audience === 'string' ? JSON.parse(e.audience) : e.audience) as Audience))).length;
      if (!Number(pending.n) && !Number(staged.n) && !Number(unsent.n) && !behind) break;
      if (Date.now() - settleStart > 90_000) {
        log(`not settled after 90 s: ${pending.n} notices undelivered, ${staged.n} events staged, ${unsent.n} texts unsent, ${behind} consoles behind`);
        break;
      }
      await sleep(1000);
    }
    const settledSeconds = (Date.now() - settleStart) / 1000;
    const checks = await verify(database, workload.ledger, consoles, { attachmentsDir: cluster.attachmentsDir, smsLines: cluster.smsLogLines() });
    const f = fault as RunReport['fault'];
    const byOp: RunReport['latencyByOp'] = {};
    for (const [op, ms] of client.latencies.byOp) byOp[op] = summarize(ms);
    const durationSeconds = (loadEnd - startedAt) / 1000;
    const report: RunReport = {
      spec, ticketsPerSecondAvg: (BEIJING_TICKETS_PER_DAY / 86_400) * spec.scale,
      machine: { cores: cpus().length, loadBefore, loadAfter: loadavg() },
      offered: workload.ledger.offered, stories: workload.ledger.stories, acceptedWrites: workload.ledger.ops.length, requests: client.requests,
      durationSeconds, writesPerSecond: workload.ledger.ops.length / durationSeconds, requestsPerSecond: client.requests / durationSeconds,
      latency: summarize(client.latencies.all().filter((x) => x >= 0)), latencyByOp: byOp,
      errors: client.errors.length, errorSamples: client.errors.slice(0, 5),
      errorsByKind: client.errors.reduce<Record<string, number>>((m, e) => {
        const code = /"code":"([A-Z_]+)"/.exec(e.body)?.[1] ?? (e.body.startsWith('gave up') ? 'gave up' : '');
        const k = `${e.op} ${e.status} ${code}`.trim();
        m[k] = (m[k] ?? 0) + 1;
        return m;
      }, {}), failedAttempts: Object.fromEntries(client.failedAttempts),
      fault: f, drained, settledSeconds, checks, attachmentsFs: cluster.attachmentsFs, messagesSource: source,
    };
    printRun(report);
    return report;
  } finally {
    await Promise.all(consoles.map((c) => c.stop()));
    await database?.close().catch(() => {});
    await cluster.endRun(args.keep!);
  }
}

const fmt = (n: number) => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(1)) : '–');

function printRun(r: RunReport) {
  const l = r.latency;
  log(`== ${r.spec.scale}× · ${r.spec.nodes} node(s) · ${r.spec.seconds} s · fault ${r.spec.fault} · load ${r.machine.loadBefore.map((x) => x.toFixed(1)).join('/')} → ${r.machine.loadAfter.map((x) => x.toFixed(1)).join('/')} on ${r.machine.cores} cores`);
  log(`   tickets offered ${r.offered} (stories done ${r.stories.done}, failed ${r.stories.failed}, shed ${r.stories.shed}); accepted writes ${r.acceptedWrites} (${fmt(r.writesPerSecond)}/s); requests ${r.requests} (${fmt(r.requestsPerSecond)}/s)`);
  log(`   latency ms p50 ${fmt(l.p50)} p95 ${fmt(l.p95)} p99 ${fmt(l.p99)} max ${fmt(l.max)}; create p50 ${fmt(r.latencyByOp.create?.p50)} p95 ${fmt(r.latencyByOp.create?.p95)} p99 ${fmt(r.latencyByOp.create?.p99)}`);
  log(`   errors ${r.errors}${r.errors ? ` ${JSON.stringify(r.errorsByKind)}` : ''}; failed attempts retried: ${JSON.stringify(r.failedAttempts)}`);
  if (r.fault) log(`   fault at ${fmt(r.fault.at)} s: ${r.fault.note}`);
  for (const c of r.checks) log(`   ${c.ok ? 'OK  ' : 'FAIL'} ${c.name}: expected ${c.expected}, found ${c.found}, lost ${c.lost}, twice ${c.twice}${c.note ? ` (${c.note})` : ''}`);
}

mkdirSync(args.dir!, { recursive: true });
const reports: RunReport[] = [];
let cleanup: Cluster | null = new Cluster({ dir: args.dir!, mysqlPort: Number(args['mysql-port']), redisPort: Number(args['redis-port']), basePort: Number(args['base-port']), nodes: 0, attachmentsBytes: 0, sweepSeconds: 1, log });
const stopAll = async () => {
  const c = cleanup;
  cleanup = null;
  await c?.stopServices();
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
let failed = false;
try {
  for (let i = 0; i < specs.length; i++) {
    const r = await oneRun(specs[i], i + 1);
    reports.push(r);
    if (r.checks.some((c) => !c.ok) || r.errors) failed = true;
  }
} catch (err) {
  failed = true;
  log(`run failed: ${(err as Error).stack}`);
} finally {
  await stopAll();
}
if (args.json) writeFileSync(args.json, JSON.stringify(reports, null, 2));
log(`${reports.length} run(s); ${failed ? 'LOST OR DUPLICATED DATA OR ERRORS: see above' : 'nothing lost, nothing twice, no errors'}`);
process.exit(failed ? 1 : 0);
