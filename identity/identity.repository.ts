import type { Kysely } from 'kysely';
import type { DB, UsersTable } from '../db';

export type UserRow = UsersTable;

/** Users, sessions and API keys. */
export class IdentityRepository {
  constructor(private readonly db: Kysely<DB>) {}

  findUserByUsername(username: string) {
    return this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }

  findUserById(id: string) {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertUser(row: UserRow) {
    await this.db.insertInto('users').values(row).execute();
  }

  async updateUser(id: string, patch: Partial<UserRow>) {
    await this.db.updateTable('users').set(patch).where('id', '=', id).execute();
  }

  listUsers(cityId: string) {
    return this.db.selectFrom('users').selectAll().where('city_id', '=', cityId).orderBy('username').execute();
  }

  async insertSession(row: DB['sessions']) {
    await this.db.insertInto('sessions').values(row).execute();
  }

  findSession(id: string) {
    return this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async deleteSession(id: string) {
    await this.db.deleteFrom('sessions').where('id', '=', id).execute();
  }

  async deleteExpiredSessions(nowDb: string) {
    await this.db.deleteFrom('sessions').where('expires_at', '<', nowDb).execute();
  }

  async insertApiKey(row: DB['api_keys']) {
    await this.db.insertInto('api_keys').values(row).execute();
  }

  findApiKeyByHash(keyHash: string) {
    return this.db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).where('revoked_at', 'is', null).executeTakeFirst();
  }
}
