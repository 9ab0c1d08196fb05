import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Open311 GeoReport v2 (开放接口): one row per service request a civic app posted, beside the ticket
 * intake registered for it. `token` is what the client gets back and may look up
 * (`tokens/{token}`); `ticket_id` is unique, so a ticket is one request at most. The citizen's email
 * and the client's own ids (device, account) are kept for the hotline and never returned. Written
 * in the ticket's own transaction (see open311/open311.service.ts).
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('open311_requests')
    .addColumn('token', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('ticket_id', t.id, (c) => c.notNull().unique())
    .addColumn('api_key_id', t.key(64), (c) => c.notNull())
    .addColumn('client_name', t.key(64), (c) => c.notNull())
    .addColumn('service_code', t.key(64), (c) => c.notNull())
    .addColumn('email', t.key(254))
    .addColumn('device_id', t.key(128))
    .addColumn('account_id', t.key(128))
    .addColumn('media_url', t.key(1000))
    .addColumn('attributes', t.text)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('open311_requests_client').on('open311_requests').columns(['api_key_id', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('open311_requests').execute();
}
