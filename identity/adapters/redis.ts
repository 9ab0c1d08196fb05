/**
 * Failed-login counters in Redis (several nodes): one hash per key, `<p>:login:<key>` with fields
 * `n` (failures) and `at` (epoch ms of the last), expiring `ttlMs` after the last failure. A Lua
 * script bumps both at once, so two nodes counting at the same moment both count.
 */
import type { Redis } from 'ioredis';
import { connectRedis } from '../../jobs';
import type { LoginAttemptStore } from '../ports';

export interface RedisLoginAttemptOptions {
  redisUrl: string;
  prefix?: string;
  connectTimeoutMs?: number;
  onError?: (err: unknown) => void;
}

const FAIL_SCRIPT = `
for i, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 'at', ARGV[1])
  redis.call('PEXPIRE', key, ARGV[2])
end
return 1
`;

/** Connects (throws at boot when Redis does not answer) and returns the store. */
export async function createRedisLoginAttemptStore(opts: RedisLoginAttemptOptions): Promise<LoginAttemptStore> {
  const redis: Redis = await connectRedis(opts.redisUrl, {
    timeoutMs: opts.connectTimeoutMs ?? 2000,
    who: { en: 'login throttle', zh: '登录限速' },
    hint: 'Check REDIS_URL, or unset it to run on one node.',
    options: { maxRetriesPerRequest: 3 },
  });
  redis.on('error', opts.onError ?? (() => {}));
  const prefix = `${opts.prefix ?? 'hotline'}:login:`;
  return {
    kind: 'redis',
    async read(keys) {
      if (!keys.length) return [];
      const pipe = redis.pipeline();
      for (const k of keys) pipe.hmget(prefix + k, 'n', 'at');
      const results = (await pipe.exec()) ?? [];
      return results.map(([err, v]) => {
        if (err) throw err;
        const [n, at] = v as [string | null, string | null];
        return n === null || at === null ? null : { failures: Number(n), lastFailureAt: Number(at) };
      });
    },
    async fail(keys, at, ttlMs) {
      if (!keys.length) return;
      await redis.eval(FAIL_SCRIPT, keys.length, ...keys.map((k) => prefix + k), String(at), String(Math.max(1, Math.round(ttlMs))));
    },
    async reset(keys) {
      if (keys.length) await redis.del(...keys.map((k) => prefix + k));
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
