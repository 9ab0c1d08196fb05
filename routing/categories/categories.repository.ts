import type { Kysely } from 'kysely';
import type { CategoriesTable, DB } from '../../db';

export type CategoryRow = CategoriesTable;

/** The city's 4-level category system (城市治理问题4级分类体系): the routing part's table. */
export class CategoriesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  listCityCategories(cityId: string, includeInactive = true) {
    let q = this.db.selectFrom('categories').selectAll().where('city_id', '=', cityId);
    if (!includeInactive) q = q.where('active', '=', 1);
    return q.orderBy('code').execute();
  }

  findCategory(id: string) {
    return this.db.selectFrom('categories').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertCategory(row: CategoryRow) {
    await this.db.insertInto('categories').values(row).execute();
  }

  async updateCategory(id: string, patch: Partial<CategoryRow>) {
    await this.db.updateTable('categories').set(patch).where('id', '=', id).execute();
  }
}
