/**
 * A busy day in the test database (繁忙的一天): thousands of tickets in a few seconds, for the queues'
 * paging, filters and bulk actions (browser tests) and the list API tests.
 *
 * Two tickets go through the real services first — one saved (已受理), one dispatched to the water
 * company with a co-handler (主办 + 协办) — and their rows are the templates: every seeded row is a
 * copy with its own id, number, urgency and times, inserted in bulk. So the rows are whatever the
 * services write today (no column list to keep in step with the schema), and the seeded work orders
 * can be acknowledged, replied to and so on through the API like any other.
 *
 * Numbers are drawn from 500001 up on the template's day, far above what a test registers by hand.
 */
import type { Kysely } from 'kysely';
import { newId, systemActor, toDbTime, fromDbTime } from '../../core';
import type { DB } from '../../db';
import type { TestApp } from '../helpers/app';

export interface BusyDayOptions {
  /** All tickets of the day, the ones below included (default 3000). */
  tickets?: number;
  /** Saved and waiting for dispatch, 待派单 (default 150). */
  waiting?: number;
  /** Dispatched to the water company and not yet acknowledged (default 300). */
  water?: number;
  /** Of the water company's, how many also have a co-handler (协办, default 20). */
  withCoHandler?: number;
}

export interface BusyDay {
  tickets: number;
  waiting: number;
  /** Work orders the water company's handler (water1) sees, its templates' included. */
  waterWorkOrders: number;
  waterUnitId: string;
  coUnitId: string;
  /** By urgency, among the water company's work orders. */
  waterByUrgency: Record<'normal' | 'urgent' | 'emergency', number>;
  waitingByUrgency: Record<'normal' | 'urgent' | 'emergency', number>;
  ms: number;
}

type Urgency = 'normal' | 'urgent' | 'emergency';
/** 1 in 10 urgent, 1 in 25 emergency: a plausible mix, and both kinds on the first page. */
const urgencyOf = (i: number): Urgency => (i % 25 === 3 ? 'emergency' : i % 10 === 1 ? 'urgent' : 'normal');

const CHUNK = 400;
async function insertChunks<T extends keyof DB & string>(db: Kysely<DB>, table: T, rows: DB[T][]) {
  for (let i = 0; i < rows.length; i += CHUNK) await db.insertInto(table).values(rows.slice(i, i + CHUNK) as never).execute();
}

async function loginCookie(t: TestApp, username: string) {
  return t.login(username);
}

async function call(t: TestApp, user: string, method: 'GET' | 'POST', url: string, payload?: object) {
  const res = await t.app.inject({ method, url: `/api/v1${url}`, headers: { cookie: await loginCookie(t, user) }, ...(payload ? { payload } : {}) });
  if (res.statusCode >= 300) throw new Error(`${user} ${method} ${url} → ${res.statusCode} ${res.body}`);
  return res.json() as any;
}

async function unitIdOf(t: TestApp, code: string): Promise<string> {
  const r = await call(t, 'admin', 'GET', `/units?q=${encodeURIComponent(code)}&pageSize=200`);
  const u = r.items.find((x: { code: string }) => x.code === code);
  if (!u) throw new Error(`no unit ${code}`);
  return u.id;
}

const SIX = {
  channel: 'phone', type: 'help', callerPhone: '13911112222', addressText: '白龙南路88号', parties: '来电人',
  demand: '请尽快处理',
};

