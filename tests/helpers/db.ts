import { randomBytes } from 'node:crypto';
import { openDatabase, migrateToLatest, ensureMysqlDatabase, dropMysqlDatabase, type Database } from '../../db';

/**
 * Which database the suite runs on: SQLite in memory by default, MariaDB/MySQL when
 * TEST_DATABASE=mysql (TEST_MYSQL_URL, default mysql://root@127.0.0.1:3306). Each call gives a fresh,
 * migrated database of its own; `dispose` drops it.
 */
export const testDialect: 'sqlite' | 'mysql' = process.env.TEST_DATABASE === 'mysql' ? 'mysql' : 'sqlite';

export interface TestDatabase extends Database {
  url: string;
  dispose(): Promise<void>;
}

export async function freshDatabase(): Promise<TestDatabase> {
  if (testDialect === 'mysql') {
    const base = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
    const u = new URL(base);
    u.pathname = `/hotline_t_${randomBytes(5).toString('hex')}`;
    const url = u.toString();
    await ensureMysqlDatabase(url);
    const database = await openDatabase(url, { poolSize: 5 });
    await migrateToLatest(database);
    return {
      ...database,
      url,
      dispose: async () => {
        await database.close();
        await dropMysqlDatabase(url);
      },
    };
  }
  const url = 'sqlite::memory:';
  const database = await openDatabase(url);
  await migrateToLatest(database);
  return { ...database, url, dispose: () => database.close() };
}
