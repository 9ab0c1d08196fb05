import type { Kysely } from 'kysely';
import type { DB, TimeLimitPoliciesTable } from '../db';

export type PolicyRow = TimeLimitPoliciesTable;

/** The city's time-limit policies (办理时限规则): the work-order part's table. */
export class TimeLimitPoliciesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  listCityPolicies(cityId: string) {
    return this.db.selectFrom('time_limit_policies').selectAll().where('city_id', '=', cityId).orderBy('priority', 'desc').orderBy('code').execute();
  }

  async insertPolicy(row: PolicyRow) {
    await this.db.insertInto('time_limit_policies').values(row).execute();
  }

  async updatePolicy(id: string, patch: Partial<PolicyRow>) {
    await this.db.updateTable('time_limit_policies').set(patch).where('id', '=', id).execute();
  }

  async deletePolicy(id: string) {
    await this.db.deleteFrom('time_limit_policies').where('id', '=', id).execute();
  }
}
