/**
 * `workOrders.notifyWithin(trx, notice)`: another part's notice goes into the work-order outbox in the
 * caller's transaction (gone with a rollback), once per dedup key, and the recipient's bell lists it;
 * malformed notices are refused with stable codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { isAppError } from '../../core';

let t: TestApp;
beforeAll(async () => { t = await startTestApp(); });
afterAll(async () => t?.close());

const userId = async (username: string) => (await t.ctx.database.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;
const notice = (recipient: string, dedupKey: string) => ({ cityId: 'demo', event: 'test.notice', recipient: { kind: 'user' as const, id: recipient }, payload: { title: '测试通知' }, dedupKey });
const bell = async (username: string) => {
  const r = await t.app.inject({ method: 'GET', url: '/api/v1/notifications?limit=200', headers: { cookie: await t.login(username) } });
  return (r.json() as { items: { event: string; payload: { title?: string } }[] }).items.filter((n) => n.event === 'test.notice');
};

describe('notifyWithin', () => {
  it('queues once per dedup key, in the caller transaction, and the bell lists it', async () => {
    const me = await userId('supervisor1');
    const { db } = t.ctx.database;
    await db.transaction().execute(async (trx) => {
      await t.ctx.workOrders.notifyWithin(trx, notice(me, 'k1'));
      await t.ctx.workOrders.notifyWithin(trx, notice(me, 'k1'));
    });
    await expect(db.transaction().execute(async (trx) => {
      await t.ctx.workOrders.notifyWithin(trx, notice(me, 'k2'));
      throw new Error('rolled back');
    })).rejects.toThrow('rolled back');
    const mine = await bell('supervisor1');
    expect(mine.map((n) => n.payload.title)).toEqual(['测试通知']);
    expect(await bell('agent1')).toEqual([]);
  });

  it('refuses a malformed notice with a stable code', async () => {
    const me = await userId('supervisor1');
    const codeOf = async (n: Parameters<typeof t.ctx.workOrders.notifyWithin>[1]) => {
      try {
        await t.ctx.database.db.transaction().execute((trx) => t.ctx.workOrders.notifyWithin(trx, n));
        return 'accepted';
      } catch (err) {
        return isAppError(err) ? err.code : String(err);
      }
    };
    expect(await codeOf({ ...notice(me, 'x'), event: 'Not An Event' })).toBe('NOTICE_EVENT_INVALID');
    expect(await codeOf({ ...notice(me, ' ') })).toBe('NOTICE_DEDUP_KEY_REQUIRED');
    expect(await codeOf({ ...notice(me, 'y'), recipient: { kind: 'nobody' as 'user', id: me } })).toBe('NOTICE_RECIPIENT_INVALID');
  });
});
