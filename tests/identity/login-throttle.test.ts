/**
 * Login throttling (登录限速) on both adapters of the failed-login store, with a controlled clock:
 * spraying many usernames from one address is slowed; an attacker failing on agent1 does not stop
 * agent1 logging in from elsewhere; delays grow and are capped; two service instances on Redis share
 * the counters; the HTTP answer is 429 LOGIN_THROTTLED with Retry-After.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, DEMO_PASSWORD, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { TEST_REDIS_URL, deleteKeysUnder, redisSkipReason, uniquePrefix } from '../jobs/redis';
import { FixedClock, isAppError } from '../../core';
import {
  createIdentityService, createLocalLoginAttemptStore, createRedisLoginAttemptStore, DEFAULT_THROTTLE_POLICY, type LoginAttemptStore,
} from '../../identity';

const redisSkip = await redisSkipReason('login throttle (Redis adapter)');
const prefix = uniquePrefix();

let t: TestApp;
const clock = new FixedClock(new Date('2025-10-09T02:00:00Z'));
const stores: LoginAttemptStore[] = [];

beforeAll(async () => {
  t = await startTestApp({ clock });
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await t?.close();
  if (!redisSkip) await deleteKeysUnder(prefix);
});

/** An identity service over the test database with its own store (as one app node would have). */
function serviceWith(attempts: LoginAttemptStore) {
  return createIdentityService({
    db: t.ctx.database.db, clock, attempts,
    territoryPathOf: async () => null, cityOfUnit: async () => null, cityOfTerritory: async () => null,
  });
}

/** 'ok', 'failed' or `throttled <seconds>`. */
async function attempt(svc: ReturnType<typeof serviceWith>, username: string, password: string, address: string): Promise<string> {
  try {
    await svc.login(username, password, { address });
    return 'ok';
  } catch (err) {
    if (!isAppError(err)) throw err;
    if (err.code === 'LOGIN_FAILED') return 'failed';
    if (err.code === 'LOGIN_THROTTLED') return `throttled ${(err.details as { retryAfterSeconds: number }).retryAfterSeconds}`;
    throw err;
  }
}

const ADAPTERS: { name: string; skip: string | null; make: (p: string) => Promise<LoginAttemptStore> }[] = [
  { name: 'in-process', skip: null, make: async () => createLocalLoginAttemptStore() },
  { name: 'redis', skip: redisSkip, make: (p) => createRedisLoginAttemptStore({ redisUrl: TEST_REDIS_URL, prefix: p }) },
];

