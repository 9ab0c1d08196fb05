/** Storage of work orders, their milestones, notes, attachments, supervision orders, callbacks, the claim pool and the outbox. */
import { MysqlAdapter, sql, type ExpressionBuilder, type Kysely, type Selectable } from 'kysely';
import { insertIgnore, unindexed, type DB } from '../db';

export type WorkOrderRow = Selectable<DB['work_orders']>;
export type MilestoneRow = Selectable<DB['work_order_milestones']>;
export type NoteRow = Selectable<DB['work_order_notes']>;
export type TicketMilestoneRow = Selectable<DB['ticket_milestones']>;
export type AttachmentRow = Selectable<DB['work_order_attachments']>;
export type SupervisionOrderRow = Selectable<DB['supervision_orders']>;
export type CallbackRow = Selectable<DB['callbacks']>;
export type ClaimPoolRow = Selectable<DB['claim_pool']>;
export type OutboxRow = Selectable<DB['notification_outbox']>;

/** Whom a notice is addressed to (the outbox's recipient_kind / recipient_id). */
export interface Recipient {
  kind: string;
  id: string;
}

export interface WorkOrderListFilter {
  cityId: string;
  unitId?: string | null;
  statuses?: readonly string[];
  role?: 'lead' | 'co';
  /** Running deadlines before this instant (DB time): acknowledge for unacknowledged, reply for the rest. */
  dueBefore?: string;
  ticketId?: string;
  /** Copied from the ticket at dispatch (紧急程度): any of these. */
  urgencies?: readonly string[];
  categoryId?: string;
  /** A territory and everything under it (区/街道/社区). */
  territoryPath?: string;
  /** The reply deadline (办结时限) within [from, to) (DB time). */
  replyDueFrom?: string;
  replyDueTo?: string;
  /**
   * Only work orders at risk or overdue at this instant (DB time), decided in SQL with the rule of
   * `riskOf`, so that paging and the total count the city and not one page.
   */
  atRiskAt?: string;
}

export const WORK_ORDER_SORTS = ['deadline', 'created', 'urgency'] as const;
export type WorkOrderSort = (typeof WORK_ORDER_SORTS)[number];

/** Each clock's deadline column and the fact that stops it (see `runningClocks`). */
const CLOCK_COLUMNS = [
  { clock: 'acknowledge', due: 'acknowledge_due', met: 'acknowledged_at' },
  { clock: 'onSite', due: 'on_site_due', met: 'on_site_at' },
  { clock: 'reply', due: 'reply_due', met: 'replied_at' },
  { clock: 'citizenReply', due: 'citizen_reply_due', met: 'replied_at' },
] as const;

/**
 * One page of a list and the count of the whole list under the same filters: what every list here
 * answers (`{ items, total }`, the API adding `page` and `pageSize`), so nothing beyond a page is hidden.
 */
async function pageWithTotal<T>(rows: Promise<T[]>, count: Promise<{ n: number | string | bigint }>): Promise<{ items: T[]; total: number }> {
  const [items, total] = await Promise.all([rows, count]);
  return { items, total: Number(total.n) };
}

/**
 * The tickets on which a unit holds work orders, for intake's unit scope (its `UnitWorkOrders` port):
 * a co-handler (协办) reads the ticket it works on, and a unit the tickets of rounds it handled; not
 * one whose work order the center took away by 改派.
 */
export function unitWorkOrdersOf(db: Kysely<DB>) {
  const r = new WorkOrdersRepository(db);
  return { holds: (unitId: string, ticketId: string) => r.unitHoldsTicket(unitId, ticketId), ticketIds: (unitId: string) => r.ticketIdsOfUnit(unitId) };
}

