import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/** The foundation: cities, territory, units, people, citizens, categories, tickets, audit, calendar. */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);

  await db.schema
    .createTable('cities')
    .addColumn('id', t.key(32), (c) => c.primaryKey())
    .addColumn('name', t.key(64), (c) => c.notNull())
    .addColumn('is_demo', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('settings', t.longText, (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('territories')
    .addColumn('id', t.key(64), (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('code', t.key(32))
    .addColumn('name', t.key(128), (c) => c.notNull())
    .addColumn('level', t.key(16), (c) => c.notNull())
    .addColumn('parent_id', t.key(64))
    .addColumn('path', t.key(400), (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('territories_city_parent').on('territories').columns(['city_id', 'parent_id']).execute();
  await db.schema.createIndex('territories_city_code').on('territories').columns(['city_id', 'code']).execute();

  await db.schema
    .createTable('units')
    .addColumn('id', t.key(64), (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('code', t.key(64), (c) => c.notNull())
    .addColumn('name', t.key(128), (c) => c.notNull())
    .addColumn('kind', t.key(16), (c) => c.notNull())
    .addColumn('parent_id', t.key(64))
    .addColumn('territory_id', t.key(64))
    .addColumn('sms_phone', t.key(20))
    .addColumn('duty_person', t.key(64))
    .addColumn('duty_phone', t.key(20))
    .addColumn('active', t.integer, (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('units_city_code', ['city_id', 'code'])
    .execute();

  await db.schema
    .createTable('hotline_lines')
    .addColumn('id', t.key(64), (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('number', t.key(20), (c) => c.notNull())
    .addColumn('name', t.key(128), (c) => c.notNull())
    .addColumn('merged_on', t.key(10))
    .addUniqueConstraint('hotline_lines_city_number', ['city_id', 'number'])
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('username', t.key(64), (c) => c.notNull().unique())
    .addColumn('display_name', t.key(64), (c) => c.notNull())
    .addColumn('password_hash', t.key(255), (c) => c.notNull())
    .addColumn('role', t.key(32), (c) => c.notNull())
    .addColumn('unit_id', t.key(64))
    .addColumn('territory_id', t.key(64))
    .addColumn('phone', t.key(20))
    .addColumn('active', t.integer, (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', t.key(64), (c) => c.primaryKey())
    .addColumn('user_id', t.id, (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('name', t.key(64), (c) => c.notNull())
    .addColumn('key_hash', t.key(64), (c) => c.notNull().unique())
    .addColumn('role', t.key(32), (c) => c.notNull())
    .addColumn('unit_id', t.key(64))
    .addColumn('territory_id', t.key(64))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('revoked_at', t.timestamp)
    .execute();

  await db.schema
    .createTable('citizens')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('phone', t.key(20), (c) => c.notNull())
    .addColumn('name', t.key(64))
    .addColumn('confidential', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('citizens_city_phone', ['city_id', 'phone'])
    .execute();

  await db.schema
    .createTable('categories')
    .addColumn('id', t.key(64), (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('code', t.key(32), (c) => c.notNull())
    .addColumn('name', t.key(128), (c) => c.notNull())
    .addColumn('level', t.integer, (c) => c.notNull())
    .addColumn('parent_id', t.key(64))
    .addColumn('path', t.key(400), (c) => c.notNull())
    .addColumn('keywords', t.text)
    .addColumn('default_type', t.key(16))
    .addColumn('default_urgency', t.key(16))
    .addColumn('policy_code', t.key(64))
    .addColumn('utility', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('active', t.integer, (c) => c.notNull().defaultTo(1))
    .addUniqueConstraint('categories_city_code', ['city_id', 'code'])
    .execute();
  await db.schema.createIndex('categories_parent').on('categories').column('parent_id').execute();

  await db.schema
    .createTable('time_limit_policies')
    .addColumn('id', t.key(64), (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('code', t.key(64), (c) => c.notNull())
    .addColumn('name', t.key(128), (c) => c.notNull())
    .addColumn('priority', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('ticket_type', t.key(16))
    .addColumn('urgency', t.key(16))
    .addColumn('category_code', t.key(32))
    .addColumn('utility', t.integer)
    .addColumn('limits', t.text, (c) => c.notNull())
    .addUniqueConstraint('time_limit_policies_city_code', ['city_id', 'code'])
    .execute();

  await db.schema
    .createTable('tickets')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('number', t.key(20), (c) => c.notNull())
    .addColumn('status', t.key(24), (c) => c.notNull())
    .addColumn('version', t.integer, (c) => c.notNull())
    .addColumn('channel', t.key(16), (c) => c.notNull())
    .addColumn('type', t.key(16), (c) => c.notNull())
    .addColumn('urgency', t.key(16), (c) => c.notNull())
    .addColumn('category_id', t.key(64))
    .addColumn('citizen_id', t.id)
    .addColumn('caller_phone', t.key(20))
    .addColumn('citizen_name', t.key(64))
    .addColumn('confidential', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('title', t.key(200))
    .addColumn('occurred_at', t.timestamp)
    .addColumn('address_text', t.key(500))
    .addColumn('territory_id', t.key(64))
    // Denormalised territory ancestry ('/district/street/community/grid/'): grid and town roles see
    // their subtree with one indexed prefix match, without reaching into the directory's tables.
    .addColumn('territory_path', t.key(400))
    .addColumn('lat', t.double)
    .addColumn('lng', t.double)
    .addColumn('parties', t.text)
    .addColumn('situation', t.text)
    .addColumn('demand', t.text)
    .addColumn('handling_unit_id', t.key(64))
    .addColumn('call_id', t.key(64))
    .addColumn('merged_into_id', t.id)
    .addColumn('answer', t.text)
    .addColumn('result', t.text)
    .addColumn('round', t.integer, (c) => c.notNull().defaultTo(1))
    .addColumn('satisfaction', t.key(16))
    .addColumn('created_by', t.id)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addColumn('closed_at', t.timestamp)
    .addUniqueConstraint('tickets_city_number', ['city_id', 'number'])
    .execute();
  await db.schema.createIndex('tickets_city_status_created').on('tickets').columns(['city_id', 'status', 'created_at']).execute();
  await db.schema.createIndex('tickets_city_created').on('tickets').columns(['city_id', 'created_at']).execute();
  await db.schema.createIndex('tickets_citizen').on('tickets').columns(['citizen_id', 'created_at']).execute();
  await db.schema.createIndex('tickets_caller_phone').on('tickets').columns(['caller_phone', 'created_at']).execute();
  await db.schema.createIndex('tickets_unit_status').on('tickets').columns(['handling_unit_id', 'status']).execute();
  await db.schema.createIndex('tickets_territory').on('tickets').columns(['territory_path', 'created_at']).execute();
  await db.schema.createIndex('tickets_call').on('tickets').column('call_id').execute();

  await db.schema
    .createTable('ticket_links')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('ticket_id', t.id, (c) => c.notNull())
    .addColumn('linked_ticket_id', t.id, (c) => c.notNull())
    .addColumn('kind', t.key(16), (c) => c.notNull())
    .addColumn('created_by', t.id)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('ticket_links_pair', ['ticket_id', 'linked_ticket_id', 'kind'])
    .execute();
  await db.schema.createIndex('ticket_links_linked').on('ticket_links').column('linked_ticket_id').execute();

  await db.schema
    .createTable('sequences')
    .addColumn('name', t.key(64), (c) => c.primaryKey())
    .addColumn('value', t.integer, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32))
    .addColumn('at', t.timestamp, (c) => c.notNull())
    .addColumn('actor_id', t.key(64))
    .addColumn('actor_role', t.key(32))
    .addColumn('entity_type', t.key(32), (c) => c.notNull())
    .addColumn('entity_id', t.key(64), (c) => c.notNull())
    .addColumn('action', t.key(48), (c) => c.notNull())
    .addColumn('before', t.longText)
    .addColumn('after', t.longText)
    .addColumn('reason', t.text)
    .addColumn('request_id', t.key(64))
    .execute();
  await db.schema.createIndex('audit_entity').on('audit_events').columns(['entity_type', 'entity_id', 'id']).execute();
  await db.schema.createIndex('audit_at').on('audit_events').column('at').execute();

  await db.schema
    .createTable('idempotency_records')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('scope', t.key(64), (c) => c.notNull())
    .addColumn('idem_key', t.key(128), (c) => c.notNull())
    .addColumn('command', t.key(64), (c) => c.notNull())
    .addColumn('request_hash', t.key(64), (c) => c.notNull())
    .addColumn('response', t.longText, (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('idempotency_scope_key', ['scope', 'idem_key'])
    .execute();

  await db.schema
    .createTable('calendar_days')
    .addColumn('day', t.key(10), (c) => c.primaryKey())
    .addColumn('year', t.integer, (c) => c.notNull())
    .addColumn('is_workday', t.integer, (c) => c.notNull())
    .addColumn('kind', t.key(16), (c) => c.notNull())
    .addColumn('name', t.key(64))
    .execute();
  await db.schema.createIndex('calendar_days_year').on('calendar_days').column('year').execute();

  await db.schema
    .createTable('calendar_years')
    .addColumn('year', t.integer, (c) => c.primaryKey())
    .addColumn('source', t.key(128), (c) => c.notNull())
    .addColumn('imported_at', t.timestamp, (c) => c.notNull())
    .addColumn('imported_by', t.key(64))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'calendar_years', 'calendar_days', 'idempotency_records', 'audit_events', 'sequences', 'ticket_links',
    'tickets', 'time_limit_policies', 'categories', 'citizens', 'api_keys', 'sessions', 'users',
    'hotline_lines', 'units', 'territories', 'cities',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
