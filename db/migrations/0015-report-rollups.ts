import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Reports (报表): the figures come from counters kept in the same transaction as the ticket and
 * work-order changes, so a report reads periods × groups rows, never the tickets.
 *
 * - `report_facts`: what each ticket counts for now — one row per (ticket, measure, day, unit) with
 *   the ticket's category, territory, channel and type. A change to the ticket deletes its rows and
 *   writes the new ones; the difference goes to the rollups. It is also what a drill-down lists.
 * - `report_rollups`: the counters, keyed by (city, grain, measure, day, unit, category leaf,
 *   territory leaf, channel, type); '' stands for "none" (a key column cannot be null). Categories
 *   and territories roll up to any level through their trees' paths when a report is read. Each
 *   count is kept at several grains: `full` (every dimension, leaves) and projections that keep
 *   one dimension and put '*' in the others: `unit`, `ct` (channel and type), `category` (leaf),
 *   `category1` (the top-level category, 一级分类) and `territory1` (the district, 区/县). With fine dimensions the
 *   full grain has about as many rows as facts; a report grouped or filtered by one of these reads
 *   its projection, days × measures × that dimension's values, whatever the number of tickets.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  const keyColumns = (b: any) =>
    b
      .addColumn('city_id', t.key(64), (c: any) => c.notNull())
      .addColumn('measure', t.key(32), (c: any) => c.notNull())
      .addColumn('day', t.key(10), (c: any) => c.notNull())
      .addColumn('unit_id', t.key(64), (c: any) => c.notNull())
      .addColumn('category_id', t.key(64), (c: any) => c.notNull())
      .addColumn('territory_id', t.key(64), (c: any) => c.notNull())
      .addColumn('channel', t.key(16), (c: any) => c.notNull())
      .addColumn('type', t.key(16), (c: any) => c.notNull())
      .addColumn('n', t.integer, (c: any) => c.notNull());
  await keyColumns(db.schema.createTable('report_facts').addColumn('ticket_id', t.key(64), (c) => c.notNull()))
    .addColumn('category_top', t.key(64), (c: any) => c.notNull())
    .addColumn('territory_top', t.key(64), (c: any) => c.notNull())
    .addPrimaryKeyConstraint('report_facts_pk', ['ticket_id', 'measure', 'day', 'unit_id'])
    .execute();
  await db.schema.createIndex('report_facts_drill').on('report_facts').columns(['city_id', 'measure', 'day']).execute();
  // Day before measure: a report reads almost every measure of a range of days, one contiguous range.
  await keyColumns(db.schema.createTable('report_rollups').addColumn('grain', t.key(12), (c) => c.notNull()))
    .addPrimaryKeyConstraint('report_rollups_pk', ['city_id', 'grain', 'day', 'measure', 'unit_id', 'category_id', 'territory_id', 'channel', 'type'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('report_rollups').execute();
  await db.schema.dropTable('report_facts').execute();
}