export class WorkOrdersRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The ticket's facts copied onto its work orders (no version bump: the work itself did not change). */
  async updateTicketFacts(ids: string[], facts: Pick<DB['work_orders'], 'ticket_title' | 'urgency' | 'category_id' | 'territory_path'>) {
    await this.db.updateTable('work_orders').set(facts).where('id', 'in', ids).execute();
  }

  insertWorkOrder(row: DB['work_orders']) {
    return this.db.insertInto('work_orders').values(row).execute();
  }

  findWorkOrder(id: string) {
    return this.db.selectFrom('work_orders').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * The work order, locked until the transaction ends on MySQL/MariaDB: a concurrent command on it
   * waits for this one to commit, then reads the committed row (a plain read would see its snapshot
   * and report a stale version and status on conflict). SQLite runs one writer at a time anyway.
   */
  findWorkOrderForUpdate(id: string) {
    const q = this.db.selectFrom('work_orders').selectAll().where('id', '=', id);
    return (this.db.getExecutor().adapter instanceof MysqlAdapter ? q.forUpdate() : q).executeTakeFirst();
  }

  workOrdersOfTicket(ticketId: string, round?: number) {
    let q = this.db.selectFrom('work_orders').selectAll().where('ticket_id', '=', ticketId);
    if (round !== undefined) q = q.where('round', '=', round);
    return q.orderBy('created_at').orderBy('id').execute();
  }

  /** Updates a work order when its version is still `version`; false when someone else changed it first. */
  async updateIfVersion(id: string, version: number, patch: Partial<DB['work_orders']>): Promise<boolean> {
    const r = await this.db
      .updateTable('work_orders')
      .set({ ...patch, version: version + 1 })
      .where('id', '=', id)
      .where('version', '=', version)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  private filtered(f: WorkOrderListFilter) {
    let q = this.db.selectFrom('work_orders').where('city_id', '=', f.cityId);
    if (f.unitId) q = q.where('unit_id', '=', f.unitId);
    if (f.statuses?.length) q = q.where('status', 'in', [...f.statuses]);
    if (f.role) q = q.where('role', '=', f.role);
    if (f.ticketId) q = q.where('ticket_id', '=', f.ticketId);
    if (f.urgencies?.length) q = q.where('urgency', 'in', [...f.urgencies]);
    if (f.categoryId) q = q.where('category_id', '=', f.categoryId);
    if (f.territoryPath) q = q.where('territory_path', 'like', f.territoryPath + '%');
    if (f.replyDueFrom) q = q.where('reply_due', '>=', f.replyDueFrom);
    if (f.replyDueTo) q = q.where('reply_due', '<', f.replyDueTo);
    if (f.atRiskAt) {
      const at = f.atRiskAt;
      q = q.where((eb) => this.atRisk(eb, at));
    }
    if (f.dueBefore) {
      const before = f.dueBefore;
      q = q.where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'dispatched'), eb('acknowledge_due', '<=', before)]),
          eb.and([eb('status', 'in', ['acknowledged', 'extension_requested', 'dispatched']), eb('reply_due', '<=', before)]),
        ]),
      );
    }
    return q;
  }

  /**
   * `riskOf` in SQL: some running clock is past its deadline, or past its reminder (the ladder's
   * at-risk step for that deadline), or — without a reminder — in the last quarter of its time.
   */
  private atRisk(eb: ExpressionBuilder<DB, 'work_orders'>, at: string) {
    const mysql = this.db.getExecutor().adapter instanceof MysqlAdapter;
    // Seconds from one timestamp to another; both dialects keep DB time as UTC text/datetime.
    const seconds = (from: ReturnType<typeof sql.ref> | ReturnType<typeof sql.val>, to: ReturnType<typeof sql.ref>) =>
      mysql ? sql`(TIMESTAMPDIFF(MICROSECOND, ${from}, ${to}) / 1000000.0)` : sql`((julianday(${to}) - julianday(${from})) * 86400.0)`;
    const now = sql.val(at);
    return eb.and([
      eb('status', 'in', ['dispatched', 'acknowledged', 'extension_requested']),
      eb.or(CLOCK_COLUMNS.map(({ clock, due, met }) => {
        // The reminder step of this clock's current deadline (an extension's new deadline has its own).
        const reminder = (dueBy?: string) => {
          let m = eb.selectFrom('work_order_milestones as m').select('m.id')
            .whereRef('m.work_order_id', '=', 'work_orders.id')
            .where('m.clock', '=', clock).where('m.step', '=', 'reminder').where('m.status', '!=', 'cancelled')
            .whereRef('m.deadline_at', '=', `work_orders.${due}`);
          if (dueBy) m = m.where('m.due_at', '<=', dueBy);
          return m;
        };
        return eb.and([
          eb(met, 'is', null),
          eb(due, 'is not', null),
          eb.or([
            eb(due, '<=', at),
            eb.exists(reminder(at)),
            eb.and([
              eb.not(eb.exists(reminder())),
              eb(sql`${seconds(now, sql.ref(`work_orders.${due}`))} * 4`, '<=', seconds(sql.ref('work_orders.dispatched_at'), sql.ref(`work_orders.${due}`))),
            ]),
          ]),
        ]);
      })),
    ]);
  }

  async listWorkOrders(f: WorkOrderListFilter, offset: number, limit: number, sort: WorkOrderSort = 'deadline', order: 'asc' | 'desc' = 'asc') {
    let page = this.filtered(f).selectAll();
    if (sort === 'urgency') {
      // 特急 first, then 紧急, then the rest; within each the nearest reply deadline first.
      const rank = sql<number>`CASE urgency WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END`;
      page = page.orderBy(rank, order).orderBy('reply_due', 'asc');
    } else page = page.orderBy(sort === 'created' ? 'created_at' : 'reply_due', order);
    // The ticket next: a ticket's work orders (主办 and 协办) stay side by side when the key ties.
    page = page.orderBy('ticket_id').orderBy('role', 'desc').orderBy('id');
    return pageWithTotal(page.offset(offset).limit(limit).execute(), this.filtered(f).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow());
  }

  insertMilestones(rows: DB['work_order_milestones'][]) {
    return rows.length ? this.db.insertInto('work_order_milestones').values(rows).execute() : Promise.resolve();
  }

  /** Stops the pending steps of some clocks of a work order (the clock was met, or its deadline moved). */
  cancelMilestones(workOrderId: string, clocks?: readonly string[]) {
    let q = this.db.updateTable('work_order_milestones').set({ status: 'cancelled' }).where('work_order_id', '=', workOrderId).where('status', '=', 'pending');
    if (clocks) q = q.where('clock', 'in', [...clocks]);
    return q.execute();
  }

  /**
   * Removes the never-fired steps of one clock at one deadline: a fresh clock that ends at the same
   * instant as the old one (both counted from the same point of the working-time calendar) replaces them.
   */
  deleteUnfiredMilestones(workOrderId: string, clock: string, deadline: string) {
    return this.db
      .deleteFrom('work_order_milestones')
      .where('work_order_id', '=', workOrderId)
      .where('clock', '=', clock)
      .where('deadline_at', '=', deadline)
      .where('fired_at', 'is', null)
      .execute();
  }

  /**
   * Puts back the cancelled, never fired steps of the current deadlines (a reply sent back for
   * rework runs its clock again; steps of a deadline an extension replaced stay cancelled).
   */
  rearmMilestones(workOrderId: string, deadlines: readonly string[]) {
    if (!deadlines.length) return Promise.resolve();
    return this.db
      .updateTable('work_order_milestones')
      .set({ status: 'pending' })
      .where('work_order_id', '=', workOrderId)
      .where('status', '=', 'cancelled')
      .where('fired_at', 'is', null)
      .where('clock', 'in', ['reply', 'citizenReply'])
      .where('deadline_at', 'in', [...deadlines])
      .execute();
  }

  /** The live reminders (pending or fired, not cancelled) of some work orders. */
  remindersOf(workOrderIds: string[]) {
    if (!workOrderIds.length) return Promise.resolve([]);
    return this.db
      .selectFrom('work_order_milestones')
      .select(['work_order_id', 'clock', 'due_at'])
      .where('work_order_id', 'in', workOrderIds)
      .where('step', '=', 'reminder')
      .where('status', '!=', 'cancelled')
      .execute();
  }

  milestonesOf(workOrderId: string) {
    return this.db.selectFrom('work_order_milestones').selectAll().where('work_order_id', '=', workOrderId).orderBy('due_at').execute();
  }

  /** Pending milestones due by `now` (DB time), oldest first: the sweep's indexed range query. */
  dueMilestones(now: string, limit: number) {
    return this.db
      .selectFrom('work_order_milestones')
      .selectAll()
      .where('status', '=', 'pending')
      .where('due_at', '<=', now)
      .orderBy('due_at')
      .limit(limit)
      .execute();
  }

  /**
   * Takes the still-pending ones of some milestones for one sweep batch (`token`: node and batch) and
   * returns those it took. Across nodes each row is taken by exactly one batch: the update only
   * matches pending rows, and a concurrent batch waits for the row lock and then finds it fired.
   */
  async claimMilestones(ids: string[], now: string, token: string): Promise<MilestoneRow[]> {
    if (!ids.length) return [];
    await this.db.updateTable('work_order_milestones').set({ status: 'fired', fired_at: now, fired_by: token }).where('id', 'in', ids).where(unindexed('status'), '=', 'pending').execute();
    return this.db.selectFrom('work_order_milestones').selectAll().where('id', 'in', ids).where('fired_by', '=', token).execute();
  }

  setMilestonesStatus(ids: string[], status: string) {
    return ids.length ? this.db.updateTable('work_order_milestones').set({ status }).where('id', 'in', ids).execute() : Promise.resolve();
  }

  findWorkOrders(ids: string[]) {
    return ids.length ? this.db.selectFrom('work_orders').selectAll().where('id', 'in', ids).execute() : Promise.resolve([]);
  }

  /** Inserts outbox rows whose dedup keys are new by construction (a fired milestone's id). */
  async insertOutboxMany(rows: DB['notification_outbox'][]) {
    for (let i = 0; i < rows.length; i += 1000) await this.db.insertInto('notification_outbox').values(rows.slice(i, i + 1000)).execute();
  }

  // The center's clock on a ticket before dispatch (中心派单时限).

  insertTicketMilestones(rows: DB['ticket_milestones'][]) {
    return rows.length ? this.db.insertInto('ticket_milestones').values(rows).execute() : Promise.resolve();
  }

  cancelTicketMilestones(ticketId: string) {
    return this.db.updateTable('ticket_milestones').set({ status: 'cancelled' }).where('ticket_id', '=', ticketId).where('status', '=', 'pending').execute();
  }

  dueTicketMilestones(now: string, limit: number) {
    return this.db.selectFrom('ticket_milestones').selectAll().where('status', '=', 'pending').where('due_at', '<=', now).orderBy('due_at').limit(limit).execute();
  }

  /** As {@link claimMilestones}, for the center's clock. */
  async claimTicketMilestones(ids: string[], now: string, token: string): Promise<TicketMilestoneRow[]> {
    if (!ids.length) return [];
    await this.db.updateTable('ticket_milestones').set({ status: 'fired', fired_at: now, fired_by: token }).where('id', 'in', ids).where(unindexed('status'), '=', 'pending').execute();
    return this.db.selectFrom('ticket_milestones').selectAll().where('id', 'in', ids).where('fired_by', '=', token).execute();
  }

  setTicketMilestonesStatus(ids: string[], status: string) {
    return ids.length ? this.db.updateTable('ticket_milestones').set({ status }).where('id', 'in', ids).execute() : Promise.resolve();
  }

  ticketMilestonesOf(ticketId: string) {
    return this.db.selectFrom('ticket_milestones').selectAll().where('ticket_id', '=', ticketId).orderBy('due_at').execute();
  }

  insertNote(row: DB['work_order_notes']) {
    return this.db.insertInto('work_order_notes').values(row).execute();
  }

  notesOf(workOrderId: string) {
    return this.db.selectFrom('work_order_notes').selectAll().where('work_order_id', '=', workOrderId).orderBy('created_at').orderBy('id').execute();
  }

  insertAttachment(row: DB['work_order_attachments']) {
    return this.db.insertInto('work_order_attachments').values(row).execute();
  }

  attachmentsOf(workOrderId: string) {
    return this.db.selectFrom('work_order_attachments').selectAll().where('work_order_id', '=', workOrderId).orderBy('created_at').execute();
  }

  findAttachment(id: string) {
    return this.db.selectFrom('work_order_attachments').selectAll().where('id', '=', id).executeTakeFirst();
  }

  insertSupervisionOrder(row: DB['supervision_orders']) {
    return this.db.insertInto('supervision_orders').values(row).execute();
  }

  findSupervisionOrder(id: string) {
    return this.db.selectFrom('supervision_orders').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async answerSupervisionOrder(id: string, patch: Partial<DB['supervision_orders']>): Promise<boolean> {
    const r = await this.db.updateTable('supervision_orders').set(patch).where('id', '=', id).where('status', '=', 'open').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * One page of the city's supervision orders (a unit's own when `unitId`), the newest first, each
   * with its work order's ticket number and title; `total` counts them all.
   */
  listSupervisionOrders(f: { cityId: string; unitId?: string | null; status?: string }, offset: number, limit: number) {
    let q = this.db.selectFrom('supervision_orders as so').where('so.city_id', '=', f.cityId);
    if (f.unitId) q = q.where('so.unit_id', '=', f.unitId);
    if (f.status) q = q.where('so.status', '=', f.status);
    const rows = q
      .innerJoin('work_orders as w', 'w.id', 'so.work_order_id')
      .selectAll('so')
      .select(['w.ticket_number', 'w.ticket_title'])
      .orderBy('so.created_at', 'desc')
      .orderBy('so.id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute();
    return pageWithTotal(rows, q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow());
  }

  supervisionOrdersOf(workOrderId: string) {
    return this.db.selectFrom('supervision_orders').selectAll().where('work_order_id', '=', workOrderId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  }

  insertCallback(row: DB['callbacks']) {
    return this.db.insertInto('callbacks').values(row).execute();
  }

  findCallback(id: string) {
    return this.db.selectFrom('callbacks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  callbackOfRound(ticketId: string, round: number) {
    return this.db.selectFrom('callbacks').selectAll().where('ticket_id', '=', ticketId).where('round', '=', round).executeTakeFirst();
  }

  lastCallbackOfTicket(ticketId: string) {
    return this.db.selectFrom('callbacks').selectAll().where('ticket_id', '=', ticketId).orderBy('round', 'desc').executeTakeFirst();
  }

  openCallbackOfTicket(ticketId: string) {
    return this.db.selectFrom('callbacks').selectAll().where('ticket_id', '=', ticketId).where('status', 'in', ['pending', 'surveying']).orderBy('round', 'desc').executeTakeFirst();
  }

  async updateCallbackIfVersion(id: string, version: number, patch: Partial<DB['callbacks']>): Promise<boolean> {
    const r = await this.db.updateTable('callbacks').set({ ...patch, version: version + 1 }).where('id', '=', id).where('version', '=', version).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  dueCallbacks(now: string, limit: number) {
    return this.db
      .selectFrom('callbacks')
      .selectAll()
      .where('status', 'in', ['pending', 'surveying'])
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(limit)
      .execute();
  }

  /** One page of the city's callbacks, the next attempt first; `total` counts them all. */
  listCallbacks(f: { cityId: string; statuses?: string[]; dueBefore?: string }, offset: number, limit: number) {
    let q = this.db.selectFrom('callbacks').where('city_id', '=', f.cityId);
    if (f.statuses?.length) q = q.where('status', 'in', f.statuses);
    if (f.dueBefore) q = q.where('next_attempt_at', '<=', f.dueBefore);
    return pageWithTotal(
      q.selectAll().orderBy('next_attempt_at').orderBy('id').offset(offset).limit(limit).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    );
  }

  /** Every callback of one ticket (one per round). */
  callbacksOfTicket(ticketId: string) {
    return this.db.selectFrom('callbacks').selectAll().where('ticket_id', '=', ticketId).orderBy('round').execute();
  }

  /**
   * Whether a unit holds a work order on a ticket: lead or co-handler, in any round, open or done —
   * but not one the center took away from it (改派, `reassigned`: the ticket was not its business).
   */
  async unitHoldsTicket(unitId: string, ticketId: string): Promise<boolean> {
    return !!(await this.ticketIdsOfUnit(unitId).where('ticket_id', '=', ticketId).limit(1).executeTakeFirst());
  }

  /** The tickets a unit holds work orders on (as {@link unitHoldsTicket}), as a subquery (ticket_id). */
  ticketIdsOfUnit(unitId: string) {
    return this.db.selectFrom('work_orders').select('ticket_id').where('unit_id', '=', unitId).where('status', '!=', 'reassigned');
  }

  findPoolEntry(ticketId: string) {
    return this.db.selectFrom('claim_pool').selectAll().where('ticket_id', '=', ticketId).executeTakeFirst();
  }

  insertPoolEntry(row: DB['claim_pool']) {
    return this.db.insertInto('claim_pool').values(row).execute();
  }

  /** Takes a pool entry for a unit; true for exactly one claimer. */
  async claimPoolEntry(ticketId: string, unitId: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('claim_pool')
      .set({ claimed_by_unit_id: unitId, claimed_at: now })
      .where('ticket_id', '=', ticketId)
      .where('claimed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  removePoolEntry(ticketId: string) {
    return this.db.deleteFrom('claim_pool').where('ticket_id', '=', ticketId).where('claimed_at', 'is', null).execute();
  }

  /** One page of the open pool, the longest waiting first; `total` counts the whole pool. */
  openPool(cityId: string, offset: number, limit: number) {
    const q = this.db.selectFrom('claim_pool').where('city_id', '=', cityId).where('claimed_at', 'is', null);
    return pageWithTotal(
      q.selectAll().orderBy('offered_at').orderBy('ticket_id').offset(offset).limit(limit).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    );
  }

  async outboxHas(dedupKey: string): Promise<boolean> {
    return !!(await this.db.selectFrom('notification_outbox').select('id').where('dedup_key', '=', dedupKey).executeTakeFirst());
  }

  /**
   * Queues a notice once per dedup key: a repeat, or a concurrent twin that passed `outboxHas` at
   * the same time, is dropped by the unique key instead of failing the command.
   */
  insertOutboxOnce(row: DB['notification_outbox']) {
    return insertIgnore(this.db, this.db.getExecutor().adapter instanceof MysqlAdapter ? 'mysql' : 'sqlite', 'notification_outbox', row as unknown as Record<string, unknown>);
  }

  /**
   * Rows a delivery run may take, oldest first: pending ones, and claimed ones whose lease has passed
   * (the node that took them died, or a sink failed and its backoff is over). Two index reads.
   */
  async deliverableOutbox(now: string, limit: number): Promise<{ id: string }[]> {
    const pending = await this.db.selectFrom('notification_outbox').select(['id', 'created_at']).where('status', '=', 'pending')
      .orderBy('created_at').orderBy('id').limit(limit).execute();
    const expired = await this.db.selectFrom('notification_outbox').select(['id', 'created_at']).where('status', '=', 'claimed')
      .where('lease_until', '<=', now).orderBy('lease_until').limit(limit).execute();
    return [...expired, ...pending].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id)).slice(0, limit);
  }

  /**
   * Leases outbox rows to one delivery run until `leaseUntil`; each row is taken by one run at a time
   * (the update re-checks that it is still free). Returns the rows this run holds.
   */
  async claimOutbox(ids: string[], now: string, token: string, leaseUntil: string): Promise<OutboxRow[]> {
    if (!ids.length) return [];
    await this.db.updateTable('notification_outbox')
      .set((eb) => ({ status: 'claimed', claim_token: token, lease_until: leaseUntil, attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', ids)
      .where((eb) => eb.or([
        eb(unindexed('status'), '=', 'pending'),
        eb.and([eb(unindexed('status'), '=', 'claimed'), eb(unindexed('lease_until'), '<=', now)]),
      ]))
      .execute();
    return this.db.selectFrom('notification_outbox').selectAll().where('id', 'in', ids).where('claim_token', '=', token).orderBy('created_at').orderBy('id').execute();
  }

  /** Every sink has these rows: delivered. A run whose lease was taken over in the meantime changes nothing. */
  async markOutboxDelivered(ids: string[], token: string, now: string) {
    if (!ids.length) return;
    await this.db.updateTable('notification_outbox').set({ status: 'delivered', delivered_at: now, lease_until: null, last_error: null })
      .where('id', 'in', ids).where(unindexed('claim_token'), '=', token).where(unindexed('status'), '=', 'claimed').execute();
  }

  /** A sink failed: the row stays claimed and is tried again once `retryAt` has passed. */
  async postponeOutbox(id: string, token: string, retryAt: string, error: string) {
    await this.db.updateTable('notification_outbox').set({ lease_until: retryAt, last_error: error.slice(0, 1000) })
      .where('id', '=', id).where(unindexed('claim_token'), '=', token).where(unindexed('status'), '=', 'claimed').execute();
  }

  /** Notices to any of the recipients since a time (DB time), newest first, with when `userId` read each (null: unread). */
  noticesTo(f: { cityId: string; recipients: Recipient[]; since: string; userId: string; unreadOnly?: boolean; ids?: string[] }, limit: number) {
    let q = this.db
      .selectFrom('notification_outbox as n')
      .leftJoin('notification_reads as r', (j) => j.onRef('r.notification_id', '=', 'n.id').on('r.user_id', '=', f.userId))
      .selectAll('n')
      .select('r.read_at')
      .where('n.city_id', '=', f.cityId)
      .where('n.created_at', '>=', f.since)
      .where((eb) => eb.or(f.recipients.map((r) => eb.and([eb('n.recipient_kind', '=', r.kind), eb('n.recipient_id', '=', r.id)]))));
    if (f.unreadOnly) q = q.where('r.read_at', 'is', null);
    if (f.ids) q = q.where('n.id', 'in', f.ids.length ? f.ids : ['']);
    return q.orderBy('n.created_at', 'desc').orderBy('n.id', 'desc').limit(limit).execute();
  }

  countUnreadNotices(f: { cityId: string; recipients: Recipient[]; since: string; userId: string }) {
    return this.db
      .selectFrom('notification_outbox as n')
      .leftJoin('notification_reads as r', (j) => j.onRef('r.notification_id', '=', 'n.id').on('r.user_id', '=', f.userId))
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('n.city_id', '=', f.cityId)
      .where('n.created_at', '>=', f.since)
      .where('r.read_at', 'is', null)
      .where((eb) => eb.or(f.recipients.map((r) => eb.and([eb('n.recipient_kind', '=', r.kind), eb('n.recipient_id', '=', r.id)]))))
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));
  }

  insertReads(rows: DB['notification_reads'][]) {
    return rows.length ? this.db.insertInto('notification_reads').values(rows).execute() : Promise.resolve([]);
  }

  ticketNumbersOfWorkOrders(ids: string[]) {
    if (!ids.length) return Promise.resolve([] as { id: string; ticket_number: string }[]);
    return this.db.selectFrom('work_orders').select(['id', 'ticket_number']).where('id', 'in', ids).execute();
  }

  outboxOf(f: { ticketId?: string; workOrderId?: string; event?: string }) {
    let q = this.db.selectFrom('notification_outbox').selectAll();
    if (f.ticketId) q = q.where('ticket_id', '=', f.ticketId);
    if (f.workOrderId) q = q.where('work_order_id', '=', f.workOrderId);
    if (f.event) q = q.where('event', '=', f.event);
    return q.orderBy('created_at').orderBy('id').execute();
  }
}
