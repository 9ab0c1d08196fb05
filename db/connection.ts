import { Kysely, MysqlDialect, SqliteDialect, type LogEvent, type SqliteDatabase } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DB } from './schema';
import type { DialectName } from './dialect';

export interface Database {
  db: Kysely<DB>;
  dialect: DialectName;
  /** A human description without secrets, for /healthz and logs. */
  describe: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  log?: (e: LogEvent) => void;
  /** Pool size for MySQL. */
  poolSize?: number;
}

/**
 * Opens the database named by a URL: `sqlite:./data/hotline.sqlite` (or `file:`, or `:memory:`),
 * or `mysql://user:pass@host:3306/name` (MySQL 8, MariaDB 10.11, TiDB).
 */
export async function openDatabase(url: string, opts: DatabaseOptions = {}): Promise<Database> {
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) {
    const { createPool } = await import('mysql2');
    const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
    const pool = createPool({
      host: u.hostname,
      port: u.port ? Number(u.port) : 3306,
      user: decodeURIComponent(u.username || 'root'),
      password: decodeURIComponent(u.password),
      database: u.pathname.replace(/^\//, ''),
      connectionLimit: opts.poolSize ?? 10,
      // Read timestamps back exactly as SQLite does: UTC strings.
      dateStrings: true,
      timezone: 'Z',
      charset: 'utf8mb4',
      supportBigNumbers: true,
      bigNumberStrings: false,
    });
    pool.on('connection', (conn) => {
      conn.query("SET time_zone = '+00:00'");
    });
    const db = new Kysely<DB>({ dialect: new MysqlDialect({ pool }), log: opts.log });
    return {
      db,
      dialect: 'mysql',
      describe: `mysql://${u.hostname}:${u.port || 3306}/${u.pathname.replace(/^\//, '')}`,
      close: () => db.destroy(),
    };
  }
  const file = url.replace(/^(sqlite|file):(\/\/)?/, '') || ':memory:';
  const { default: SQLite } = await import('better-sqlite3');
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }), log: opts.log });
  return { db, dialect: 'sqlite', describe: `sqlite:${file}`, close: () => db.destroy() };
}

/** A connection to the server of a MySQL URL, without selecting its database (CLI and tests). */
async function serverConnection(url: string) {
  const { createConnection } = await import('mysql2/promise');
  const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
  const conn = await createConnection({
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
  });
  return { conn, name: u.pathname.replace(/^\//, '').replace(/`/g, '') };
}

/** Creates the MySQL database named in the URL if it does not exist. */
export async function ensureMysqlDatabase(url: string): Promise<void> {
  const { conn, name } = await serverConnection(url);
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await conn.end();
  }
}

export async function dropMysqlDatabase(url: string): Promise<void> {
  const { conn, name } = await serverConnection(url);
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await conn.end();
  }
}

/** How many prepared SQLite statements one connection keeps (distinct SQL texts; the oldest unused go first). */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * better-sqlite3 behind kysely prepares every query afresh, and preparing costs more than running
 * a small insert. The product sends the same few hundred SQL texts over and over (kysely compiles
 * to parameterised SQL), so each connection keeps its prepared statements by text, least recently
 * used first out. Safe because kysely runs one query at a time per connection and the product
 * never streams (a statement being iterated could not be reused).
 */
function withStatementCache(sqlite: import('better-sqlite3').Database): SqliteDatabase {
  const cache = new Map<string, import('better-sqlite3').Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) {
        cache.delete(text);
      } else {
        statement = sqlite.prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, statement);
      return statement as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}
