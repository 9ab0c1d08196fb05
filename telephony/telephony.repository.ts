import type { Kysely } from 'kysely';
import type {
  DB, TelephonyAgentsTable, TelephonyCallbackRequestsTable, TelephonyCallRecordsTable, TelephonyRecordingsTable,
} from '../db';

export type CallRecordRow = TelephonyCallRecordsTable;
export type CallbackRequestRow = TelephonyCallbackRequestsTable;
export type RecordingRow = TelephonyRecordingsTable;
export type AgentSettingsRow = TelephonyAgentsTable;

const changed = (r: { numUpdatedRows?: bigint }) => Number(r.numUpdatedRows ?? 0n) > 0;

/** Call records, callback requests, recordings and the agent and queue settings of the ACD. */
export class TelephonyRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insertRecord(row: CallRecordRow) {
    await this.db.insertInto('telephony_call_records').values(row).execute();
  }

  recordByEdgeCallId(edgeCallId: string) {
    return this.db.selectFrom('telephony_call_records').selectAll().where('edge_call_id', '=', edgeCallId).executeTakeFirst();
  }

  recordById(cityId: string, id: string) {
    return this.db.selectFrom('telephony_call_records').selectAll().where('city_id', '=', cityId).where('id', '=', id).executeTakeFirst();
  }

  /** Updates an open record; returns whether it was still open. */
  async updateOpenRecord(id: string, patch: Partial<CallRecordRow>): Promise<boolean> {
    return changed(await this.db.updateTable('telephony_call_records').set(patch).where('id', '=', id).where('ended_at', 'is', null).executeTakeFirst());
  }

  async setTicket(id: string, ticketId: string, at: string) {
    await this.db.updateTable('telephony_call_records').set({ ticket_id: ticketId, updated_at: at }).where('id', '=', id).execute();
  }

  /** Records not ended, held by one of these nodes (or by any node but these, with `except`). */
  openRecords(nodeIds: { only?: string[]; except?: string[] }) {
    let q = this.db.selectFrom('telephony_call_records').selectAll().where('ended_at', 'is', null);
    if (nodeIds.only) q = q.where('node_id', 'in', nodeIds.only);
    if (nodeIds.except) q = q.where('node_id', 'not in', nodeIds.except);
    return q.execute();
  }

  /** The records offered in [from, to) for the metrics, oldest first. */
  recordsBetween(cityId: string, from: string, to: string, queue: string | null) {
    let q = this.db.selectFrom('telephony_call_records')
      .select(['queue', 'offered_at', 'queued_at', 'answered_at', 'ended_at', 'outcome'])
      .where('city_id', '=', cityId).where('offered_at', '>=', from).where('offered_at', '<', to);
    if (queue) q = q.where('queue', '=', queue);
    return q.orderBy('offered_at').execute();
  }

  async insertCallback(row: CallbackRequestRow) {
    await this.db.insertInto('telephony_callback_requests').values(row).execute();
  }

  callbackByRecord(recordId: string) {
    return this.db.selectFrom('telephony_callback_requests').selectAll().where('call_record_id', '=', recordId).executeTakeFirst();
  }

  callback(cityId: string, id: string) {
    return this.db.selectFrom('telephony_callback_requests').selectAll().where('city_id', '=', cityId).where('id', '=', id).executeTakeFirst();
  }

  listCallbacks(cityId: string, statuses: string[], limit: number) {
    return this.db.selectFrom('telephony_callback_requests').selectAll().where('city_id', '=', cityId).where('status', 'in', statuses)
      .orderBy('requested_at').orderBy('id').limit(limit).execute();
  }

  /** Moves a callback request from one status to the next; false when someone else moved it first. */
  async moveCallback(id: string, from: string, patch: Partial<CallbackRequestRow>): Promise<boolean> {
    return changed(await this.db.updateTable('telephony_callback_requests').set(patch).where('id', '=', id).where('status', '=', from).executeTakeFirst());
  }

  async insertRecording(row: RecordingRow) {
    await this.db.insertInto('telephony_recordings').values(row).execute();
  }

  recordingOf(recordId: string) {
    return this.db.selectFrom('telephony_recordings').selectAll().where('call_record_id', '=', recordId).executeTakeFirst();
  }

  expiredRecordings(now: string, limit: number) {
    return this.db.selectFrom('telephony_recordings').selectAll().where('deleted_at', 'is', null).where('expires_at', '<=', now).orderBy('expires_at').limit(limit).execute();
  }

  async markRecordingDeleted(id: string, at: string): Promise<boolean> {
    return changed(await this.db.updateTable('telephony_recordings').set({ deleted_at: at }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst());
  }

  agents(cityId: string) {
    return this.db.selectFrom('telephony_agents').selectAll().where('city_id', '=', cityId).execute();
  }

  agent(userId: string) {
    return this.db.selectFrom('telephony_agents').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  agentByPhone(phoneUsername: string) {
    return this.db.selectFrom('telephony_agents').selectAll().where('phone_username', '=', phoneUsername).executeTakeFirst();
  }

  async saveAgent(row: AgentSettingsRow) {
    const r = await this.db.updateTable('telephony_agents').set(row).where('user_id', '=', row.user_id).executeTakeFirst();
    if (!changed(r)) await this.db.insertInto('telephony_agents').values(row).execute();
  }

  queueOverrides(cityId: string) {
    return this.db.selectFrom('telephony_queue_settings').selectAll().where('city_id', '=', cityId).execute();
  }

  async saveQueueOverride(cityId: string, skill: string, settings: string, at: string) {
    const r = await this.db.updateTable('telephony_queue_settings').set({ settings, updated_at: at }).where('city_id', '=', cityId).where('skill', '=', skill).executeTakeFirst();
    if (!changed(r)) await this.db.insertInto('telephony_queue_settings').values({ city_id: cityId, skill, settings, updated_at: at }).execute();
  }
}
