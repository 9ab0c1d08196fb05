import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * SIP endpoints (坐席话机账号): the credentials an agent's desk phone or softphone registers with on
 * the built-in SIP edge. `username` is unique across cities (it is the SIP user a phone sends);
 * `user_id` is the console user who sits at the phone, when one is linked; only `ha1`
 * (MD5(username:realm:password)) is stored, never the password.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('sip_endpoints')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('username', t.key(64), (c) => c.notNull().unique())
    .addColumn('user_id', t.key(64))
    .addColumn('realm', t.key(128), (c) => c.notNull())
    .addColumn('ha1', t.key(32), (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sip_endpoints_city').on('sip_endpoints').columns(['city_id', 'user_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sip_endpoints').execute();
}
