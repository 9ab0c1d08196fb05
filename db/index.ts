/** Storage: kysely over better-sqlite3 (embedded default) or mysql2 (production). */
export { openDatabase, ensureMysqlDatabase, dropMysqlDatabase, type Database, type DatabaseOptions } from './connection';
export { migrateToLatest } from './migrate';
export { columnTypes, insertIgnore, upsert, upsertAdd, likeContains, jsonText, unindexed, newestCommitted, type DialectName } from './dialect';
export type * from './schema';
export type { Kysely, Transaction } from 'kysely';
export { runInTransaction, transactionWithRetry, isRetryableTransactionError, idempotentCommandOf, type IdempotentCall } from './idempotency';
export { isUniqueViolation, uniqueViolationOf, onUniqueViolation, type UniqueViolation } from './unique-violation';
