import type { Kysely } from 'kysely';
import type { DB, SipEndpointsTable } from '../db';

export type SipEndpointRow = SipEndpointsTable;

/** The agents' phone accounts (sip_endpoints). */
export class SipEndpointsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  findByUsername(username: string): Promise<SipEndpointRow | undefined> {
    return this.db.selectFrom('sip_endpoints').selectAll().where('username', '=', username).executeTakeFirst();
  }

  listForCity(cityId: string): Promise<SipEndpointRow[]> {
    return this.db.selectFrom('sip_endpoints').selectAll().where('city_id', '=', cityId).orderBy('username').execute();
  }

  async insert(row: SipEndpointRow): Promise<void> {
    await this.db.insertInto('sip_endpoints').values(row).execute();
  }

  async updateSecret(id: string, patch: { realm: string; ha1: string; user_id: string | null; updated_at: string }): Promise<void> {
    await this.db.updateTable('sip_endpoints').set(patch).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('sip_endpoints').where('id', '=', id).execute();
  }
}
