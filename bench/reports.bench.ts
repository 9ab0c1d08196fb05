import { toDbTime, FixedClock, seededRandom } from '../core';
import { createReportsService, contributionsOf, atEveryGrain, rollupKeyOf, type TicketFacts, type Contribution } from '../reports';
import type { DB } from '../db';
import { benchDatabase, timeIt, fmt, type BenchResult } from './harness';

const CHANNELS = ['phone', 'phone', 'phone', 'phone', 'web', 'wechat', 'app', 'sms'];
const TYPES = ['complaint', 'complaint', 'help', 'consultation', 'consultation', 'report', 'suggestion', 'praise'];
const RATINGS = ['satisfied', 'satisfied', 'satisfied', 'basically_satisfied', 'unsatisfied'];
const HOUR = 3_600_000;

/**
 * The monthly bulletin (月通报) on a synthetic year of `tickets` tickets (a seeded generator writes
 * the base rows — tickets and work orders — and the rollup rows directly), generated from the
 * rollups by the figures service, against the same figures computed by full-scan GROUP BYs over the
 * tickets and work orders, in one run; the ratio is the point. The bulletin also covers the
 * previous month (环比) and the two months of a ranking.
 */
export async function benchReportsBulletin(kind: 'sqlite' | 'mysql', tickets: number): Promise<BenchResult> {
  const database = await benchDatabase(kind);
  try {
    const { db } = database;
    const rand = seededRandom(12345);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
    // A big city's shape: 120 units, a 4-level tree of 1,000 leaf categories, 4,000 grids.
    const units = Array.from({ length: 120 }, (_, i) => ({ id: `u${i}`, code: `u${i}`, name: `单位${i}` }));
    const categories: { id: string; code: string; name: string; level: number; parentId: string | null; path: string }[] = [];
    const leafCategories: string[] = [];
    const tree = (level: number, widths: number[], parent: { id: string; path: string } | null) => {
      for (let i = 0; i < widths[level - 1]; i++) {
        const id = `${parent ? parent.id : 'c'}${i}`.padEnd(level * 2, '0');
        const node = { id: `${parent?.id ?? 'c'}-${i}`, code: id, name: `分类${id}`, level, parentId: parent?.id ?? null, path: `${parent?.path ?? '/'}${parent?.id ?? 'c'}-${i}/` };
        categories.push(node);
        if (level < widths.length) tree(level + 1, widths, node);
        else leafCategories.push(node.id);
      }
    };
    tree(1, [10, 5, 4, 5], null);
    const territories: { id: string; name: string; level: string; parentId: string | null; path: string }[] = [];
    const grids: string[] = [];
    const LEVELS = ['district', 'street', 'community', 'grid'];
    const place = (level: number, widths: number[], parent: { id: string; path: string } | null) => {
      for (let i = 0; i < widths[level - 1]; i++) {
        const id = `${parent?.id ?? 't'}-${i}`;
        const node = { id, name: `区域${id}`, level: LEVELS[level - 1], parentId: parent?.id ?? null, path: `${parent?.path ?? '/'}${id}/` };
        territories.push(node);
        if (level < widths.length) place(level + 1, widths, node);
        else grids.push(id);
      }
    };
    place(1, [10, 10, 10, 4], null);

    const categoryPaths = new Map(categories.map((c) => [c.id, c.path]));
    const territoryPaths = new Map(territories.map((t) => [t.id, t.path]));
    // Popular categories, places and units get more (a skewed draw).
    const skew = <T>(xs: readonly T[]) => xs[Math.floor(Math.pow(rand(), 2) * xs.length)];
    const yearStart = Date.parse('2024-12-31T16:00:00Z'); // 2025-01-01 00:00 in China
    const yearMs = 365 * 24 * HOUR;
    const rollups = new Map<string, Contribution & { grain: string }>();
    const chunk = kind === 'mysql' ? 1000 : 500;
    const loadMs = await timeIt(async () => {
      for (let from = 0; from < tickets; from += chunk) {
        const ticketRows: DB['tickets'][] = [];
        const orderRows: DB['work_orders'][] = [];
        for (let i = from; i < Math.min(tickets, from + chunk); i++) {
          const id = `T${String(i).padStart(9, '0')}`;
          const created = new Date(yearStart + Math.floor(rand() * yearMs));
          const r = rand();
          const status = r < 0.1 ? 'closed' : r < 0.13 ? 'merged' : r < 0.15 ? 'cancelled' : r < 0.9 ? 'closed' : 'in_progress';
          const onSpot = r < 0.1;
          const unit = onSpot || status === 'merged' || status === 'cancelled' ? null : skew(units).id;
          const facts: TicketFacts = {
            id, cityId: 'bench', status, channel: pick(CHANNELS), type: pick(TYPES), categoryId: skew(leafCategories), territoryId: skew(grids), categoryPath: null, territoryPath: null,
            handlingUnitId: unit, createdAt: created, closedAt: null, answeredOnSpot: onSpot, round: rand() < 0.05 ? 2 : 1, satisfaction: null,
            mergedIntoId: status === 'merged' ? 'T000000000' : null, workOrders: [], ratings: [],
          };
          facts.categoryPath = categoryPaths.get(facts.categoryId!)!;
          facts.territoryPath = territoryPaths.get(facts.territoryId!)!;
          if (unit) {
            const dispatched = new Date(created.getTime() + rand() * HOUR);
            const ackDue = new Date(dispatched.getTime() + 2 * HOUR);
            const acked = new Date(dispatched.getTime() + rand() * 3 * HOUR);
            const replyDue = new Date(dispatched.getTime() + 72 * HOUR);
            const replied = status === 'closed' ? new Date(acked.getTime() + rand() * 90 * HOUR) : null;
            facts.workOrders.push({ unitId: unit, role: 'lead', status: status === 'closed' ? 'completed' : 'acknowledged', dispatchedAt: dispatched, acknowledgeDue: ackDue, acknowledgedAt: acked, returnedAt: null, replyDue, repliedAt: replied });
            if (replied) facts.closedAt = new Date(replied.getTime() + rand() * 24 * HOUR);
          } else if (onSpot) facts.closedAt = new Date(created.getTime() + 10 * 60_000);
          if (facts.closedAt && rand() < 0.7) {
            facts.satisfaction = pick(RATINGS);
            facts.ratings.push({ satisfaction: facts.satisfaction, at: facts.closedAt });
          }
          const t = (d: Date | null) => (d ? toDbTime(d) : null);
          ticketRows.push({
            id, city_id: 'bench', number: id, status, version: 1, channel: facts.channel, type: facts.type, urgency: 'normal', category_id: facts.categoryId,
            citizen_id: null, caller_phone: null, citizen_name: null, confidential: 0, title: null, occurred_at: null, address_text: null, territory_id: facts.territoryId,
            territory_path: facts.territoryPath, lat: null, lng: null, parties: null, situation: null, demand: null, handling_unit_id: unit, call_id: null, merged_into_id: facts.mergedIntoId,
            answer: onSpot ? '已答复' : null, result: null, round: facts.round, satisfaction: facts.satisfaction, created_by: null, created_at: toDbTime(created), updated_at: toDbTime(created),
            closed_at: t(facts.closedAt), routing_rule: null, responsibility_version_id: null, planned_unit_id: null,
          } as DB['tickets']);
          for (const w of facts.workOrders) {
            orderRows.push({
              id: `W${id.slice(1)}`, city_id: 'bench', ticket_id: id, ticket_number: id, ticket_title: null, unit_id: w.unitId, role: 'lead', round: 1, status: w.status, version: 1,
              policy_code: 'general', dispatched_at: toDbTime(w.dispatchedAt), acknowledge_due: t(w.acknowledgeDue), on_site_due: null, reply_due: t(w.replyDue), citizen_reply_due: null,
              acknowledged_at: t(w.acknowledgedAt), on_site_at: null, replied_at: t(w.repliedAt), result: null, extension_reason: null, extension_proposed_due: null, extension_count: 0,
              return_reason: null, returned_at: null, closed_at: t(facts.closedAt), created_at: toDbTime(w.dispatchedAt), updated_at: toDbTime(w.dispatchedAt), urgency: 'normal',
              category_id: facts.categoryId, territory_path: null,
            });
          }
          for (const c of contributionsOf(facts).flatMap(atEveryGrain)) {
            const k = rollupKeyOf(c);
            const e = rollups.get(k);
            if (e) e.n += c.n;
            else rollups.set(k, { ...c });
          }
        }
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('tickets').values(ticketRows).execute();
          if (orderRows.length) await trx.insertInto('work_orders').values(orderRows).execute();
        });
      }
      const rows = [...rollups.values()].map((c) => ({ grain: c.grain, city_id: c.cityId, measure: c.measure, day: c.day, unit_id: c.unitId, category_id: c.categoryId, territory_id: c.territoryId, channel: c.channel, type: c.type, n: c.n }));
      for (let i = 0; i < rows.length; i += chunk) await db.insertInto('report_rollups').values(rows.slice(i, i + chunk)).execute();
    });

    const reports = createReportsService({
      db, dialect: database.dialect, clock: new FixedClock(new Date('2026-01-15T02:00:00Z')),
      lookups: { cityName: async () => '基准市', reportSettings: async () => ({ ranking: { scheme: 'zhucheng' } }), units: async () => units, categories: async () => categories, territories: async () => territories },
      facts: { factsWithin: async () => [], async *scan() {} },
      tickets: { view: async () => null },
    });

    // The bulletin of June (with May for 环比 and the ranking's second month), from the rollups.
    let doc: Awaited<ReturnType<typeof reports.buildReportDocument>> | null = null;
    await reports.buildReportDocument('monthly', '2025-06-15', 'bench'); // warm-up: statement caches, pages
    const rollupMs = await timeIt(async () => {
      doc = await reports.buildReportDocument('monthly', '2025-06-15', 'bench');
    });

    if (process.env.REPORTS_BENCH_TRACE) {
      const actor = { kind: 'system' as const, id: null, name: 'bench', role: 'system' as const, cityId: 'bench', unitId: null, territoryId: null, territoryPath: null };
      for (const groupBy of [undefined, 'unit', 'category', 'territory', 'channel', 'type'] as const) {
        const ms = await timeIt(async () => { await reports.figures(actor, { period: 'month', from: '2025-06-01', groupBy }); });
        process.stdout.write(`# figures groupBy=${groupBy ?? '-'}: ${fmt(ms)} ms\n`);
      }
      const ms = await timeIt(async () => { await reports.rankings(actor, { period: 'month', from: '2025-06-01' }); });
      process.stdout.write(`# rankings: ${fmt(ms)} ms\n`);
    }

    // The same figures by full-scan GROUP BY over the base tables: tickets by acceptance and close
    // date, work orders by their deadlines, for June and May, by every dimension of the bulletin.
    const scanned = new Map<string, number>();
    const scanMs = await timeIt(async () => {
      for (const [from, to] of [['2025-05-01', '2025-06-01'], ['2025-06-01', '2025-07-01']] as const) {
        const lo = toDbTime(new Date(`${from}T00:00:00+08:00`)), hi = toDbTime(new Date(`${to}T00:00:00+08:00`));
        const dims = ['handling_unit_id', 'category_id', 'territory_id', 'channel', 'type'] as const;
        const accepted = await db.selectFrom('tickets')
          .select([...dims, (eb) => eb.fn.countAll<number>().as('accepted'),
            (eb) => eb.fn.sum<number>(eb.case().when('status', 'not in', ['merged', 'cancelled']).then(1).else(0).end()).as('valid'),
            (eb) => eb.fn.sum<number>(eb.case().when('answer', 'is not', null).then(1).else(0).end()).as('on_spot'),
            (eb) => eb.fn.sum<number>(eb.case().when('status', '=', 'closed').then(1).else(0).end()).as('done')])
          .where('city_id', '=', 'bench').where('created_at', '>=', lo).where('created_at', '<', hi).groupBy([...dims]).execute();
        const closed = await db.selectFrom('tickets')
          .select([...dims, (eb) => eb.fn.countAll<number>().as('closed'),
            (eb) => eb.fn.sum<number>(eb.case().when('satisfaction', '=', 'satisfied').then(1).else(0).end()).as('sat'),
            (eb) => eb.fn.sum<number>(eb.case().when('round', '=', 1).then(1).else(0).end()).as('first')])
          .where('city_id', '=', 'bench').where('status', '=', 'closed').where('closed_at', '>=', lo).where('closed_at', '<', hi).groupBy([...dims]).execute();
        const acks = await db.selectFrom('work_orders').innerJoin('tickets', 'tickets.id', 'work_orders.ticket_id')
          .select(['work_orders.unit_id', 'tickets.category_id', 'tickets.territory_id', 'tickets.channel', 'tickets.type', (eb) => eb.fn.countAll<number>().as('due'),
            (eb) => eb.fn.sum<number>(eb.case().when('work_orders.acknowledged_at', '<=', eb.ref('work_orders.acknowledge_due')).then(1).else(0).end()).as('in_time')])
          .where('work_orders.city_id', '=', 'bench').where('work_orders.acknowledge_due', '>=', lo).where('work_orders.acknowledge_due', '<', hi)
          .groupBy(['work_orders.unit_id', 'tickets.category_id', 'tickets.territory_id', 'tickets.channel', 'tickets.type']).execute();
        const replies = await db.selectFrom('work_orders').innerJoin('tickets', 'tickets.id', 'work_orders.ticket_id')
          .select(['work_orders.unit_id', 'tickets.category_id', 'tickets.territory_id', (eb) => eb.fn.countAll<number>().as('due'),
            (eb) => eb.fn.sum<number>(eb.case().when('work_orders.replied_at', '>', eb.ref('work_orders.reply_due')).then(1).else(0).end()).as('late')])
          .where('work_orders.city_id', '=', 'bench').where('work_orders.reply_due', '>=', lo).where('work_orders.reply_due', '<', hi)
          .groupBy(['work_orders.unit_id', 'tickets.category_id', 'tickets.territory_id']).execute();
        // The bulletin's groups from the scanned rows (the accepted count per unit is what is compared below).
        for (const r of accepted) scanned.set(`${from}|${r.handling_unit_id ?? ''}`, (scanned.get(`${from}|${r.handling_unit_id ?? ''}`) ?? 0) + Number(r.accepted));
        void closed; void acks; void replies;
      }
    });

    const byUnit = doc!.sections.find((s) => s.id === 'by-unit')!.tables[0];
    const unitNames = new Map(units.map((u) => [u.name, u.id]));
    const same = byUnit.rows.every((r) => Number(r.accepted) === (scanned.get(`2025-06-01|${unitNames.get(String(r.name)) ?? ''}`) ?? 0));
    const rollupRows = Number((await db.selectFrom('report_rollups').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    return {
      name: `reports: monthly bulletin from rollups vs full-scan GROUP BY (${kind})`,
      tickets,
      rollupRows,
      loadSeconds: fmt(loadMs / 1000, 1),
      bulletinMs: fmt(rollupMs),
      fullScanMs: fmt(scanMs),
      ratio: fmt(scanMs / rollupMs),
      sameAcceptedByUnit: same,
    };
  } finally {
    await database.dispose();
  }
}
