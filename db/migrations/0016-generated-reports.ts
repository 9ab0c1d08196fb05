import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Generated reports (已生成报表): one row per exported file — a report of a kind, period, format and
 * filters, for the whole city or one unit — with its progress and where its file is kept.
 *
 * - `idempotency_key` is unique: a hash of city, unit scope, kind, period, format and filters, so an
 *   export requested twice (two clicks, two nodes' schedules) is one row and one file.
 * - `status` queued → running → done / failed; `progress` 0–100 while running; `lease_until` lets a
 *   sweep take back a run whose node died.
 * - `origin` says who asked: `request` (a user: `requested_by`) or `schedule` (the 08:00 run).
 * - `file_key` names the file in the attachment storage (disk or S3), as work-order attachments are.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('generated_reports')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('unit_id', t.key(64))
    .addColumn('kind', t.key(16), (c) => c.notNull())
    .addColumn('period_from', t.key(10), (c) => c.notNull())
    .addColumn('period_to', t.key(10), (c) => c.notNull())
    .addColumn('period_label', t.key(64), (c) => c.notNull())
    .addColumn('format', t.key(8), (c) => c.notNull())
    .addColumn('filters', t.text, (c) => c.notNull())
    .addColumn('idempotency_key', t.key(64), (c) => c.notNull().unique())
    .addColumn('origin', t.key(16), (c) => c.notNull())
    .addColumn('requested_by', t.key(64))
    .addColumn('requested_by_name', t.key(128))
    .addColumn('status', t.key(16), (c) => c.notNull())
    .addColumn('progress', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('attempts', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('lease_until', t.timestamp)
    .addColumn('title', t.key(255))
    .addColumn('file_key', t.key(255))
    .addColumn('file_name', t.key(255))
    .addColumn('content_type', t.key(128))
    .addColumn('file_size', t.integer)
    .addColumn('error', t.text)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addColumn('started_at', t.timestamp)
    .addColumn('finished_at', t.timestamp)
    .execute();
  await db.schema.createIndex('generated_reports_city_created').on('generated_reports').columns(['city_id', 'created_at']).execute();
  await db.schema.createIndex('generated_reports_unit_created').on('generated_reports').columns(['city_id', 'unit_id', 'created_at']).execute();
  await db.schema.createIndex('generated_reports_status').on('generated_reports').columns(['status', 'lease_until']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('generated_reports').execute();
}
