import type { Kysely } from 'kysely';
import type { DB, GazetteerEntriesTable, TerritoryPolygonsTable } from '../../db';

export type GazetteerRow = GazetteerEntriesTable;
export type TerritoryPolygonRow = TerritoryPolygonsTable;

/** Rows per multi-row insert: well under SQLite's and MySQL's placeholder limits. */
const BATCH = 500;

/** The gazetteer and territory outlines of each city: territory resolution's own tables. */
export class GazetteerRepository {
  constructor(private readonly db: Kysely<DB>) {}

  listEntries(cityId: string): Promise<GazetteerRow[]> {
    return this.db.selectFrom('gazetteer_entries').selectAll().where('city_id', '=', cityId).orderBy('id').execute();
  }

  listPolygons(cityId: string): Promise<TerritoryPolygonRow[]> {
    return this.db.selectFrom('territory_polygons').selectAll().where('city_id', '=', cityId).orderBy('territory_id').execute();
  }

  async insertEntries(rows: GazetteerRow[]) {
    for (let i = 0; i < rows.length; i += BATCH) await this.db.insertInto('gazetteer_entries').values(rows.slice(i, i + BATCH)).execute();
  }

  async updateEntry(id: string, patch: Partial<GazetteerRow>) {
    await this.db.updateTable('gazetteer_entries').set(patch).where('id', '=', id).execute();
  }

  async deleteEntries(ids: string[]) {
    for (let i = 0; i < ids.length; i += BATCH) await this.db.deleteFrom('gazetteer_entries').where('id', 'in', ids.slice(i, i + BATCH)).execute();
  }

  async insertPolygons(rows: TerritoryPolygonRow[]) {
    for (let i = 0; i < rows.length; i += BATCH) await this.db.insertInto('territory_polygons').values(rows.slice(i, i + BATCH)).execute();
  }

  async updatePolygon(territoryId: string, patch: Partial<TerritoryPolygonRow>) {
    await this.db.updateTable('territory_polygons').set(patch).where('territory_id', '=', territoryId).execute();
  }

  async deletePolygons(territoryIds: string[]) {
    for (let i = 0; i < territoryIds.length; i += BATCH) await this.db.deleteFrom('territory_polygons').where('territory_id', 'in', territoryIds.slice(i, i + BATCH)).execute();
  }
}
