import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Citizen pages (群众端): the building QR report (一码受理) and the status page (进度查询).
 *
 * - `citizen_secrets`: the server's signing key for building QR codes and status links, made once
 *   at random and shared by every node (CITIZEN_LINK_SECRET overrides it).
 * - `citizen_reports`: one row per accepted QR report: which building, which ticket, the device and
 *   address (hashed) it came from: the per-device, per-IP and per-code limits count these rows.
 *   `idempotency_key` is unique: a retried submit answers with the first ticket.
 * - `citizen_photos`: photos sent with a report, stored like work-order attachments (disk or S3).
 * - `citizen_codes`: one-time SMS codes (验证码) for the status page, stored hashed; used once.
 * - `citizen_throttle`: failed code checks per ticket and per device/IP, with the lockout time.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('citizen_secrets')
    .addColumn('name', t.key(32), (c) => c.primaryKey())
    .addColumn('value', t.key(128), (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('citizen_reports')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('building_code', t.key(128), (c) => c.notNull())
    .addColumn('ticket_id', t.id, (c) => c.notNull())
    .addColumn('device_hash', t.key(64), (c) => c.notNull())
    .addColumn('ip_hash', t.key(64), (c) => c.notNull())
    .addColumn('idempotency_key', t.key(128), (c) => c.notNull().unique())
    .addColumn('duplicate_of', t.id)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('citizen_reports_building').on('citizen_reports').columns(['city_id', 'building_code', 'created_at']).execute();
  await db.schema.createIndex('citizen_reports_device').on('citizen_reports').columns(['device_hash', 'created_at']).execute();
  await db.schema.createIndex('citizen_reports_ip').on('citizen_reports').columns(['ip_hash', 'created_at']).execute();

  await db.schema
    .createTable('citizen_photos')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('ticket_id', t.id, (c) => c.notNull())
    .addColumn('report_id', t.id, (c) => c.notNull())
    .addColumn('content_type', t.key(64), (c) => c.notNull())
    .addColumn('size', t.integer, (c) => c.notNull())
    .addColumn('sha256', t.key(64), (c) => c.notNull())
    .addColumn('storage_key', t.key(255), (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('citizen_photos_ticket').on('citizen_photos').column('ticket_id').execute();

  await db.schema
    .createTable('citizen_codes')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('ticket_id', t.id, (c) => c.notNull())
    .addColumn('code_hash', t.key(64), (c) => c.notNull())
    .addColumn('device_hash', t.key(64), (c) => c.notNull())
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .addColumn('used_at', t.timestamp)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('citizen_codes_ticket').on('citizen_codes').columns(['ticket_id', 'created_at']).execute();
  await db.schema.createIndex('citizen_codes_device').on('citizen_codes').columns(['device_hash', 'created_at']).execute();

  await db.schema
    .createTable('citizen_throttle')
    .addColumn('key', t.key(128), (c) => c.primaryKey())
    .addColumn('failures', t.integer, (c) => c.notNull())
    .addColumn('window_start', t.timestamp, (c) => c.notNull())
    .addColumn('locked_until', t.timestamp)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['citizen_throttle', 'citizen_codes', 'citizen_photos', 'citizen_reports', 'citizen_secrets']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
