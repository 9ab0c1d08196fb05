/** The SMS part's tables (migration 0011); every query of them lives here. */
import type { Kysely, Selectable } from 'kysely';
import { insertIgnore, newestCommitted, unindexed, type DB, type DialectName } from '../db';

export type SmsMessageRow = Selectable<DB['sms_messages']>;
export type SmsInboundRow = Selectable<DB['sms_inbound']>;

export type MessageState = 'queued' | 'submitting' | 'submitted' | 'delivered' | 'failed' | 'expired' | 'suppressed';

export interface MessageFilter {
  cityId: string;
  ticketId?: string;
  workOrderId?: string;
  unitId?: string;
  states?: string[];
  recipientKind?: 'unit' | 'citizen';
}

export class SmsRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: DialectName,
  ) {}

  /** Queues messages, each once per source key; returns the ids of those inserted (the others' sources had one). */
  async insertMessagesOnce(rows: DB['sms_messages'][]): Promise<string[]> {
    const inserted: string[] = [];
    for (let i = 0; i < rows.length; i += 200) {
      const chunk = rows.slice(i, i + 200);
      const q = this.db.insertInto('sms_messages').values(chunk);
      await (this.dialect === 'mysql' ? q.ignore() : q.onConflict((oc) => oc.doNothing())).execute();
      const got = await this.db.selectFrom('sms_messages').select('id').where('id', 'in', chunk.map((r) => r.id)).execute();
      inserted.push(...got.map((r) => r.id));
    }
    return inserted;
  }

  findMessage(id: string) {
    return this.db.selectFrom('sms_messages').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findBySource(sourceKey: string) {
    return newestCommitted(this.db.selectFrom('sms_messages').selectAll().where('source_key', '=', sourceKey), this.dialect).executeTakeFirst();
  }

  /** Due: queued and due, or left in `submitting` by a run whose lease ran out (a crash mid-send). */
  async dueIds(now: string, limit: number): Promise<string[]> {
    const queued = await this.db.selectFrom('sms_messages').select('id').where('state', '=', 'queued').where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at').limit(limit).execute();
    const stale = await this.db.selectFrom('sms_messages').select('id').where('state', '=', 'submitting').where(unindexed('lease_until'), '<=', now)
      .limit(limit).execute();
    return [...queued, ...stale].map((r) => r.id).slice(0, limit);
  }

  /** Leases the due ones of `ids` for this run (one update); what another run took meanwhile is not returned. */
  async claim(ids: string[], now: string, token: string, leaseUntil: string): Promise<SmsMessageRow[]> {
    if (!ids.length) return [];
    await this.db.updateTable('sms_messages')
      .set((eb) => ({ state: 'submitting', claim_token: token, lease_until: leaseUntil, attempts: eb('attempts', '+', 1), updated_at: now }))
      .where('id', 'in', ids)
      .where((eb) => eb.or([
        eb.and([eb(unindexed('state'), '=', 'queued'), eb(unindexed('next_attempt_at'), '<=', now)]),
        eb.and([eb(unindexed('state'), '=', 'submitting'), eb(unindexed('lease_until'), '<=', now)]),
      ]))
      .execute();
    return this.db.selectFrom('sms_messages').selectAll().where('id', 'in', ids).where('claim_token', '=', token).orderBy('created_at').execute();
  }

  /** Changes a message this run still holds; false when its lease was taken over (another run owns it now). */
  async updateHeld(id: string, token: string, patch: Partial<DB['sms_messages']>): Promise<boolean> {
    const r = await this.db.updateTable('sms_messages').set(patch).where('id', '=', id).where('claim_token', '=', token).where('state', '=', 'submitting').executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async updateMessage(id: string, patch: Partial<DB['sms_messages']>, whereStates?: string[]): Promise<boolean> {
    let q = this.db.updateTable('sms_messages').set(patch).where('id', '=', id);
    if (whereStates) q = q.where('state', 'in', whereStates);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async insertProviderIdsMany(rows: DB['sms_provider_ids'][]) {
    for (let i = 0; i < rows.length; i += 500) {
      const q = this.db.insertInto('sms_provider_ids').values(rows.slice(i, i + 500));
      await (this.dialect === 'mysql' ? q.ignore() : q.onConflict((oc) => oc.doNothing())).execute();
    }
  }

  messageOfProviderId(gateway: string, providerMessageId: string) {
    return this.db.selectFrom('sms_provider_ids').select('message_id').where('gateway', '=', gateway).where('provider_message_id', '=', providerMessageId).executeTakeFirst();
  }

  /** Stores receipts; one already stored (same gateway, provider id and state) is skipped. */
  async insertReceipts(rows: DB['sms_receipts'][]) {
    for (let i = 0; i < rows.length; i += 500) {
      const q = this.db.insertInto('sms_receipts').values(rows.slice(i, i + 500));
      await (this.dialect === 'mysql' ? q.ignore() : q.onConflict((oc) => oc.doNothing())).execute();
    }
  }

  ownersOf(gateway: string, providerMessageIds: string[]) {
    if (!providerMessageIds.length) return Promise.resolve([]);
    return this.db.selectFrom('sms_provider_ids').select(['provider_message_id', 'message_id']).where('gateway', '=', gateway).where('provider_message_id', 'in', providerMessageIds).execute();
  }

  receiptsOf(gateway: string, providerMessageIds: string[]) {
    if (!providerMessageIds.length) return Promise.resolve([]);
    return newestCommitted(this.db.selectFrom('sms_receipts').select(['provider_message_id', 'state']).where('gateway', '=', gateway).where('provider_message_id', 'in', providerMessageIds), this.dialect).execute();
  }

  /** The messages, locked for the caller's transaction on MySQL (receipts and submits take turns on a row). */
  messagesForUpdate(ids: string[]) {
    if (!ids.length) return Promise.resolve([]);
    return newestCommitted(this.db.selectFrom('sms_messages').selectAll().where('id', 'in', ids), this.dialect).execute();
  }

  async markDelivered(ids: string[], now: string) {
    if (!ids.length) return;
    await this.db.updateTable('sms_messages').set({ state: 'delivered', delivered_at: now, last_error: null, updated_at: now }).where('id', 'in', ids).where('state', '=', 'submitted').execute();
  }

  /** Receipts that arrived before their submit was recorded, for the provider ids just stored. */
  unmatchedReceiptsFor(gateway: string, providerIds: string[]) {
    if (!providerIds.length) return Promise.resolve([]);
    return this.db.selectFrom('sms_receipts').selectAll().where('gateway', '=', gateway).where('provider_message_id', 'in', providerIds).where('message_id', 'is', null).execute();
  }

  matchReceipt(id: string, messageId: string) {
    return this.db.updateTable('sms_receipts').set({ message_id: messageId }).where('id', '=', id).execute();
  }

  /** Unmatched receipts whose provider id is known now, oldest first. */
  unmatchedWithOwner(limit: number) {
    return this.db.selectFrom('sms_receipts as r')
      .innerJoin('sms_provider_ids as p', (j) => j.onRef('p.gateway', '=', 'r.gateway').onRef('p.provider_message_id', '=', 'r.provider_message_id'))
      .select(['r.id', 'r.state', 'r.detail', 'p.message_id']).where('r.message_id', 'is', null).orderBy('r.received_at').limit(limit).execute();
  }

  countUnmatchedReceipts() {
    return this.db.selectFrom('sms_receipts').select((eb) => eb.fn.countAll<number>().as('n')).where('message_id', 'is', null).executeTakeFirstOrThrow();
  }

  async listMessages(f: MessageFilter, page: number, pageSize: number) {
    let q = this.db.selectFrom('sms_messages').where('city_id', '=', f.cityId);
    if (f.ticketId) q = q.where('ticket_id', '=', f.ticketId);
    if (f.workOrderId) q = q.where('work_order_id', '=', f.workOrderId);
    if (f.unitId) q = q.where('unit_id', '=', f.unitId);
    if (f.states?.length) q = q.where('state', 'in', f.states);
    if (f.recipientKind) q = q.where('recipient_kind', '=', f.recipientKind);
    const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const items = await q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(pageSize).offset((page - 1) * pageSize).execute();
    return { items, total: Number(n) };
  }

  /** The last survey texts sent to a phone, newest first (which ticket a bare "1" rates). */
  recentSurveysTo(phone: string, limit = 5) {
    return this.db.selectFrom('sms_messages').select(['ticket_id', 'city_id']).where('phone', '=', phone).where('kind', '=', 'callback.survey')
      .where('ticket_id', 'is not', null).orderBy('created_at', 'desc').limit(limit).execute();
  }

  // --- inbound -------------------------------------------------------------------------------

  insertInboundOnce(row: DB['sms_inbound']): Promise<boolean> {
    return insertIgnore(this.db, this.dialect, 'sms_inbound', row as unknown as Record<string, unknown>);
  }

  findInboundByProvider(gateway: string, providerMessageId: string) {
    return newestCommitted(this.db.selectFrom('sms_inbound').selectAll().where('gateway', '=', gateway).where('provider_message_id', '=', providerMessageId), this.dialect).executeTakeFirst();
  }

  findInbound(id: string) {
    return this.db.selectFrom('sms_inbound').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async updateInbound(id: string, patch: Partial<DB['sms_inbound']>, whereStatus?: string[]): Promise<boolean> {
    let q = this.db.updateTable('sms_inbound').set(patch).where('id', '=', id);
    if (whereStatus) q = q.where('status', 'in', whereStatus);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Texts whose handling a crash interrupted (status `processing` for longer than a minute). */
  stuckInbound(before: string, limit: number) {
    return this.db.selectFrom('sms_inbound').selectAll().where('status', '=', 'processing').where('received_at', '<=', before).limit(limit).execute();
  }

  async listInbound(f: { cityId: string; statuses?: string[]; fromPhone?: string; ticketId?: string }, page: number, pageSize: number) {
    let q = this.db.selectFrom('sms_inbound').where('city_id', '=', f.cityId);
    if (f.statuses?.length) q = q.where('status', 'in', f.statuses);
    if (f.fromPhone) q = q.where('from_phone', '=', f.fromPhone);
    if (f.ticketId) q = q.where('ticket_id', '=', f.ticketId);
    const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const items = await q.selectAll().orderBy('received_at', 'desc').orderBy('id', 'desc').limit(pageSize).offset((page - 1) * pageSize).execute();
    return { items, total: Number(n) };
  }

  // --- action codes and opt-outs ---------------------------------------------------------------

  codesOfWorkOrders(workOrderIds: string[]) {
    if (!workOrderIds.length) return Promise.resolve([]);
    return this.db.selectFrom('sms_action_codes').selectAll().where('work_order_id', 'in', workOrderIds).execute();
  }

  codeOfWorkOrder(workOrderId: string) {
    return newestCommitted(this.db.selectFrom('sms_action_codes').selectAll().where('work_order_id', '=', workOrderId), this.dialect).executeTakeFirst();
  }

  insertCodeOnce(row: DB['sms_action_codes']): Promise<boolean> {
    return insertIgnore(this.db, this.dialect, 'sms_action_codes', row as unknown as Record<string, unknown>);
  }

  findCode(unitIds: string[], code: string) {
    if (!unitIds.length) return Promise.resolve(undefined);
    return this.db.selectFrom('sms_action_codes').selectAll().where('unit_id', 'in', unitIds).where('code', '=', code).executeTakeFirst();
  }

  optOut(row: DB['sms_opt_outs']) {
    return insertIgnore(this.db, this.dialect, 'sms_opt_outs', row as unknown as Record<string, unknown>);
  }

  async hasOptedOut(cityId: string, phone: string) {
    return !!(await this.db.selectFrom('sms_opt_outs').select('phone').where('city_id', '=', cityId).where('phone', '=', phone).executeTakeFirst());
  }
}
