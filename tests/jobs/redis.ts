import { randomBytes } from 'node:crypto';
import { assertRedisReachable, deleteRedisKeysUnder, type JobLogger } from '../../jobs';

/** The Redis the BullMQ tests use: TEST_REDIS_URL, else the local default. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** null when Redis answers; otherwise why the BullMQ tests are skipped (printed once per file). */
export async function redisSkipReason(file: string): Promise<string | null> {
  try {
    await assertRedisReachable(TEST_REDIS_URL, 500);
    return null;
  } catch (err) {
    const reason = `${file}: BullMQ tests skipped: ${(err as Error).message}`;
    console.warn(reason);
    return reason;
  }
}

/** A key prefix of its own for each test run, so runs on one Redis never meet. */
export function uniquePrefix(): string {
  return `hotline-test-${randomBytes(5).toString('hex')}`;
}

/** Deletes every key under a prefix (the equivalent of obliterating each queue the run made). */
export const deleteKeysUnder = (prefix: string): Promise<void> => deleteRedisKeysUnder(TEST_REDIS_URL, prefix);

export const quietLogger: JobLogger = { error() {}, warn() {}, info() {} };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls (real time) until `pred` holds; fails with `what` after `timeoutMs`. */
export async function eventually(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
