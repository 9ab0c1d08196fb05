import { sql, type Kysely, type RawBuilder } from 'kysely';

/** The two SQL dialects the product runs on. Everything that differs between them lives here. */
export type DialectName = 'sqlite' | 'mysql';

/** Column types for migrations. */
export function columnTypes(dialect: DialectName) {
  return {
    id: sql`varchar(26)`,
    key: (n = 64) => sql.raw(`varchar(${n})`),
    text: sql`text`,
    longText: dialect === 'mysql' ? sql`mediumtext` : sql`text`,
    timestamp: dialect === 'mysql' ? sql`datetime(3)` : sql`text`,
    integer: sql`integer`,
    double: dialect === 'mysql' ? sql`double` : sql`real`,
  };
}

/**
 * Insert a row, or do nothing when its unique key already exists. Returns whether a row was inserted.
 */
export async function insertIgnore<DB, T extends keyof DB & string>(
  db: Kysely<DB>,
  dialect: DialectName,
  table: T,
  row: Record<string, unknown>,
): Promise<boolean> {
  const q = db.insertInto(table).values(row as never);
  const r =
    dialect === 'mysql'
      ? await q.ignore().executeTakeFirst()
      : await q.onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Upsert on the table's unique key: insert, or update the given columns. */
export async function upsert<DB, T extends keyof DB & string>(
  db: Kysely<DB>,
  dialect: DialectName,
  table: T,
  row: Record<string, unknown>,
  conflictColumns: string[],
  updateColumns: string[],
): Promise<void> {
  const set = Object.fromEntries(updateColumns.map((c) => [c, row[c]]));
  const q = db.insertInto(table).values(row as never);
  if (dialect === 'mysql') await q.onDuplicateKeyUpdate(set as never).execute();
  else await q.onConflict((oc) => oc.columns(conflictColumns as never).doUpdateSet(set as never)).execute();
}

/**
 * A read that sees the newest committed row, not the transaction's snapshot. On MySQL/MariaDB
 * (REPEATABLE READ) a plain SELECT after `insertIgnore` lost a race does not see the winner's row,
 * because the snapshot was taken at the transaction's first read; a locking read does. SQLite runs
 * one writer at a time, so its plain read is already the newest.
 */
export function newestCommitted<Q extends { forUpdate(): Q }>(query: Q, dialect: DialectName): Q {
  return dialect === 'mysql' ? query.forUpdate() : query;
}

/** Case-sensitive substring match that works on both (LIKE with escaped pattern). */
export function likeContains(value: string): string {
  return `%${value.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
}

/** A text expression for a JSON field stored as text (MariaDB has no ->>). */
export function jsonText(dialect: DialectName, column: string, path: string): RawBuilder<string | null> {
  return dialect === 'mysql'
    ? sql<string | null>`json_unquote(json_extract(${sql.ref(column)}, ${path}))`
    : sql<string | null>`json_extract(${sql.ref(column)}, ${path})`;
}

/**
 * A column as an expression no index can serve. For `WHERE id IN (…) AND status = 'pending'`
 * SQLite (without statistics) searches the status index, i.e. every pending row, instead of the
 * primary key: wrapping the status makes it pick the key. Same meaning on both dialects.
 */
export function unindexed(column: string) {
  return sql<string>`coalesce(${sql.ref(column)}, '')`;
}

/**
 * Adds rows to counters in one statement: inserts each row, or, where its unique key exists, adds
 * the row's `addColumns` to the stored ones (SQLite `excluded.n`, MariaDB/MySQL `VALUES(n)`).
 * Safe under concurrency on both: the statement itself locks the row it adds to.
 */
export async function upsertAdd<DB, T extends keyof DB & string>(
  db: Kysely<DB>,
  dialect: DialectName,
  table: T,
  rows: Record<string, unknown>[],
  conflictColumns: string[],
  addColumns: string[],
): Promise<void> {
  if (!rows.length) return;
  const q = db.insertInto(table).values(rows as never);
  const set = Object.fromEntries(addColumns.map((c) => [c, dialect === 'mysql' ? sql`${sql.ref(c)} + values(${sql.ref(c)})` : sql`${sql.ref(c)} + excluded.${sql.ref(c)}`]));
  if (dialect === 'mysql') await q.onDuplicateKeyUpdate(set as never).execute();
  else await q.onConflict((oc) => oc.columns(conflictColumns as never).doUpdateSet(set as never)).execute();
}
