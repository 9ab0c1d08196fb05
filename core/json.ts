/**
 * A JSON column as read back: SQLite (and MariaDB's JSON, a longtext) give a string, MySQL 8 may give
 * the parsed value. Unreadable text gives the fallback.
 */
export function parseJsonColumn<T>(v: unknown, fallback: T): T {
  if (v === null || v === undefined) return fallback;
  if (typeof v !== 'string') return v as T;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
}
