/**
 * The one test of "is this a duplicate?" that the error handler and the services rely on, against
 * the real driver of each database: a primary key and a unique key are duplicates; a NOT NULL or a
 * foreign-key-free bad value is not (it must stay a 500, logged, not be passed off as a conflict).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation, onUniqueViolation, uniqueViolationOf } from '../../db';
import { conflict } from '../../core';
import { freshDatabase, testDialect, type TestDatabase } from '../helpers/db';

let d: TestDatabase;
beforeAll(async () => {
  d = await freshDatabase();
  await d.db.insertInto('sequences').values({ name: 'seq-a', value: 1 }).execute();
  await d.db.insertInto('idempotency_records').values({ id: 'I1', scope: 's', idem_key: 'k', command: 'c', request_hash: 'h', response: 'null', created_at: '2025-10-09 02:00:00.000' }).execute();
});
afterAll(async () => d?.dispose());

const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the statement to fail'); }, (err: unknown) => err);

describe(`unique violations on ${testDialect}`, () => {
  it('a duplicate primary key is one', async () => {
    const err = await failure(d.db.insertInto('sequences').values({ name: 'seq-a', value: 2 }).execute());
    expect(isUniqueViolation(err)).toBe(true);
    expect(uniqueViolationOf(err)?.key).toBeTruthy();
  });

  it('a duplicate of a unique key (not the primary key) is one', async () => {
    const err = await failure(d.db.insertInto('idempotency_records').values({ id: 'I2', scope: 's', idem_key: 'k', command: 'c', request_hash: 'h', response: 'null', created_at: '2025-10-09 02:00:00.000' }).execute());
    expect(isUniqueViolation(err)).toBe(true);
  });

  it('a NOT NULL violation, a syntax error and a plain Error are not', async () => {
    const notNull = d.db.insertInto('idempotency_records').values({ id: 'I3', scope: 's', idem_key: 'k3', command: null as never, request_hash: 'h', response: 'null', created_at: '2025-10-09 02:00:00.000' }).execute();
    expect(isUniqueViolation(await failure(notNull))).toBe(false);
    expect(isUniqueViolation(await failure(d.db.selectFrom('no_such_table' as never).selectAll().execute()))).toBe(false);
    expect(isUniqueViolation(new Error('UNIQUE constraint failed: users.username'))).toBe(false);
    expect(isUniqueViolation(null)).toBe(false);
  });

  it("onUniqueViolation turns only a duplicate into the service's own error", async () => {
    const taken = () => conflict('NAME_TAKEN', 'taken', '已存在');
    await expect(onUniqueViolation(() => d.db.insertInto('sequences').values({ name: 'seq-a', value: 3 }).execute(), taken)).rejects.toMatchObject({ code: 'NAME_TAKEN', status: 409 });
    await expect(onUniqueViolation(() => d.db.insertInto('sequences').values({ name: 'seq-b', value: 3 }).execute(), taken)).resolves.toBeDefined();
    await expect(onUniqueViolation(() => Promise.reject(new Error('boom')), taken)).rejects.toThrow('boom');
  });
});
