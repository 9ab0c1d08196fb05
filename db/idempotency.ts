import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { DB } from './schema';
import { conflict, newId, toDbTime } from '../core';

export interface IdempotentCall {
  /** Whose key space: a user id or API key id, so two clients cannot collide. */
  scope: string;
  key: string | undefined;
  command: string;
  /** What was asked; a key reused for a different request is refused. */
  request: unknown;
}

const hashOf = (v: unknown) => createHash('sha256').update(JSON.stringify(v ?? null)).digest('hex');

/** Deadlocks and lock timeouts: the transaction was rolled back and may simply be run again. */
export function isRetryableTransactionError(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.errno === 1213 || e?.errno === 1205 || e?.code === 'ER_LOCK_DEADLOCK' || e?.code === 'SQLITE_BUSY';
}

/**
 * Runs a transaction, again (up to 8 times, backing off 10 ms … 320 ms with jitter) when the database
 * chose it as a deadlock victim; one that still loses is answered 503 DATABASE_BUSY (app/http-errors).
 */
export async function transactionWithRetry<T>(db: Kysely<DB>, work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (err) {
      if (attempt >= 8 || !isRetryableTransactionError(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.min(320, 5 * 2 ** attempt) * (0.5 + Math.random())));
    }
  }
}

/** The command an idempotency key was used for in a scope, if any (a retry can be told from a first try). */
export async function idempotentCommandOf(db: Kysely<DB>, scope: string, key: string): Promise<string | null> {
  const r = await db.selectFrom('idempotency_records').select('command').where('scope', '=', scope).where('idem_key', '=', key).executeTakeFirst();
  return r?.command ?? null;
}

/**
 * Runs a command in one transaction and, when the client gave an idempotency key, stores its
 * result in the same transaction: a retry with the same key returns the first result and changes
 * nothing; the same key with a different request is refused (409 IDEMPOTENCY_KEY_REUSED).
 */
export async function runInTransaction<T>(
  db: Kysely<DB>,
  call: IdempotentCall | null,
  work: (trx: Transaction<DB>) => Promise<T>,
  now: () => Date = () => new Date(),
): Promise<{ value: T; replayed: boolean }> {
  if (!call?.key) return { value: await transactionWithRetry(db, work), replayed: false };
  const requestHash = hashOf({ c: call.command, r: call.request });
  const findPrevious = async (q: Kysely<DB>) =>
    q.selectFrom('idempotency_records').selectAll().where('scope', '=', call.scope).where('idem_key', '=', call.key!).executeTakeFirst();
  const replay = (prev: NonNullable<Awaited<ReturnType<typeof findPrevious>>>) => {
    if (prev.request_hash !== requestHash || prev.command !== call.command) {
      throw conflict(
        'IDEMPOTENCY_KEY_REUSED',
        'This idempotency key was already used for a different request',
        '该幂等键已用于另一个不同的请求',
        { key: call.key },
      );
    }
    return { value: JSON.parse(prev.response) as T, replayed: true };
  };
  const existing = await findPrevious(db);
  if (existing) return replay(existing);
  try {
    const value = await transactionWithRetry(db, async (trx) => {
      const value = await work(trx);
      await trx
        .insertInto('idempotency_records')
        .values({
          id: newId(),
          scope: call.scope,
          idem_key: call.key!,
          command: call.command,
          request_hash: requestHash,
          response: JSON.stringify(value ?? null),
          created_at: toDbTime(now()),
        })
        .execute();
      return value;
    });
    return { value, replayed: false };
  } catch (err) {
    // A concurrent twin with the same key committed first: its result is the answer. The twin may be
    // the client's own retry overtaking a first try still running (or the first try finishing after
    // the client gave up on it): then this one fails on the key itself, or earlier on what the twin
    // changed (VERSION_CONFLICT, CALLBACK_NOT_OPEN …). Either way the key now has its answer.
    const prev = await findPrevious(db).catch(() => undefined);
    if (prev) return replay(prev);
    throw err;
  }
}
