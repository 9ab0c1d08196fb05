/**
 * Unique and primary-key violations, told apart from every other database error on both drivers.
 *
 * A "check, then insert" in a service cannot close the race between two concurrent requests: the
 * second one passes the check before the first commits, and only the database's unique key stops
 * it. That refusal is a conflict the client can act on (409), not a fault of ours (500).
 */
export interface UniqueViolation {
  /** The constraint or index named by the database, when it says (MariaDB: `users.username` or `username`; SQLite: the columns). */
  key: string | null;
}

/** mysql2: ER_DUP_ENTRY (errno 1062); better-sqlite3: SQLITE_CONSTRAINT_UNIQUE / SQLITE_CONSTRAINT_PRIMARYKEY. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  return e.code === 'ER_DUP_ENTRY' || e.errno === 1062 || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Which key was violated, for logs (never for the client: the text may hold the duplicate value). */
export function uniqueViolationOf(err: unknown): UniqueViolation | null {
  if (!isUniqueViolation(err)) return null;
  const message = String((err as { message?: unknown }).message ?? '');
  const mysql = /for key '([^']+)'/.exec(message);
  const sqlite = /constraint failed: (.+)$/.exec(message);
  return { key: mysql?.[1] ?? sqlite?.[1] ?? null };
}

/**
 * Runs `work`; a unique-key violation from it becomes the error `toError` gives (a service's own
 * 409 code, e.g. USERNAME_TAKEN). Other errors pass through unchanged.
 */
export async function onUniqueViolation<T>(work: () => Promise<T>, toError: () => Error): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isUniqueViolation(err)) throw toError();
    throw err;
  }
}