for (const adapter of ADAPTERS) {
  describe.skipIf(adapter.skip !== null)(`login throttle on the ${adapter.name} store (${testDialect})`, () => {
    let svc: ReturnType<typeof serviceWith>;
    let store: LoginAttemptStore;
    let n = 0;
    /** Addresses of their own per test, and a fresh store prefix per adapter run. */
    const addr = () => `198.51.100.${++n}`;

    beforeAll(async () => {
      store = await adapter.make(`${prefix}-${adapter.name}`);
      stores.push(store);
      svc = serviceWith(store);
    });

    it('the store counts, reads back and forgets', async () => {
      const at = clock.now().getTime();
      await store.fail(['k:a', 'k:b'], at, 60_000);
      await store.fail(['k:a'], at + 5, 60_000);
      expect(await store.read(['k:a', 'k:b', 'k:c'])).toEqual([{ failures: 2, lastFailureAt: at + 5 }, { failures: 1, lastFailureAt: at }, null]);
      await store.reset(['k:a']);
      expect(await store.read(['k:a', 'k:b'])).toEqual([null, { failures: 1, lastFailureAt: at }]);
    });

    it('spraying many usernames from one address is throttled after 30 failures, whatever the username', async () => {
      const sprayer = addr();
      for (let i = 0; i < DEFAULT_THROTTLE_POLICY.address.free; i++) expect(await attempt(svc, `nobody${i}`, 'guess12345', sprayer)).toBe('failed');
      expect(await attempt(svc, 'someone-else', 'guess12345', sprayer)).toBe('throttled 30');
      // Even a right password from that address waits: the address is what is slowed.
      expect(await attempt(svc, 'agent2', DEMO_PASSWORD, sprayer)).toBe('throttled 30');
      // Another address is not touched.
      expect(await attempt(svc, 'agent2', DEMO_PASSWORD, addr())).toBe('ok');
      // After the wait one more try; its failure doubles the delay.
      clock.set(new Date(clock.now().getTime() + 30_000));
      expect(await attempt(svc, 'nobody-again', 'guess12345', sprayer)).toBe('failed');
      expect(await attempt(svc, 'nobody-again', 'guess12345', sprayer)).toBe('throttled 60');
    });

    it('an attacker failing on agent1 from one address does not stop agent1 logging in from another', async () => {
      const attacker = addr();
      for (let i = 0; i < 5; i++) expect(await attempt(svc, 'agent1', 'wrong-guess1', attacker)).toBe('failed');
      expect(await attempt(svc, 'agent1', 'wrong-guess1', attacker)).toBe('throttled 30');
      expect(await attempt(svc, 'agent1', DEMO_PASSWORD, attacker)).toBe('throttled 30');
      expect(await attempt(svc, 'agent1', DEMO_PASSWORD, addr())).toBe('ok');
    });

    it("the delay for one account from one address doubles with each failure and is capped at 15 minutes", async () => {
      const a = addr();
      for (let i = 0; i < 5; i++) await attempt(svc, 'dispatcher1', 'wrong-guess1', a);
      const seen: string[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await attempt(svc, 'dispatcher1', 'wrong-guess1', a);
        seen.push(r);
        if (!r.startsWith('throttled')) break;
        const s = Number(r.split(' ')[1]);
        clock.set(new Date(clock.now().getTime() + s * 1000));
        expect(await attempt(svc, 'dispatcher1', 'wrong-guess1', a)).toBe('failed');
      }
      expect(seen).toEqual(['throttled 30', 'throttled 60', 'throttled 120', 'throttled 240', 'throttled 480', 'throttled 900', 'throttled 900']);
      // A quiet hour forgets the counter; the right password then goes through.
      expect(await attempt(svc, 'dispatcher1', DEMO_PASSWORD, a)).toBe('throttled 900');
      clock.set(new Date(clock.now().getTime() + 60 * 60_000));
      expect(await attempt(svc, 'dispatcher1', DEMO_PASSWORD, a)).toBe('ok');
    });

    it('a burst of parallel guesses on one account from one address is let through one at a time', async () => {
      const a = addr();
      const results = await Promise.all(Array.from({ length: 10 }, () => attempt(svc, 'agent3', 'wrong-guess1', a)));
      expect(results.filter((r) => r === 'failed')).toHaveLength(1);
      expect(results.filter((r) => r === 'throttled 1')).toHaveLength(9);
      expect((await store.read(['pair:agent3|' + a]))[0]?.failures).toBe(1);
    });

    it('guesses on one account spread over many addresses are slowed (at most a minute), not locked', async () => {
      for (let i = 0; i < DEFAULT_THROTTLE_POLICY.account.free; i++) expect(await attempt(svc, 'supervisor1', 'wrong-guess1', addr())).toBe('failed');
      expect(await attempt(svc, 'supervisor1', 'wrong-guess1', addr())).toBe('throttled 1');
      clock.set(new Date(clock.now().getTime() + 1000));
      expect(await attempt(svc, 'supervisor1', DEMO_PASSWORD, addr())).toBe('ok');
    });
  });
}

describe.skipIf(redisSkip !== null)(`two service instances share the counters on Redis (${testDialect})`, () => {
  it('failures counted on one node throttle the same account and address on the other', async () => {
    const p = `${prefix}-shared`;
    const [s1, s2] = [await createRedisLoginAttemptStore({ redisUrl: TEST_REDIS_URL, prefix: p }), await createRedisLoginAttemptStore({ redisUrl: TEST_REDIS_URL, prefix: p })];
    stores.push(s1, s2);
    const [node1, node2] = [serviceWith(s1), serviceWith(s2)];
    const a = '203.0.113.7';
    for (let i = 0; i < 5; i++) expect(await attempt(i % 2 ? node1 : node2, 'agent2', 'wrong-guess1', a)).toBe('failed');
    expect(await attempt(node1, 'agent2', 'wrong-guess1', a)).toBe('throttled 30');
    expect(await attempt(node2, 'agent2', DEMO_PASSWORD, a)).toBe('throttled 30');
    expect(await attempt(node2, 'agent2', DEMO_PASSWORD, '203.0.113.8')).toBe('ok');
  });
});

describe(`the HTTP answer (${testDialect})`, () => {
  it('429 LOGIN_THROTTLED with Retry-After, per source address', async () => {
    const login = (password: string, remoteAddress: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'grid1', password }, remoteAddress });
    for (let i = 0; i < 5; i++) expect((await login('wrong-guess1', '192.0.2.10')).statusCode).toBe(401);
    const res = await login(DEMO_PASSWORD, '192.0.2.10');
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('30');
    expect(res.json()).toMatchObject({ code: 'LOGIN_THROTTLED', message_zh: '登录失败次数过多，请30秒后再试', details: { retryAfterSeconds: 30 } });
    expect((await login(DEMO_PASSWORD, '192.0.2.11')).statusCode).toBe(200);
  });
});
