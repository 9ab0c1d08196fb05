import { describe, it, expect, afterAll } from 'vitest';
import pino from 'pino';
import { createJobQueue, type JobNames } from '../../jobs';
import { toBullJobId, fromBullJobId } from '../../jobs/adapters/bullmq';
import { TEST_REDIS_URL, deleteKeysUnder, redisSkipReason, uniquePrefix } from './redis';

type Jobs = { 'job.a': { n: number } };
const jobNames: JobNames<Jobs> = { 'job.a': true };
const logger = pino({ level: 'silent' });

describe('createJobQueue', () => {
  it('runs in-process when no Redis URL is configured', async () => {
    const q = await createJobQueue<Jobs>({ redisUrl: null, jobNames, logger });
    expect(q.kind).toBe('in-process');
    await q.stop();
  });

  it('fails at boot, quickly and clearly, when Redis does not answer', async () => {
    await expect(createJobQueue<Jobs>({ redisUrl: 'redis://127.0.0.1:1', jobNames, logger, connectTimeoutMs: 500 })).rejects.toThrow(
      /Redis at redis:\/\/127\.0\.0\.1:1 is unreachable.*REDIS_URL/,
    );
    await expect(createJobQueue<Jobs>({ redisUrl: 'http://127.0.0.1:6379', jobNames, logger })).rejects.toThrow(/redis:\/\/ or rediss:\/\//);
  });

  it('hides the password when it reports an unreachable Redis', async () => {
    await expect(createJobQueue<Jobs>({ redisUrl: 'redis://:s3cret@127.0.0.1:1', jobNames, logger, connectTimeoutMs: 500 })).rejects.toThrow(
      /^(?!.*s3cret).*unreachable/,
    );
  });

  it('escapes job ids BullMQ would refuse, and reads them back unchanged', () => {
    for (const id of ['sla:01J9:2', '12345', '100%', '%I7', 'plain', '%3A', 'a:b:c:d']) {
      const bull = toBullJobId(id);
      expect(bull.includes(':')).toBe(false);
      expect(`${parseInt(bull, 10)}`).not.toBe(bull);
      expect(fromBullJobId(bull)).toBe(id);
    }
    // A scheduler run id keeps BullMQ's shape and reads back with the scheduler's own id.
    expect(fromBullJobId(`repeat:${toBullJobId('sweep:sla')}:1760000000000`)).toBe('repeat:sweep:sla:1760000000000');
  });
});

const skip = await redisSkipReason('create-job-queue');
const prefix = uniquePrefix();

describe.skipIf(skip !== null)('createJobQueue with Redis', () => {
  afterAll(() => deleteKeysUnder(prefix));

  it('chooses BullMQ when a Redis URL is configured', async () => {
    const q = await createJobQueue<Jobs>({ redisUrl: TEST_REDIS_URL, prefix, jobNames, logger });
    expect(q.kind).toBe('bullmq');
    await q.stop();
  });
});
