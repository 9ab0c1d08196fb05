import type { Kysely } from 'kysely';
import type { DB, UsersTable } from '../db';

export type UserRow = UsersTable;
export type ApiKeyRow = DB['api_keys'];

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

  async deleteSessionsOfUser(userId: string) {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  listSessionsOfUser(userId: string, nowDb: string) {
    return this.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).where('expires_at', '>', nowDb).orderBy('created_at', 'desc').execute();
  }

  async deleteSessions(ids: string[]) {
    if (ids.length) await this.db.deleteFrom('sessions').where('id', 'in', ids).execute();
  }

  async deleteExpiredSessions(nowDb: string) {
    await this.db.deleteFrom('sessions').where('expires_at', '<', nowDb).execute();
  }

  async insertApiKey(row: ApiKeyRow) {
    await this.db.insertInto('api_keys').values(row).execute();
  }

  /** Revoked ones too: the caller tells a revoked key from an unknown one only in logs. */
  findApiKeyByHash(keyHash: string) {
    return this.db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
  }

  findApiKey(cityId: string, id: string) {
    return this.db.selectFrom('api_keys').selectAll().where('city_id', '=', cityId).where('id', '=', id).executeTakeFirst();
  }

  listApiKeys(cityId: string) {
    return this.db.selectFrom('api_keys').selectAll().where('city_id', '=', cityId).orderBy('created_at', 'desc').orderBy('id').execute();
  }

  async revokeApiKey(id: string, atDb: string) {
    await this.db.updateTable('api_keys').set({ revoked_at: atDb }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  }

  /** Records a use unless one was recorded since `notBeforeDb` (another node may have just written it). */
  async touchApiKey(id: string, atDb: string, notBeforeDb: string) {
    await this.db
      .updateTable('api_keys')
      .set({ last_used_at: atDb })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', notBeforeDb)]))
      .execute();
  }
}
