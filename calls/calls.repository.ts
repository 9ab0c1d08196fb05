import type { Kysely } from 'kysely';
import { insertIgnore, type CallsTable, type CallTranscriptSegmentsTable, type DB, type DialectName } from '../db';

export type CallRow = CallsTable;
export type TranscriptSegmentRow = CallTranscriptSegmentsTable;

/** Calls and their final transcript segments. */
export class CallsRepository {
  constructor(private readonly db: Kysely<DB>, private readonly dialect: DialectName) {}

  /** Inserts a call unless the gateway's id is already known in the city; returns whether it did. */
  insertCall(row: CallRow): Promise<boolean> {
    return insertIgnore(this.db, this.dialect, 'calls', row as unknown as Record<string, unknown>);
  }

  findByCallId(cityId: string, callId: string) {
    return this.db.selectFrom('calls').selectAll().where('city_id', '=', cityId).where('call_id', '=', callId).executeTakeFirst();
  }

  async update(id: string, patch: Partial<CallRow>) {
    await this.db.updateTable('calls').set(patch).where('id', '=', id).execute();
  }

  /** Sets a timestamp column only if it is still empty; returns whether this call set it. */
  async setOnce(id: string, column: 'answered_at' | 'ended_at', at: string): Promise<boolean> {
    const r = await this.db.updateTable('calls').set({ [column]: at, updated_at: at }).where('id', '=', id).where(column, 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows ?? 0n) > 0;
  }

  /** Stores a final segment once per (call, seq); returns whether it was new. */
  insertSegment(row: TranscriptSegmentRow): Promise<boolean> {
    return insertIgnore(this.db, this.dialect, 'call_transcript_segments', row as unknown as Record<string, unknown>);
  }

  segmentsOf(callRef: string) {
    return this.db.selectFrom('call_transcript_segments').selectAll().where('call_ref', '=', callRef).orderBy('seq').execute();
  }
}
