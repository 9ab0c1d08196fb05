import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * The gazetteer (地名库) of territory resolution (属地识别): roads with house-number ranges,
 * residential compounds, landmarks, villages, QR-coded buildings and aliases, each pointing at the
 * most specific territory it lies in; and optional territory polygons (GeoJSON) with a bounding box
 * for a quick prefilter before point-in-polygon.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);

  await db.schema
    .createTable('gazetteer_entries')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('kind', t.key(16), (c) => c.notNull())
    .addColumn('name', t.key(128), (c) => c.notNull())
    .addColumn('aliases', t.text, (c) => c.notNull())
    .addColumn('territory_id', t.key(64), (c) => c.notNull())
    .addColumn('number_from', t.integer)
    .addColumn('number_to', t.integer)
    .addColumn('parity', t.key(8), (c) => c.notNull().defaultTo('all'))
    .addColumn('lat', t.double)
    .addColumn('lng', t.double)
    .execute();
  await db.schema.createIndex('gazetteer_entries_city_name').on('gazetteer_entries').columns(['city_id', 'name']).execute();
  await db.schema.createIndex('gazetteer_entries_territory').on('gazetteer_entries').column('territory_id').execute();

  await db.schema
    .createTable('territory_polygons')
    .addColumn('territory_id', t.key(64), (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('geojson', t.longText, (c) => c.notNull())
    .addColumn('min_lat', t.double, (c) => c.notNull())
    .addColumn('min_lng', t.double, (c) => c.notNull())
    .addColumn('max_lat', t.double, (c) => c.notNull())
    .addColumn('max_lng', t.double, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('territory_polygons_city').on('territory_polygons').columns(['city_id', 'min_lat', 'max_lat']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('territory_polygons').ifExists().execute();
  await db.schema.dropTable('gazetteer_entries').ifExists().execute();
}
