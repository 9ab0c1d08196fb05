import { sql, type Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Month-level report counters (月度汇总): `report_rollups_month` holds, for each city, grain, month
 * ('YYYY-MM', China time), measure and key, the sum of the day counters of `report_rollups` in that
 * month. They are kept in the same transaction as the day counters and rebuilt with them, at every
 * grain except `full` (a report crossing dimensions reads the day rows). A month, year or monthly
 * bulletin reads a whole past month as one row per key instead of ~30. The months of the day
 * counters already stored are summed here, so existing figures stay whole without a rebuild.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('report_rollups_month')
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('grain', t.key(12), (c) => c.notNull())
    .addColumn('month', t.key(7), (c) => c.notNull())
    .addColumn('measure', t.key(32), (c) => c.notNull())
    .addColumn('unit_id', t.key(64), (c) => c.notNull())
    .addColumn('category_id', t.key(64), (c) => c.notNull())
    .addColumn('territory_id', t.key(64), (c) => c.notNull())
    .addColumn('channel', t.key(16), (c) => c.notNull())
    .addColumn('type', t.key(16), (c) => c.notNull())
    .addColumn('n', t.integer, (c) => c.notNull())
    .addPrimaryKeyConstraint('report_rollups_month_pk', ['city_id', 'grain', 'month', 'measure', 'unit_id', 'category_id', 'territory_id', 'channel', 'type'])
    .execute();
  await sql`insert into report_rollups_month (city_id, grain, month, measure, unit_id, category_id, territory_id, channel, type, n)
    select city_id, grain, substr(day, 1, 7), measure, unit_id, category_id, territory_id, channel, type, sum(n) from report_rollups
    where grain <> 'full'
    group by city_id, grain, substr(day, 1, 7), measure, unit_id, category_id, territory_id, channel, type
    having sum(n) <> 0`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('report_rollups_month').execute();
}
