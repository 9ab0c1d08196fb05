import { toDbTime, FixedClock, chinaDate } from '../core';
import { createReportsService } from '../reports';
import { benchDatabase, timeIt, fmt, type BenchResult } from './harness';
import { syntheticCity, syntheticYear, openBulkLoader, RollupStream, factRow, type SyntheticChunk } from './reports-bulk-load';

/**
 * The monthly bulletin (月通报) on a synthetic year of `tickets` tickets (a seeded generator; the
 * bulk loader writes tickets, work orders and facts with LOAD DATA on MariaDB, and the database sums
 * the counters from the facts), generated from the rollups by the figures service, against the same
 * figures computed by full-scan GROUP BYs over the tickets and work orders, in one run; the ratio is
 * the point. The bulletin also covers the previous month (环比) and the two months of a ranking.
 */
export async function benchReportsBulletin(kind: 'sqlite' | 'mysql', tickets: number): Promise<BenchResult> {
  const database = await benchDatabase(kind);
  try {
    const { db } = database;
    const city = syntheticCity();
    const { units, categories, territories } = city;
    const chunk = kind === 'mysql' ? 20_000 : 5_000;
    const loader = await openBulkLoader(database);
    let facts = 0;
    const rollups = new RollupStream();
    const spent: Record<string, number> = { generate: 0, rollups: 0 };
    const timed = async (what: string, fn: () => Promise<unknown> | unknown) => { const ms = await timeIt(async () => { await fn(); }); spent[what] = (spent[what] ?? 0) + ms; };
    const loadMs = await timeIt(async () => {
      try {
        const year = syntheticYear(city, tickets, chunk);
        for (;;) {
          let next: IteratorResult<SyntheticChunk> | null = null;
          await timed('generate', () => { next = year.next(); });
          if (next!.done) break;
          const c = next!.value;
          await timed('tickets', () => loader.load('tickets', c.tickets));
          await timed('work_orders', () => loader.load('work_orders', c.workOrders));
          await timed('report_facts', () => loader.load('report_facts', c.facts.map(factRow)));
          facts += c.facts.length;
          // Tickets come in creation order: the days before the last one's are final.
          const last = c.tickets[c.tickets.length - 1].created_at;
          let done: Record<string, unknown>[] = [];
          await timed('rollups', () => { rollups.add(c.facts); done = rollups.takeDaysBefore(chinaDate(new Date(`${last.replace(' ', 'T')}Z`))); });
          await timed('report_rollups', () => loader.load('report_rollups', done));
        }
        await timed('report_rollups', () => loader.load('report_rollups', rollups.takeDaysBefore(null)));
        await timed('report_rollups_month', () => loader.load('report_rollups_month', rollups.takeMonths()));
      } finally {
        await loader.close();
      }
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
    const monthRollupRows = Number((await db.selectFrom('report_rollups_month').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    return {
      name: `reports: monthly bulletin from rollups vs full-scan GROUP BY (${kind})`,
      tickets,
      rollupRows,
      monthRollupRows,
      facts,
      loadSeconds: fmt(loadMs / 1000, 1),
      loadSecondsBy: Object.fromEntries(Object.entries(spent).map(([k, v]) => [k, fmt(v / 1000, 1)])),
      bulletinMs: fmt(rollupMs),
      fullScanMs: fmt(scanMs),
      ratio: fmt(scanMs / rollupMs),
      sameAcceptedByUnit: same,
    };
  } finally {
    await database.dispose();
  }
}