/** Seeds the day into the app's database; returns what it put there and how long it took. */
export async function seedBusyDay(t: TestApp, opts: BusyDayOptions = {}): Promise<BusyDay> {
  const started = Date.now();
  const total = opts.tickets ?? 3000;
  const waiting = opts.waiting ?? 150;
  const water = opts.water ?? 300;
  const withCo = Math.min(opts.withCoHandler ?? 20, water);
  const db = t.ctx.database.db;
  const now = t.ctx.clock.now();
  const waterUnitId = await unitIdOf(t, 'util-water');
  const coUnitId = await unitIdOf(t, 'dept-cgj');

  // The templates, through the real services.
  const occurredAt = new Date(now.getTime() - 3_600_000).toISOString();
  const saved = await call(t, 'agent1', 'POST', '/tickets', { ...SIX, occurredAt, situation: '白龙南路88号路灯不亮（模板）' });
  const toDispatch = await call(t, 'agent1', 'POST', '/tickets', { ...SIX, occurredAt, situation: '白龙南路88号水管漏水（模板）' });
  await t.ctx.intake.transition({ actor: { ...systemActor('demo'), kind: 'user', id: 'busy-day', role: 'dispatcher', name: 'busy-day' } }, toDispatch.id, toDispatch.version, {
    action: 'dispatch', handlingUnitId: waterUnitId, routing: { rule: 'function', responsibilityVersionId: null, plannedUnitId: waterUnitId, coUnitIds: [coUnitId] },
  });
  const savedRow = await db.selectFrom('tickets').selectAll().where('id', '=', saved.id).executeTakeFirstOrThrow();
  const sentRow = await db.selectFrom('tickets').selectAll().where('id', '=', toDispatch.id).executeTakeFirstOrThrow();
  const orders = await db.selectFrom('work_orders').selectAll().where('ticket_id', '=', toDispatch.id).execute();
  const leadRow = orders.find((w) => w.role === 'lead')!;
  const coRow = orders.find((w) => w.role === 'co')!;
  if (!leadRow || !coRow) throw new Error('the dispatched template has no lead and co-handler work orders');

  const day = savedRow.number.slice(0, 8);
  let seq = 500_000;
  const tickets: DB['tickets'][] = [];
  const workOrders: DB['work_orders'][] = [];
  const waitingByUrgency = { normal: 0, urgent: 0, emergency: 0 };
  const waterByUrgency = { normal: 0, urgent: 0, emergency: 0 };
  // Registered over the morning, a minute or so apart, the oldest first.
  const createdAt = (i: number) => toDbTime(new Date(now.getTime() - (total - i) * 9_000 - 60_000));
  const shift = (s: string | null, ms: number) => (s ? toDbTime(new Date(fromDbTime(s).getTime() + ms)) : null);

  for (let i = 0; i < total - 2; i++) {
    const id = newId();
    const urgency = urgencyOf(i);
    const number = day + String(++seq).padStart(6, '0');
    const at = createdAt(i);
    if (i < waiting) {
      waitingByUrgency[urgency]++;
      tickets.push({ ...savedRow, id, number, urgency, created_at: at, updated_at: at, situation: `白龙南路${i + 1}号路灯不亮，晚上很黑（${number}）` });
    } else if (i < waiting + water) {
      const k = i - waiting;
      waterByUrgency[urgency]++;
      const situation = `白龙南路${k + 1}号水管漏水，路面积水（${number}）`;
      tickets.push({ ...sentRow, id, number, urgency, created_at: at, updated_at: at, situation, title: null });
      // Deadlines spread over the coming days so that the sort by deadline means something.
      const ms = (k % 48) * 3_600_000;
      const timed = (w: typeof leadRow) => ({
        ...w, id: newId(), ticket_id: id, ticket_number: number, ticket_title: situation.slice(0, 60), urgency, created_at: at, updated_at: at,
        acknowledge_due: shift(w.acknowledge_due, ms), on_site_due: shift(w.on_site_due, ms), reply_due: shift(w.reply_due, ms), citizen_reply_due: shift(w.citizen_reply_due, ms),
      });
      workOrders.push(timed(leadRow));
      if (k < withCo) workOrders.push(timed(coRow));
    } else {
      // The rest of the day: done with (办结归档), as most tickets of a day are by the evening.
      tickets.push({ ...sentRow, id, number, urgency, status: 'closed', created_at: at, updated_at: at, situation: `历史来电（${number}）` });
    }
  }
  await db.transaction().execute(async (trx) => {
    await insertChunks(trx, 'tickets', tickets);
    await insertChunks(trx, 'work_orders', workOrders);
  });
  waitingByUrgency[savedRow.urgency as Urgency]++;
  waterByUrgency[sentRow.urgency as Urgency]++;
  return {
    tickets: total,
    waiting: waiting + 1,
    waterWorkOrders: water + 1,
    waterUnitId,
    coUnitId,
    waterByUrgency,
    waitingByUrgency,
    ms: Date.now() - started,
  };
}

