import type { Kysely } from 'kysely';
import type { DB, ResponsibilityItemsTable, ResponsibilityVersionsTable } from '../../db';

export type VersionRow = ResponsibilityVersionsTable;
export type ItemRow = ResponsibilityItemsTable;

/** Rows per multi-row insert: well under SQLite's 32,766 bound parameters (15 columns each). */
const INSERT_CHUNK = 500;

/** The versions of the responsibility list (责任清单) and their items. */
export class ResponsibilityRepository {
  constructor(private readonly db: Kysely<DB>) {}

  findVersion(id: string) {
    return this.db.selectFrom('responsibility_versions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listVersions(cityId: string) {
    return this.db.selectFrom('responsibility_versions').selectAll().where('city_id', '=', cityId).orderBy('number', 'desc').execute();
  }

  /** Approved versions of the city, with their effective dates: the timeline of the list. */
  listApproved(cityId: string) {
    return this.db
      .selectFrom('responsibility_versions')
      .select(['id', 'number', 'status', 'effective_from'])
      .where('city_id', '=', cityId)
      .where('status', '=', 'approved')
      .execute();
  }

  async nextNumber(cityId: string): Promise<number> {
    const row = await this.db
      .selectFrom('responsibility_versions')
      .select((eb) => eb.fn.max('number').as('n'))
      .where('city_id', '=', cityId)
      .executeTakeFirst();
    return Number(row?.n ?? 0) + 1;
  }

  async insertVersion(row: VersionRow) {
    await this.db.insertInto('responsibility_versions').values(row).execute();
  }

  /** Changes a version only if it still has the status it was read with; false when someone else did first. */
  async updateVersionIfStatus(id: string, status: string, patch: Partial<VersionRow>): Promise<boolean> {
    const r = await this.db.updateTable('responsibility_versions').set(patch).where('id', '=', id).where('status', '=', status).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async insertItems(rows: ItemRow[]) {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await this.db.insertInto('responsibility_items').values(rows.slice(i, i + INSERT_CHUNK)).execute();
    }
  }

  listItems(versionId: string) {
    return this.db.selectFrom('responsibility_items').selectAll().where('version_id', '=', versionId).orderBy('seq').execute();
  }

  async pageItems(versionId: string, page: number, pageSize: number, categoryCode?: string) {
    let q = this.db.selectFrom('responsibility_items').where('version_id', '=', versionId);
    if (categoryCode) q = q.where('category_code', '=', categoryCode);
    const { total } = await q.select((eb) => eb.fn.countAll().as('total')).executeTakeFirstOrThrow();
    const rows = await q
      .selectAll()
      .orderBy('seq')
      .limit(pageSize)
      .offset((page - 1) * pageSize)
      .execute();
    return { rows, total: Number(total) };
  }
}
