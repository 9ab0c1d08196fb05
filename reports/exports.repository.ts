/** generated_reports: the rows of exported report files, by intent. */
import type { Kysely, Selectable } from 'kysely';
import type { DB, GeneratedReportsTable } from '../db';

export type GeneratedReportRow = Selectable<GeneratedReportsTable>;

export interface ListFilter {
  cityId: string;
  /** Set: only this unit's reports (a unit user's view). */
  unitId?: string;
  status?: string[];
  kind?: string;
  limit: number;
  offset: number;
}

export function generatedReportsRepository(db: Kysely<DB>) {
  return {
    async insert(row: GeneratedReportRow): Promise<void> {
      await db.insertInto('generated_reports').values(row).execute();
    },
    findById(id: string): Promise<GeneratedReportRow | undefined> {
      return db.selectFrom('generated_reports').selectAll().where('id', '=', id).executeTakeFirst();
    },
    findByKey(key: string): Promise<GeneratedReportRow | undefined> {
      return db.selectFrom('generated_reports').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
    },
    async list(f: ListFilter): Promise<{ rows: GeneratedReportRow[]; total: number }> {
      let q = db.selectFrom('generated_reports').where('city_id', '=', f.cityId);
      if (f.unitId) q = q.where('unit_id', '=', f.unitId);
      if (f.status?.length) q = q.where('status', 'in', f.status);
      if (f.kind) q = q.where('kind', '=', f.kind);
      const [rows, count] = await Promise.all([
        q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).offset(f.offset).execute(),
        q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { rows, total: Number(count.n) };
    },
    /**
     * Takes a run: queued, or running under an expired lease (its node died). Returns whether this
     * caller got it — two nodes given the same job, one wins.
     */
    async claim(id: string, now: string, leaseUntil: string): Promise<boolean> {
      const r = await db
        .updateTable('generated_reports')
        .set((eb) => ({ status: 'running', progress: 0, lease_until: leaseUntil, started_at: now, updated_at: now, error: null, attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .where((eb) => eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)])]))
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async setProgress(id: string, progress: number, now: string, leaseUntil: string): Promise<void> {
      await db.updateTable('generated_reports').set({ progress, updated_at: now, lease_until: leaseUntil }).where('id', '=', id).where('status', '=', 'running').execute();
    },
    async finish(id: string, set: Pick<GeneratedReportRow, 'title' | 'file_key' | 'file_name' | 'content_type' | 'file_size'>, now: string): Promise<boolean> {
      const r = await db
        .updateTable('generated_reports')
        .set({ ...set, status: 'done', progress: 100, lease_until: null, finished_at: now, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async fail(id: string, error: string, now: string): Promise<boolean> {
      const r = await db
        .updateTable('generated_reports')
        .set({ status: 'failed', error: error.slice(0, 2000), lease_until: null, finished_at: now, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    /** A failed export asked for again goes back to the queue (the same row, the same key). */
    async requeueFailed(id: string, now: string, by: { id: string | null; name: string | null }): Promise<boolean> {
      const r = await db
        .updateTable('generated_reports')
        .set({ status: 'queued', progress: 0, error: null, finished_at: null, updated_at: now, requested_by: by.id, requested_by_name: by.name })
        .where('id', '=', id)
        .where('status', '=', 'failed')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    /** Queued rows not picked up, and runs whose lease expired: what a sweep hands to the queue again. */
    stranded(now: string, queuedBefore: string, limit = 100): Promise<Pick<GeneratedReportRow, 'id'>[]> {
      return db
        .selectFrom('generated_reports')
        .select('id')
        .where((eb) => eb.or([eb.and([eb('status', '=', 'queued'), eb('updated_at', '<', queuedBefore)]), eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)])]))
        .limit(limit)
        .execute();
    },
  };
}
