import { sql, type Kysely } from 'kysely';
import type { CitiesTable, DB, HotlineLinesTable, TerritoriesTable, UnitsTable } from '../db';

export type CityRow = CitiesTable;
export type TerritoryRow = TerritoriesTable;
export type UnitRow = UnitsTable;
export type HotlineLineRow = HotlineLinesTable;

export interface UnitSearch {
  kind?: string;
  /** A substring of the unit's name or code. */
  q?: string;
  /** 1-based; with `pageSize`. Without them every match is returned. */
  page?: number;
  pageSize?: number;
}

/** Cities, territory, handling units and merged hotline lines: the directory's tables. */
export class DirectoryRepository {
  constructor(private readonly db: Kysely<DB>) {}

  // Cities

  listCities() {
    return this.db.selectFrom('cities').selectAll().orderBy('id').execute();
  }

  findCity(id: string) {
    return this.db.selectFrom('cities').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertCity(row: CityRow) {
    await this.db.insertInto('cities').values(row).execute();
  }

  async updateCity(id: string, patch: Partial<CityRow>) {
    await this.db.updateTable('cities').set(patch).where('id', '=', id).execute();
  }

  // Territory

  findTerritory(id: string) {
    return this.db.selectFrom('territories').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findTerritoryPath(id: string) {
    return this.db.selectFrom('territories').select('path').where('id', '=', id).executeTakeFirst();
  }

  findTerritoryByCode(cityId: string, code: string) {
    return this.db.selectFrom('territories').selectAll().where('city_id', '=', cityId).where('code', '=', code).executeTakeFirst();
  }

  listTerritoriesByIds(ids: string[]) {
    if (ids.length === 0) return Promise.resolve([] as TerritoryRow[]);
    return this.db.selectFrom('territories').selectAll().where('id', 'in', ids).execute();
  }

  /** Children of a territory, or the top level (districts) when `parentId` is null. */
  listTerritoryChildren(cityId: string, parentId: string | null, level?: string) {
    let q = this.db.selectFrom('territories').selectAll().where('city_id', '=', cityId);
    q = parentId === null ? q.where('parent_id', 'is', null) : q.where('parent_id', '=', parentId);
    if (level) q = q.where('level', '=', level);
    return q.orderBy('code').orderBy('name').execute();
  }

  listTerritoriesAtLevel(cityId: string, level: string) {
    return this.db.selectFrom('territories').selectAll().where('city_id', '=', cityId).where('level', '=', level).orderBy('code').orderBy('name').execute();
  }

  listCityTerritories(cityId: string) {
    return this.db.selectFrom('territories').selectAll().where('city_id', '=', cityId).orderBy('code').orderBy('name').execute();
  }

  /** Every territory whose path starts with `pathPrefix` (a subtree; ids never hold LIKE wildcards). */
  listTerritoriesUnderPath(cityId: string, pathPrefix: string) {
    return this.db.selectFrom('territories').selectAll().where('city_id', '=', cityId).where('path', 'like', `${pathPrefix}%`).execute();
  }

  async insertTerritory(row: TerritoryRow) {
    await this.db.insertInto('territories').values(row).execute();
  }

  async updateTerritory(id: string, patch: Partial<TerritoryRow>) {
    await this.db.updateTable('territories').set(patch).where('id', '=', id).execute();
  }

  // Handling units

  findUnit(id: string) {
    return this.db.selectFrom('units').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Active units whose SMS or duty phone is this number (a duty phone may serve several units). */
  unitsWithPhone(phone: string) {
    return this.db.selectFrom('units').selectAll().where('active', '=', 1)
      .where((eb) => eb.or([eb('sms_phone', '=', phone), eb('duty_phone', '=', phone)])).orderBy('code').limit(20).execute();
  }

  findUnitByCode(cityId: string, code: string) {
    return this.db.selectFrom('units').selectAll().where('city_id', '=', cityId).where('code', '=', code).executeTakeFirst();
  }

  /** Units of a city by kind and a substring of name or code, ordered by code; with the total count. */
  async searchUnits(cityId: string, s: UnitSearch): Promise<{ rows: UnitRow[]; total: number }> {
    let q = this.db.selectFrom('units').where('city_id', '=', cityId);
    if (s.kind) q = q.where('kind', '=', s.kind);
    if (s.q) {
      // instr() is the same function, argument order and case rule on SQLite and MariaDB
      // (utf8mb4_bin), and needs no LIKE escaping.
      const needle = s.q;
      q = q.where((eb) => eb.or([eb(sql`instr(name, ${needle})`, '>', 0), eb(sql`instr(code, ${needle})`, '>', 0)]));
    }
    const { total } = await q.select((eb) => eb.fn.countAll().as('total')).executeTakeFirstOrThrow();
    let rows = q.selectAll().orderBy('code');
    if (s.page && s.pageSize) rows = rows.limit(s.pageSize).offset((s.page - 1) * s.pageSize);
    return { rows: await rows.execute(), total: Number(total) };
  }

  listCityUnits(cityId: string) {
    return this.db.selectFrom('units').selectAll().where('city_id', '=', cityId).orderBy('code').execute();
  }

  async insertUnit(row: UnitRow) {
    await this.db.insertInto('units').values(row).execute();
  }

  async updateUnit(id: string, patch: Partial<UnitRow>) {
    await this.db.updateTable('units').set(patch).where('id', '=', id).execute();
  }

  // Merged hotline lines

  listHotlineLines(cityId: string) {
    return this.db.selectFrom('hotline_lines').selectAll().where('city_id', '=', cityId).orderBy('number').execute();
  }

  findHotlineLine(cityId: string, number: string) {
    return this.db.selectFrom('hotline_lines').selectAll().where('city_id', '=', cityId).where('number', '=', number).executeTakeFirst();
  }

  async insertHotlineLine(row: HotlineLineRow) {
    await this.db.insertInto('hotline_lines').values(row).execute();
  }

  async updateHotlineLine(id: string, patch: Partial<HotlineLineRow>) {
    await this.db.updateTable('hotline_lines').set(patch).where('id', '=', id).execute();
  }
}
