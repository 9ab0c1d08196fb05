import { randomBytes } from 'node:crypto';
import { assertRedisReachable, deleteRedisKeysUnder, createBullmqJobQueue, createInProcessJobQueue, type JobContext, type JobNames, type JobQueue } from '../jobs';
import { timeIt, fmt, type BenchResult } from './harness';

type BenchJobs = { 'bench.noop': { i: number } };
const jobNames: JobNames<BenchJobs> = { 'bench.noop': true };
const silent = { error() {}, warn() {}, info() {} };

/** The Redis for the BullMQ half: BENCH_REDIS_URL, TEST_REDIS_URL, else the local default. */
const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisAnswers(): Promise<boolean> {
  try {
    await assertRedisReachable(redisUrl, 500);
    return true;
  } catch {
    return false;
  }
}


/** Enqueues n jobs with distinct jobIds (the dedup path), `batch` enqueues in flight at a time. */
async function enqueueAll(q: JobQueue<BenchJobs>, n: number, batch: number) {
  for (let start = 0; start < n; start += batch) {
    const round: Promise<boolean>[] = [];
    for (let i = start; i < Math.min(n, start + batch); i++) round.push(q.enqueue('bench.noop', { i }, { jobId: `bench:${i}` }));
    await Promise.all(round);
  }
}

/**
 * n small jobs, enqueue → handler done, on the in-process runner and on BullMQ (when Redis answers),
 * against calling the same handler function n times directly in the same process. The ratios show
 * what the trigger costs per job; the handler does next to nothing on purpose.
 */
export async function benchJobs(n: number): Promise<BenchResult> {
  let sink = 0;
  let runs = 0;
  const handler = async (data: { i: number }, _ctx: JobContext) => {
    sink += data.i;
    runs++;
  };
  const ctx: JobContext = { jobId: 'direct', attempt: 1, name: 'bench.noop' };

  // Warm-up: JIT for the handler and for each runner.
  for (let i = 0; i < 200; i++) await handler({ i }, ctx);
  const baselineMs = await timeIt(async () => {
    for (let i = 0; i < n; i++) await handler({ i }, ctx);
  });

  const inProcessConcurrency = 10;
  const inProcess = createInProcessJobQueue<BenchJobs>({ jobNames, concurrency: inProcessConcurrency, logger: silent });
  inProcess.register('bench.noop', handler);
  await inProcess.start();
  await enqueueAll(inProcess, 200, 100);
  await inProcess.drain();
  runs = 0;
  const inProcessMs = await timeIt(async () => {
    await enqueueAll(inProcess, n, 100);
    await inProcess.drain();
  });
  await inProcess.stop();
  if (runs !== n) throw new Error(`bench: in-process ran ${runs} of ${n} jobs`);

  const result: BenchResult = {
    name: 'jobs: enqueue → handler done vs direct handler calls',
    jobs: n,
    baselineFnCallsPerSec: fmt((n / baselineMs) * 1000, 0),
    inProcessPerSec: fmt((n / inProcessMs) * 1000, 0),
    inProcessConcurrency,
    // How many times slower than a direct call: heap, timer, JSON copy of the payload, dedup map.
    ratioInProcessToBaseline: fmt(inProcessMs / baselineMs),
  };

  if (await redisAnswers()) {
    const prefix = `hotline-bench-${randomBytes(4).toString('hex')}`;
    const bullmqConcurrency = 50;
    const q = await createBullmqJobQueue<BenchJobs>({ redisUrl, prefix, jobNames, concurrency: bullmqConcurrency, logger: silent });
    try {
      q.register('bench.noop', handler);
      // Enqueue first, then start the worker: the enqueue rate and the run rate are measured apart.
      runs = 0;
      const enqueueMs = await timeIt(() => enqueueAll(q, n, 100));
      const runMs = await timeIt(async () => {
        await q.start();
        await q.drain({ timeoutMs: 120_000 });
      });
      if (runs !== n) throw new Error(`bench: BullMQ ran ${runs} of ${n} jobs`);
      Object.assign(result, {
        bullmqPerSec: fmt((n / (enqueueMs + runMs)) * 1000, 0),
        bullmqEnqueuePerSec: fmt((n / enqueueMs) * 1000, 0),
        bullmqRunPerSec: fmt((n / runMs) * 1000, 0),
        bullmqConcurrency,
        ratioBullmqToInProcess: fmt((enqueueMs + runMs) / inProcessMs),
      });
    } finally {
      await q.stop();
      await deleteRedisKeysUnder(redisUrl, prefix);
    }
  } else {
    result.bullmqSkipped = `Redis at ${redisUrl} does not answer`;
  }
  result.checksum = sink > 0;
  return result;
}
