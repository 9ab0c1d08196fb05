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

  /** Stores a final segment once per (call, party, seq); returns whether it was new. */
  insertSegment(row: TranscriptSegmentRow): Promise<boolean> {
    return insertIgnore(this.db, this.dialect, 'call_transcript_segments', row as unknown as Record<string, unknown>);
  }

  segmentsOf(callRef: string) {
    return this.db.selectFrom('call_transcript_segments').selectAll().where('call_ref', '=', callRef).orderBy('seq').execute();
  }

  /**
   * Final segments of a city's calls holding every one of the words (jieba tokens), newest call
   * first. `callIds` narrows to those calls (a unit's); an empty list finds nothing.
   */
  async searchSegments(cityId: string, words: string[], limit: number, callIds?: string[]) {
    if (callIds && !callIds.length) return [];
    let q = this.db
      .selectFrom('call_transcript_segments as s')
      .innerJoin('calls as c', 'c.id', 's.call_ref')
      .select(['c.call_id', 'c.offered_at', 'c.agent_user_id', 's.speaker', 's.text', 's.start_ms', 's.seq'])
      .where('c.city_id', '=', cityId);
    for (const w of words) q = q.where('s.tokens', 'like', `% ${w.replace(/[%_\\]/g, '')} %`);
    if (callIds) q = q.where('c.call_id', 'in', callIds);
    return q.orderBy('c.offered_at', 'desc').orderBy('s.start_ms').orderBy('s.seq').limit(limit).execute();
  }

  /** Deletes a call's segments and its assembled text (retention); returns how many segments went. */
  async deleteTranscript(callRef: string, at: string): Promise<number> {
    const r = await this.db.deleteFrom('call_transcript_segments').where('call_ref', '=', callRef).executeTakeFirst();
    await this.db.updateTable('calls').set({ transcript: null, updated_at: at }).where('id', '=', callRef).execute();
    return Number(r.numDeletedRows ?? 0n);
  }
}