export interface LongListsOptions {
  /** Callbacks due (待回访), on the day's finished tickets (default 520: above the old cap of 500). */
  callbacks?: number;
  /** Supervision orders (督办单) to the water company, two per work order at most (default 560). */
  supervisionOrders?: number;
  /** Tickets waiting for dispatch offered to the claim pool (认领池, default 120). */
  pool?: number;
  /** The water company's work orders past their acknowledge deadline (超期, default 120). */
  overdue?: number;
}

export interface LongLists {
  callbacks: number;
  supervisionOrders: number;
  pool: number;
  overdue: number;
}

/**
 * The lists beside the queues, on a busy day already seeded ({@link seedBusyDay}): callbacks due,
 * supervision orders, the claim pool and overdue work orders, each longer than one page and the
 * callbacks and supervision orders longer than the 500 rows the server used to stop at. Rows are
 * written as the services write them (ticket, work order and unit ids from the busy day).
 */
export async function seedLongLists(t: TestApp, day: BusyDay, opts: LongListsOptions = {}): Promise<LongLists> {
  const db = t.ctx.database.db;
  const now = t.ctx.clock.now();
  const at = (msAgo: number) => toDbTime(new Date(now.getTime() - msAgo));
  const nCallbacks = opts.callbacks ?? 520;
  const nSupervision = opts.supervisionOrders ?? 560;
  const nPool = opts.pool ?? 120;
  const nOverdue = opts.overdue ?? 120;

  const closed = await db.selectFrom('tickets').select('id').where('status', '=', 'closed').orderBy('number').limit(nCallbacks).execute();
  if (closed.length < nCallbacks) throw new Error(`only ${closed.length} finished tickets for ${nCallbacks} callbacks`);
  const callbacks: DB['callbacks'][] = closed.map((tk, i) => ({
    id: newId(), city_id: 'demo', ticket_id: tk.id, round: 1, status: 'pending', version: 1, attempts: 0, max_attempts: 3,
    // All due now, the longest waiting first.
    next_attempt_at: at((nCallbacks - i) * 60_000), satisfaction: null, comment: null, answered_via: null, answered_at: null,
    created_at: at(2 * 86_400_000), updated_at: at(2 * 86_400_000),
  }));

  const water = await db.selectFrom('work_orders').select(['id', 'ticket_id']).where('unit_id', '=', day.waterUnitId).where('role', '=', 'lead').orderBy('ticket_number').execute();
  if (water.length * 2 < nSupervision) throw new Error(`only ${water.length} water work orders for ${nSupervision} supervision orders`);
  const supervision: DB['supervision_orders'][] = Array.from({ length: nSupervision }, (_, i) => {
    const w = water[i % water.length];
    return {
      id: newId(), city_id: 'demo', work_order_id: w.id, ticket_id: w.ticket_id, unit_id: day.waterUnitId, origin: i % 3 ? 'auto' : 'manual',
      reason: `请抓紧办理（督办 ${i + 1}）`, raised_by: null, status: 'open', answer: null, answered_by: null, answered_at: null, created_at: at((nSupervision - i) * 60_000),
    };
  });

  const waiting = await db.selectFrom('tickets').select('id').where('status', '=', 'accepted').orderBy('number').limit(nPool).execute();
  const pool: DB['claim_pool'][] = waiting.map((tk, i) => ({
    ticket_id: tk.id, city_id: 'demo', reason: `职责不清的疑难事项（${i + 1}）`, offered_by: null, offered_at: at((nPool - i) * 60_000), claimed_by_unit_id: null, claimed_at: null,
  }));

  await db.transaction().execute(async (trx) => {
    await insertChunks(trx, 'callbacks', callbacks);
    await insertChunks(trx, 'supervision_orders', supervision);
    await insertChunks(trx, 'claim_pool', pool);
    // Past the acknowledge deadline: the overdue queue (超期) of the supervisor's dashboard.
    const late = water.slice(0, nOverdue).map((w) => w.id);
    await trx.updateTable('work_orders').set({ acknowledge_due: at(30 * 60_000) }).where('id', 'in', late).where('status', '=', 'dispatched').execute();
  });
  return { callbacks: callbacks.length, supervisionOrders: supervision.length, pool: pool.length, overdue: Math.min(nOverdue, water.length) };
}
