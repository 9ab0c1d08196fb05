import { newId, toDbTime, FixedClock } from '../core';
import { createWorkOrderService } from '../workorders';
import type { DB } from '../db';
import { benchDatabase, timeIt, fmt, type BenchResult } from './harness';

const notUsed = (what: string) => () => {
  throw new Error(`the sweep bench does not use ${what}`);
};

/**
 * The deadline sweep: among `openOrders` open work orders, each with its ladder steps pending at
 * due times spread over 100 days, find and fire the `dueShare` that are due (claim, notice in the
 * outbox, audit row; one transaction each), against a bare indexed range query that only finds the
 * same rows, in the same process and database.
 */
export async function benchWorkOrderSweep(kind: 'sqlite' | 'mysql', openOrders: number, dueShare = 0.01): Promise<BenchResult> {
  const database = await benchDatabase(kind);
  try {
    const start = new Date('2025-10-09T02:00:00Z');
    const clock = new FixedClock(start);
    const spanMs = 100 * 24 * 3_600_000;
    const chunk = kind === 'mysql' ? 2000 : 1000; // under each driver's limit of bound variables per statement
    const loadMs = await timeIt(async () => {
      for (let from = 0; from < openOrders; from += chunk) {
        const orders: DB['work_orders'][] = [];
        const steps: DB['work_order_milestones'][] = [];
        for (let i = from; i < Math.min(openOrders, from + chunk); i++) {
          const id = newId();
          // Spread evenly (by a stride that visits every slot once), so the due ones are scattered through the index.
          const due = new Date(start.getTime() - spanMs * dueShare + ((i * 7919) % openOrders) / openOrders * spanMs);
          const reply = toDbTime(new Date(due.getTime() + 3_600_000));
          orders.push({
            id, city_id: 'bench', ticket_id: id, ticket_number: `B${i}`, ticket_title: '噪音扰民', unit_id: `unit-${i % 40}`, role: 'lead', round: 1,
            status: 'acknowledged', version: 2, policy_code: 'general', dispatched_at: toDbTime(new Date(due.getTime() - 3 * 86_400_000)),
            acknowledge_due: null, on_site_due: null, reply_due: reply, citizen_reply_due: null, acknowledged_at: toDbTime(start), on_site_at: null,
            replied_at: null, result: null, extension_reason: null, extension_proposed_due: null, extension_count: 0, return_reason: null,
            returned_at: null, closed_at: null, created_at: toDbTime(start), updated_at: toDbTime(start), urgency: 'normal', category_id: null, territory_path: null,
          });
          steps.push({ id: newId(), city_id: 'bench', work_order_id: id, clock: 'reply', step: 'reminder', deadline_at: reply, due_at: toDbTime(due), status: 'pending', fired_at: null, fired_by: null });
        }
        await database.db.transaction().execute(async (trx) => {
          await trx.insertInto('work_orders').values(orders).execute();
          await trx.insertInto('work_order_milestones').values(steps).execute();
        });
      }
    });
    const now = toDbTime(clock.now());
    const expected = Math.round(openOrders * dueShare);

    // Baseline: the bare indexed range query on the same table, finding the same due rows.
    let found = 0;
    const bareMs = await timeIt(async () => {
      const rows = await database.db.selectFrom('work_order_milestones').select('id').where('status', '=', 'pending').where('due_at', '<=', now).execute();
      found = rows.length;
    });

    // A second baseline: the same writes done raw, on the same rows — the due steps updated, a
    // notice and an audit row inserted per step, the notices marked delivered — in batches of 500,
    // one transaction each. The steps stay pending (only `fired_by` changes) for the sweep below.
    const rawWritesMs = await timeIt(async () => {
      const rows = await database.db.selectFrom('work_order_milestones').select(['id', 'work_order_id', 'city_id']).where('status', '=', 'pending').where('due_at', '<=', now).execute();
      for (let from = 0; from < rows.length; from += 500) {
        const part = rows.slice(from, from + 500);
        const notices: DB['notification_outbox'][] = part.map((m) => ({
          id: newId(), city_id: m.city_id, event: 'workorder.reminder', recipient_kind: 'unit', recipient_id: 'unit-0', ticket_id: m.work_order_id, work_order_id: m.work_order_id,
          act_by: now, payload: JSON.stringify({ ticketNumber: 'B1', title: '噪音扰民', clock: 'reply', step: 'reminder', deadline: now }), dedup_key: `raw:${m.id}`,
          status: 'pending', claim_token: null, created_at: now, delivered_at: null, lease_until: null, attempts: 0, last_error: null,
        }));
        await database.db.transaction().execute(async (trx) => {
          await trx.updateTable('work_order_milestones').set({ fired_by: 'raw' }).where('id', 'in', part.map((m) => m.id)).execute();
          await trx.insertInto('notification_outbox').values(notices).execute();
          await trx.insertInto('audit_events').values(part.map((m) => ({
            id: newId(), city_id: m.city_id, at: now, actor_id: 'system', actor_role: 'system', entity_type: 'work_order', entity_id: m.work_order_id,
            action: 'workorder.ladder.reminder', before: null, after: JSON.stringify({ clock: 'reply', milestoneId: m.id }), reason: null, request_id: null,
          }))).execute();
        });
        await database.db.updateTable('notification_outbox').set({ status: 'delivered', delivered_at: now }).where('id', 'in', notices.map((n) => n.id)).execute();
      }
    });
    await database.db.updateTable('work_order_milestones').set({ fired_by: null }).where('fired_by', '=', 'raw').execute();

    const workOrders = createWorkOrderService({
      db: database.db,
      clock,
      nodeId: 'bench',
      tickets: { addParticipant: () => {}, transitionWithin: notUsed('tickets'), prepareTransition: notUsed('tickets'), getTicketRow: notUsed('tickets'), statusWithin: notUsed('tickets'), view: notUsed('tickets') },
      lookups: { cityClock: notUsed('the calendar'), cityRules: notUsed('city rules'), categoryFacts: notUsed('categories'), unit: notUsed('units') },
      storage: { kind: 'disk', put: notUsed('storage'), get: notUsed('storage'), delete: notUsed('storage') },
    });
    let fired = 0;
    const sweepMs = await timeIt(async () => {
      const r = await workOrders.sweep();
      fired = r.fired;
    });
    const again = await workOrders.sweep(); // nothing left: the second pass only asks the index
    return {
      name: 'workorders.sweep',
      db: kind,
      openOrders,
      due: found,
      expectedDue: expected,
      fired,
      firedAgain: again.fired,
      loadSeconds: fmt(loadMs / 1000, 1),
      bareRangeQueryMs: fmt(bareMs, 1),
      sweepMs: fmt(sweepMs, 0),
      firedPerSecond: fmt(fired / (sweepMs / 1000), 0),
      sweepVsBareQuery: fmt(sweepMs / bareMs, 1),
      rawWritesMs: fmt(rawWritesMs, 0),
      sweepVsRawWrites: fmt(sweepMs / rawWritesMs, 2),
      note: 'sweep = find + claim (one update per batch of 500) + outbox notices + audit rows + delivery of the notices, one transaction per batch; bare = the indexed range query alone; raw writes = the same query and the same rows written by hand (update, two batched inserts, mark delivered) per batch of 500',
    };
  } finally {
    await database.dispose();
  }
}
