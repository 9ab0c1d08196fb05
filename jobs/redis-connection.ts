/**
 * One way to open a Redis connection at boot for every part that uses Redis (the job queue, the
 * live feed): connect and ping within a timeout, and fail with the cause (ECONNREFUSED, ENOTFOUND,
 * WRONGPASS) and a hint, so a wrong REDIS_URL stops the start instead of piling work up offline.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** The URL with its password replaced, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export interface ConnectRedisOptions {
  timeoutMs: number;
  /** Who is connecting, for the message: e.g. `jobs` / `任务队列`. */
  who: { en: string; zh: string };
  /** What to do about it, in the message. */
  hint: string;
  options?: RedisOptions;
}

/** A connected, answering client; throws a clear error (and leaves nothing open) when Redis does not answer in time. */
export async function connectRedis(url: string, o: ConnectRedisOptions): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: o.timeoutMs, ...o.options });
  // The 'error' event carries the cause; connect() only says "closed".
  let cause: unknown;
  const firstError = (err: unknown) => (cause ??= err);
  client.on('error', firstError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        await client.ping();
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${o.timeoutMs} ms`)), o.timeoutMs);
      }),
    ]);
  } catch (err) {
    client.disconnect();
    const c = cause ?? err;
    const why = (c instanceof Error ? c.message : String(c)).replace(/\.$/, '');
    throw new Error(`${o.who.en}: Redis at ${redactRedisUrl(url)} is unreachable (${o.who.zh}无法连接 Redis): ${why}. ${o.hint}`);
  } finally {
    clearTimeout(timer);
  }
  client.off('error', firstError);
  return client;
}

/** Deletes every key under `<prefix>:` (a test run's or an environment's queues and feed). */
export async function deleteRedisKeysUnder(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}
