import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * API keys (接口密钥) get what a machine client may do and for how long: `scopes` (space-separated
 * names from the catalogue in core/api-key-scopes.ts), `expires_at` (null: until revoked) and
 * `last_used_at` (written at most once a minute per key, see identity.service.ts).
 *
 * Keys issued before this migration get no scope: they were all-powerful, and an empty scope list
 * is the safe reading of "nobody said what this key is for". An admin re-issues them with scopes.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema.alterTable('api_keys').addColumn('scopes', t.key(255), (c) => c.notNull().defaultTo('')).execute();
  await db.schema.alterTable('api_keys').addColumn('expires_at', t.timestamp).execute();
  await db.schema.alterTable('api_keys').addColumn('last_used_at', t.timestamp).execute();
  await db.schema.createIndex('api_keys_city').on('api_keys').column('city_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('api_keys_city').on('api_keys').execute();
  await db.schema.alterTable('api_keys').dropColumn('last_used_at').execute();
  await db.schema.alterTable('api_keys').dropColumn('expires_at').execute();
  await db.schema.alterTable('api_keys').dropColumn('scopes').execute();
}
