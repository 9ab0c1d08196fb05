import { describe, it, expect, afterAll } from 'vitest';
import { createBullmqJobQueue, type JobNames, type JobQueue } from '../../jobs';
import { TEST_REDIS_URL, deleteKeysUnder, eventually, quietLogger, redisSkipReason, uniquePrefix } from './redis';

/**
 * Two app nodes on one Redis (docker-compose runs two behind nginx): each job runs exactly once in
 * total, whichever node enqueued it and whichever picked it up.
 */
type Jobs = { 'callback.due': { ticketId: string } };
const jobNames: JobNames<Jobs> = { 'callback.due': true };

const skip = await redisSkipReason('two-workers');
const prefix = uniquePrefix();

describe.skipIf(skip !== null)('BullMQ: two app nodes on one Redis', () => {
  afterAll(() => deleteKeysUnder(prefix));

  async function twoNodes(queueName: string) {
    const runs = new Map<string, number>();
    const ranOn = { a: 0, b: 0 };
    const node = async (label: 'a' | 'b') => {
      const q = await createBullmqJobQueue<Jobs>({ redisUrl: TEST_REDIS_URL, prefix, queueName, jobNames, logger: quietLogger, concurrency: 5 });
      q.register('callback.due', async (_data, { jobId }) => {
        runs.set(jobId, (runs.get(jobId) ?? 0) + 1);
        ranOn[label]++;
        // A little work, so both nodes have a chance to pick jobs up.
        await new Promise((r) => setImmediate(r));
      });
      return q;
    };
    const nodes: [JobQueue<Jobs>, JobQueue<Jobs>] = [await node('a'), await node('b')];
    return { nodes, runs, ranOn };
  }

  it('runs 200 jobs with distinct ids exactly once in total', async () => {
    const { nodes: [a, b], runs, ranOn } = await twoNodes('two-nodes-200');
    try {
      await Promise.all([a.start(), b.start()]);
      const enqueued = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).enqueue('callback.due', { ticketId: `T${i}` }, { jobId: `revisit:T${i}` })),
      );
      expect(enqueued.every(Boolean)).toBe(true);
      await eventually(() => runs.size === 200, '200 distinct jobs to run');
      await Promise.all([a.drain(), b.drain()]);
      expect([...runs.values()].every((n) => n === 1)).toBe(true);
      expect(ranOn.a + ranOn.b).toBe(200);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('an enqueue of the same jobId from both nodes runs once', async () => {
    const { nodes: [a, b], runs } = await twoNodes('two-nodes-same-id');
    try {
      await Promise.all([a.start(), b.start()]);
      // Both nodes see the same deadline at once (e.g. both re-enqueue from the database on start).
      // Delayed, so the job is surely still pending when the second enqueue arrives.
      const results = await Promise.all([
        a.enqueue('callback.due', { ticketId: 'T1' }, { jobId: 'deadline:T1', delayMs: 150 }),
        b.enqueue('callback.due', { ticketId: 'T1' }, { jobId: 'deadline:T1', delayMs: 150 }),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      await eventually(() => runs.size === 1, 'the job to run');
      await new Promise((r) => setTimeout(r, 200));
      await Promise.all([a.drain(), b.drain()]);
      expect(runs.get('deadline:T1')).toBe(1);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
