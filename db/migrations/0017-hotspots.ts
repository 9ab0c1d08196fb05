import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Hotspot warnings (热点预警, 未诉先办): counts by category × territory × day kept in the ticket's own
 * transaction, and the warnings raised from them.
 *
 * - `hotspot_counts`: one row per group (a category at level 2 or 3 × a street or community) and
 *   China day: tickets and distinct callers. Detection and its baseline read these rows by key.
 * - `hotspot_callers`: one row per group, day and caller, with that caller's tickets. It is what
 *   makes the distinct-caller count exact under concurrency: the insert that creates the row is the
 *   one that counts a new caller (two registrations from one number at once cannot both do it), and
 *   the decrement that empties it is the one that removes the caller again.
 * - `hotspot_ticket_groups`: which groups each ticket counts in now (with its day and caller). A
 *   correction (new category or territory, a merge, a cancellation) moves a ticket out of exactly
 *   the groups it was counted in; the rolling window (last N hours) and a warning's tickets are read
 *   here by the group's index.
 * - `hotspot_warnings`: at most one per group and day (the unique key decides between nodes); its
 *   level only rises, and each rise is delivered once.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('hotspot_counts')
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('category_id', t.key(64), (c) => c.notNull())
    .addColumn('territory_id', t.key(64), (c) => c.notNull())
    .addColumn('day', t.key(10), (c) => c.notNull())
    .addColumn('category_level', t.integer, (c) => c.notNull())
    .addColumn('territory_level', t.key(16), (c) => c.notNull())
    .addColumn('territory_path', t.key(255), (c) => c.notNull())
    .addColumn('tickets', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('callers', t.integer, (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('hotspot_counts_pk', ['city_id', 'category_id', 'territory_id', 'day'])
    .execute();
  // The sweep reads a city's groups of one day.
  await db.schema.createIndex('hotspot_counts_day').on('hotspot_counts').columns(['city_id', 'day', 'tickets']).execute();

  await db.schema
    .createTable('hotspot_callers')
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('category_id', t.key(64), (c) => c.notNull())
    .addColumn('territory_id', t.key(64), (c) => c.notNull())
    .addColumn('day', t.key(10), (c) => c.notNull())
    .addColumn('caller_key', t.key(64), (c) => c.notNull())
    .addColumn('tickets', t.integer, (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('hotspot_callers_pk', ['city_id', 'category_id', 'territory_id', 'day', 'caller_key'])
    .execute();

  await db.schema
    .createTable('hotspot_ticket_groups')
    .addColumn('ticket_id', t.id, (c) => c.notNull())
    .addColumn('category_id', t.key(64), (c) => c.notNull())
    .addColumn('territory_id', t.key(64), (c) => c.notNull())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('day', t.key(10), (c) => c.notNull())
    .addColumn('caller_key', t.key(64), (c) => c.notNull())
    .addColumn('registered_at', t.timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('hotspot_ticket_groups_pk', ['ticket_id', 'category_id', 'territory_id'])
    .execute();
  await db.schema.createIndex('hotspot_ticket_groups_group').on('hotspot_ticket_groups').columns(['city_id', 'category_id', 'territory_id', 'registered_at']).execute();

  await db.schema
    .createTable('hotspot_warnings')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('category_id', t.key(64), (c) => c.notNull())
    .addColumn('territory_id', t.key(64), (c) => c.notNull())
    .addColumn('day', t.key(10), (c) => c.notNull())
    .addColumn('category_level', t.integer, (c) => c.notNull())
    .addColumn('territory_level', t.key(16), (c) => c.notNull())
    .addColumn('territory_path', t.key(255), (c) => c.notNull())
    .addColumn('category_name', t.key(191), (c) => c.notNull())
    .addColumn('territory_name', t.key(191), (c) => c.notNull())
    .addColumn('level', t.integer, (c) => c.notNull())
    .addColumn('basis', t.key(16), (c) => c.notNull())
    .addColumn('tickets', t.integer, (c) => c.notNull())
    .addColumn('callers', t.integer, (c) => c.notNull())
    .addColumn('baseline_mean', t.double, (c) => c.notNull())
    .addColumn('baseline_spread', t.double, (c) => c.notNull())
    .addColumn('status', t.key(16), (c) => c.notNull())
    .addColumn('version', t.integer, (c) => c.notNull().defaultTo(1))
    .addColumn('raised_at', t.timestamp, (c) => c.notNull())
    .addColumn('level_raised_at', t.timestamp, (c) => c.notNull())
    .addColumn('handled_by', t.key(64))
    .addColumn('handled_at', t.timestamp)
    .addColumn('note', t.text)
    .addColumn('proactive_ticket_id', t.key(64))
    .addUniqueConstraint('hotspot_warnings_group_day', ['city_id', 'category_id', 'territory_id', 'day'])
    .execute();
  await db.schema.createIndex('hotspot_warnings_list').on('hotspot_warnings').columns(['city_id', 'day', 'level']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['hotspot_warnings', 'hotspot_ticket_groups', 'hotspot_callers', 'hotspot_counts']) await db.schema.dropTable(table).ifExists().execute();
}
