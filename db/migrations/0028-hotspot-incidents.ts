import { sql, type Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Hotspot incidents (热点事件): one burst, one incident. A burst of calls crosses the thresholds of
 * up to four groups at once (its category at levels 2 and 3 × its community and street); those
 * warnings overlap (each one's category path and territory path lies on the other's) and are one
 * event, so they are kept under one incident: its headline is the most specific warning, the others
 * are its related levels. Notices, handling (知悉, 排除) and the proactive ticket are the incident's.
 *
 * - `hotspot_incidents`: the headline group's names and paths (for lookup and scope), the highest
 *   level of its warnings, and the handling that used to be on each warning.
 * - `hotspot_warnings.incident_id`: the incident a warning belongs to.
 *
 * Existing warnings become one incident each, with the warning's id, status and handling (a
 * converted warning's proactive ticket keeps its idempotency key `hotspot:<id>`).
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('hotspot_incidents')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('day', t.key(10), (c) => c.notNull())
    .addColumn('headline_warning_id', t.key(64), (c) => c.notNull())
    .addColumn('category_id', t.key(64), (c) => c.notNull())
    .addColumn('category_path', t.key(255), (c) => c.notNull())
    .addColumn('territory_id', t.key(64), (c) => c.notNull())
    .addColumn('territory_path', t.key(255), (c) => c.notNull())
    .addColumn('level', t.integer, (c) => c.notNull())
    .addColumn('status', t.key(16), (c) => c.notNull())
    .addColumn('version', t.integer, (c) => c.notNull().defaultTo(1))
    .addColumn('raised_at', t.timestamp, (c) => c.notNull())
    .addColumn('level_raised_at', t.timestamp, (c) => c.notNull())
    .addColumn('handled_by', t.key(64))
    .addColumn('handled_at', t.timestamp)
    .addColumn('note', t.text)
    .addColumn('proactive_ticket_id', t.key(64))
    .execute();
  await db.schema.createIndex('hotspot_incidents_list').on('hotspot_incidents').columns(['city_id', 'day', 'level']).execute();

  await db.schema.alterTable('hotspot_warnings').addColumn('incident_id', t.key(64)).execute();
  await db.schema.createIndex('hotspot_warnings_incident').on('hotspot_warnings').columns(['incident_id']).execute();

  await db.insertInto('hotspot_incidents')
    .columns(['id', 'city_id', 'day', 'headline_warning_id', 'category_id', 'category_path', 'territory_id', 'territory_path', 'level', 'status', 'version', 'raised_at', 'level_raised_at', 'handled_by', 'handled_at', 'note', 'proactive_ticket_id'])
    .expression(db.selectFrom('hotspot_warnings as w').leftJoin('categories as c', 'c.id', 'w.category_id').select([
      'w.id', 'w.city_id', 'w.day', 'w.id as headline_warning_id', 'w.category_id',
      sql<string>`coalesce(c.path, ${dialect === 'mysql' ? sql`concat('/', w.category_id, '/')` : sql`'/' || w.category_id || '/'`})`.as('category_path'),
      'w.territory_id', 'w.territory_path', 'w.level', 'w.status', 'w.version', 'w.raised_at', 'w.level_raised_at', 'w.handled_by', 'w.handled_at', 'w.note', 'w.proactive_ticket_id',
    ]))
    .execute();
  await db.updateTable('hotspot_warnings').set({ incident_id: sql.ref('id') }).execute();
}

export async function down(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const drop = db.schema.dropIndex('hotspot_warnings_incident');
  await (dialect === 'mysql' ? drop.on('hotspot_warnings') : drop).execute();
  await db.schema.alterTable('hotspot_warnings').dropColumn('incident_id').execute();
  await db.schema.dropTable('hotspot_incidents').ifExists().execute();
}
