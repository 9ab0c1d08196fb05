/**
 * Composition of the reports part: its ports over the directory, routing, intake, work-order and
 * grid-call parts, and the subscriptions that keep the rollups in the same transaction as each
 * ticket and work-order change and each grid matter recorded.
 */
import type { Kysely } from 'kysely';
import type { DB, DialectName } from '../db';
import { fromDbTime, type Actor, type Clock, type EventBus } from '../core';
import type { DirectoryService } from '../directory';
import type { IntakeEvents, IntakeService } from '../intake';
import type { WorkOrderEvents } from '../workorders';
import { getCategory, listCategories } from '../routing';
import { gridMattersVisibleTo, scanGridMatters, type GridCallEvents, type GridMatterRecord } from '../gridcalls';
import {
  createReportsService, type CallMetricsSource, type GridMatterFacts, type GridMatterSource, type TicketFacts, type TicketFactsSource, type ReportsService,
} from '../reports';

const date = (s: string | null) => (s ? fromDbTime(s) : null);

/**
 * The tickets and work orders as the reports count them. Read here, in app/, because the reports
 * part does not read other parts' tables; the columns are those intake and workorders own.
 */
export function createTicketFactsSource(db: Kysely<DB>): TicketFactsSource {
  async function factsOf(q: Kysely<DB>, ticketIds: string[]): Promise<TicketFacts[]> {
    if (!ticketIds.length) return [];
    const [tickets, workOrders, callbacks] = await Promise.all([
      q.selectFrom('tickets')
        .leftJoin('categories', 'categories.id', 'tickets.category_id')
        .select(['tickets.id', 'tickets.city_id', 'tickets.status', 'tickets.channel', 'tickets.type', 'tickets.category_id', 'categories.path as category_path', 'tickets.territory_id',
          'tickets.territory_path', 'tickets.handling_unit_id', 'tickets.created_at', 'tickets.closed_at', 'tickets.answer', 'tickets.round', 'tickets.satisfaction', 'tickets.merged_into_id'])
        .where('tickets.id', 'in', ticketIds).execute(),
      q.selectFrom('work_orders')
        .select(['ticket_id', 'unit_id', 'role', 'status', 'dispatched_at', 'acknowledge_due', 'acknowledged_at', 'returned_at', 'reply_due', 'replied_at'])
        .where('ticket_id', 'in', ticketIds).orderBy('ticket_id').orderBy('dispatched_at').orderBy('id').execute(),
      q.selectFrom('callbacks').select(['ticket_id', 'satisfaction', 'answered_at'])
        .where('ticket_id', 'in', ticketIds).where('satisfaction', 'is not', null).where('answered_at', 'is not', null).orderBy('ticket_id').orderBy('round').execute(),
    ]);
    const ratings = new Map<string, TicketFacts['ratings']>();
    for (const c of callbacks) ratings.set(c.ticket_id, [...(ratings.get(c.ticket_id) ?? []), { satisfaction: c.satisfaction!, at: fromDbTime(c.answered_at!) }]);
    const byTicket = new Map<string, TicketFacts['workOrders']>();
    for (const w of workOrders) {
      const list = byTicket.get(w.ticket_id) ?? [];
      list.push({
        unitId: w.unit_id, role: w.role, status: w.status, dispatchedAt: fromDbTime(w.dispatched_at), acknowledgeDue: date(w.acknowledge_due),
        acknowledgedAt: date(w.acknowledged_at), returnedAt: date(w.returned_at), replyDue: date(w.reply_due), repliedAt: date(w.replied_at),
      });
      byTicket.set(w.ticket_id, list);
    }
    return tickets.map((t) => ({
      id: t.id, cityId: t.city_id, status: t.status, channel: t.channel, type: t.type, categoryId: t.category_id, categoryPath: t.category_path, territoryId: t.territory_id, territoryPath: t.territory_path,
      handlingUnitId: t.handling_unit_id, createdAt: fromDbTime(t.created_at), closedAt: date(t.closed_at), answeredOnSpot: t.answer != null,
      round: Number(t.round), satisfaction: t.satisfaction, mergedIntoId: t.merged_into_id, workOrders: byTicket.get(t.id) ?? [], ratings: ratings.get(t.id) ?? [],
    }));
  }
  return {
    factsWithin: (trx, ids) => factsOf(trx, ids),
    async *scan(cityId, batchSize = 2000) {
      let after = '';
      for (;;) {
        const ids = (await db.selectFrom('tickets').select('id').where('city_id', '=', cityId).where('id', '>', after).orderBy('id').limit(batchSize).execute()).map((r) => r.id);
        if (!ids.length) return;
        yield await factsOf(db, ids);
        after = ids[ids.length - 1];
      }
    },
  };
}

const matterFacts = (m: Pick<GridMatterRecord, 'id' | 'cityId' | 'territoryId' | 'territoryPath' | 'categoryId' | 'handledAt'>, categoryPath: string | null): GridMatterFacts => ({
  id: m.id, cityId: m.cityId, territoryId: m.territoryId, territoryPath: m.territoryPath, categoryId: m.categoryId, categoryPath, handledAt: new Date(m.handledAt),
});

/** The grid matters (网格自办事项) as the reports count and show them, through the grid-call part's public reads. */
export function createGridMatterSource(db: Kysely<DB>): GridMatterSource {
  return {
    async *scan(cityId, batchSize = 2000) {
      const paths = new Map((await listCategories(db, cityId, { includeInactive: true })).map((c) => [c.id, c.path]));
      for await (const batch of scanGridMatters(db, cityId, batchSize)) yield batch.map((m) => matterFacts(m, m.categoryId ? paths.get(m.categoryId) ?? null : null));
    },
    views: async (actor, ids) => (await gridMattersVisibleTo(db, actor, ids)) as unknown as Record<string, unknown>[],
  };
}

export interface ReportsWiring {
  db: Kysely<DB>;
  dialect: DialectName;
  clock: Clock;
  directory: DirectoryService;
  intake: IntakeService;
  intakeEvents: EventBus<IntakeEvents, Kysely<DB>>;
  workOrderEvents: EventBus<WorkOrderEvents, Kysely<DB>>;
  /** The grid-call part's events (a grid matter recorded). */
  gridEvents: EventBus<GridCallEvents, Kysely<DB>>;
  /** The telephony part's call records, when it is there. */
  calls?: CallMetricsSource;
}

/** The reports service, subscribed to the ticket and work-order events inside their transactions. */
export function createReports(w: ReportsWiring): ReportsService {
  const flatten = <T extends { children: T[] }>(nodes: T[]): T[] => nodes.flatMap((n) => [n, ...flatten(n.children)]);
  const reports = createReportsService({
    db: w.db,
    dialect: w.dialect,
    clock: w.clock,
    calls: w.calls,
    facts: createTicketFactsSource(w.db),
    matters: createGridMatterSource(w.db),
    lookups: {
      async cityName(cityId) {
        return (await w.directory.listCities()).find((c) => c.id === cityId)?.name ?? null;
      },
      async reportSettings(cityId) {
        return ((await w.directory.getCity(cityId)).settings as Record<string, unknown>).reports;
      },
      async units(cityId) {
        return flatten(await w.directory.unitTree(cityId)).map((u) => ({ id: u.id, code: u.code, name: u.name }));
      },
      async categories(cityId) {
        return (await listCategories(w.db, cityId, { includeInactive: true })).map((c) => ({ id: c.id, code: c.code, name: c.name, level: c.level, parentId: c.parentId, path: c.path }));
      },
      async territories(cityId) {
        return flatten(await w.directory.territoryTree(cityId)).map((t) => ({ id: t.id, name: t.name, level: t.level, parentId: t.parentId, path: t.path }));
      },
    },
    tickets: {
      // Intake's own read: its scope, masking of phones and confidentiality (保密) apply.
      async view(actor: Actor, id: string) {
        try {
          return (await w.intake.getTicket(actor, id)) as unknown as Record<string, unknown>;
        } catch {
          return null;
        }
      },
    },
  });
  const refresh = (trx: Kysely<DB>, e: { ticket: { id: string } }) => reports.refreshWithin(trx, [e.ticket.id]);
  w.intakeEvents.onWithin('ticket.created', (trx, e) => reports.refreshWithin(trx, [e.ticket.id], { created: true }));
  w.intakeEvents.onWithin('ticket.updated', refresh);
  w.intakeEvents.onWithin('ticket.transitioned', refresh);
  w.workOrderEvents.onWithin('workorder.changed', (trx, e) => reports.refreshWithin(trx, [e.workOrder.ticket_id]));
  // 网格自办事项: counted in the transaction that records the matter.
  w.gridEvents.onWithin('gridmatter.recorded', async (trx, e) => {
    const category = e.matter.categoryId ? await getCategory(trx, e.matter.categoryId) : null;
    const facts = matterFacts({ ...e.matter, cityId: e.cityId, territoryPath: e.territoryPath }, category && category.cityId === e.cityId ? category.path : null);
    await reports.countMattersWithin(trx, [facts]);
  });
  return reports;
}

/**
 * `hotline reports rebuild`: recomputes the rollups from the tickets and proves them equal to a full
 * scan. Prints the comparison; returns the exit code (1 when the rewritten counters still differ
 * from the scan, or with `check` when the stored ones differ).
 */
export async function reportsRebuildCommand(
  reports: ReportsService,
  cityIds: string[],
  opts: { from?: string; to?: string; check?: boolean },
  write: (line: string) => void,
): Promise<number> {
  let code = 0;
  for (const cityId of cityIds) {
    const r = await reports.rebuild(cityId, { from: opts.from ?? null, to: opts.to ?? null, checkOnly: opts.check });
    const range = `${r.from ?? '…'} – ${r.to ?? '…'}`;
    write(`city ${cityId}: ${r.tickets} tickets and ${r.matters} grid matters scanned, days ${range}`);
    write(`  stored vs full scan: ${r.before.keys} counters, ${r.before.mismatches} different${r.before.mismatches ? ' (差异)' : ' (一致)'}`);
    for (const s of r.before.samples) write(`    ${s.key}: stored ${s.stored}, scan ${s.scanned}`);
    if (r.after) {
      write(`  rebuilt vs full scan: ${r.after.keys} counters, ${r.after.mismatches} different${r.after.mismatches ? ' (差异)' : ' (一致)'}`);
      for (const s of r.after.samples) write(`    ${s.key}: stored ${s.stored}, scan ${s.scanned}`);
      if (r.after.mismatches) code = 1;
    } else if (r.before.mismatches) code = 1;
  }
  return code;
}
