import { describe, it, expect, afterEach, afterAll } from 'vitest';
import { FixedClock } from '../../core';
import {
  createInProcessJobQueue, createBullmqJobQueue, type InProcessJobQueue, type JobQueue, type JobNames, type JobFailure, type JobHandler,
  type JobContext,
} from '../../jobs';
import { TEST_REDIS_URL, deleteKeysUnder, eventually, quietLogger, redisSkipReason, sleep, uniquePrefix } from './redis';

/**
 * One contract, two adapters: every behaviour the product relies on is checked on the in-process
 * runner (fake clock, deterministic) and on BullMQ (real Redis, real time). Timings are kept short;
 * nothing here asserts speed, only order and "not before".
 */
type Jobs = {
  'job.a': { n: number; label?: string };
  'job.b': { n: number };
  'sweep.tick': Record<string, never>;
};
const jobNames: JobNames<Jobs> = { 'job.a': true, 'job.b': true, 'sweep.tick': true };

interface MakeOptions {
  concurrency?: number;
  onFailed?: (f: JobFailure) => void;
}

interface Harness {
  name: string;
  /** In-process time is a fake clock: "not yet" can be asserted exactly. */
  deterministic: boolean;
  make(opts?: MakeOptions): Promise<JobQueue<Jobs>>;
  now(): number;
  /** Lets `ms` of queue time pass, then waits until nothing due is left. */
  advance(q: JobQueue<Jobs>, ms: number): Promise<void>;
  /** Lets queue time pass until `pred` holds. */
  until(q: JobQueue<Jobs>, pred: () => boolean, what: string): Promise<void>;
  cleanup(): Promise<void>;
}

function inProcessHarness(): Harness {
  let clock = new FixedClock(new Date('2025-10-09T01:00:00Z'));
  const made: JobQueue<Jobs>[] = [];
  const step = async (q: JobQueue<Jobs>, ms: number) => {
    clock.set(new Date(clock.now().getTime() + ms));
    await (q as InProcessJobQueue<Jobs>).runDue();
  };
  return {
    name: 'in-process',
    deterministic: true,
    async make(opts = {}) {
      clock = new FixedClock(new Date('2025-10-09T01:00:00Z'));
      const q = createInProcessJobQueue<Jobs>({ jobNames, clock, logger: quietLogger, concurrency: opts.concurrency, onFailed: opts.onFailed });
      made.push(q);
      return q;
    },
    now: () => clock.now().getTime(),
    async advance(q, ms) {
      for (let left = ms; left > 0; left -= 5) await step(q, Math.min(5, left));
    },
    async until(q, pred, what) {
      for (let waited = 0; !pred(); waited += 5) {
        if (waited > 60_000) throw new Error(`timed out (fake time) waiting for ${what}`);
        await step(q, 5);
      }
    },
    async cleanup() {
      await Promise.all(made.splice(0).map((q) => q.stop()));
    },
  };
}

function bullmqHarness(prefix: string): Harness {
  const made: JobQueue<Jobs>[] = [];
  let n = 0;
  return {
    name: 'bullmq',
    deterministic: false,
    async make(opts = {}) {
      // A queue of its own per test: nothing left over from one test reaches the next.
      const q = await createBullmqJobQueue<Jobs>({
        redisUrl: TEST_REDIS_URL, prefix, queueName: `contract${++n}`, jobNames, logger: quietLogger,
        concurrency: opts.concurrency, onFailed: opts.onFailed, connectTimeoutMs: 1000,
      });
      made.push(q);
      return q;
    },
    now: () => Date.now(),
    async advance(q, ms) {
      await sleep(ms);
      await q.drain({ timeoutMs: 5000 });
    },
    async until(_q, pred, what) {
      await eventually(pred, what);
    },
    async cleanup() {
      await Promise.all(made.splice(0).map((q) => q.stop()));
    },
  };
}

interface Call {
  name: string;
  data: unknown;
  ctx: JobContext;
  at: number;
}

function contract(h: Harness) {
  /** Registers a recording handler for every job (or the given ones) and starts. */
  async function started(q: JobQueue<Jobs>, calls: Call[], overrides: Partial<{ [K in keyof Jobs]: JobHandler<Jobs[K]> }> = {}) {
    for (const name of Object.keys(jobNames) as (keyof Jobs)[]) {
      const custom = overrides[name] as JobHandler<unknown> | undefined;
      q.register(name, async (data: any, ctx) => {
        calls.push({ name, data, ctx, at: h.now() });
        if (custom) await custom(data, ctx);
      });
    }
    await q.start();
    return q;
  }

  afterEach(() => h.cleanup());

  it('runs the handler with its data, job id and attempt', async () => {
    const calls: Call[] = [];
    const q = await started(await h.make(), calls);
    expect(await q.enqueue('job.a', { n: 1, label: '白龙南路漏水' }, { jobId: 'sla:01JTICKET:1' })).toBe(true);
    // Ids BullMQ itself refuses (integers) are ours to use too.
    expect(await q.enqueue('job.b', { n: 2 }, { jobId: '12345' })).toBe(true);
    expect(await q.enqueue('job.b', { n: 3 })).toBe(true);
    await q.drain();
    const byN = (n: number) => calls.find((c) => (c.data as { n: number }).n === n)!;
    expect(byN(1)).toMatchObject({ name: 'job.a', data: { n: 1, label: '白龙南路漏水' }, ctx: { jobId: 'sla:01JTICKET:1', attempt: 1, name: 'job.a' } });
    expect(byN(2).ctx).toMatchObject({ jobId: '12345', attempt: 1 });
    expect(byN(3).ctx.jobId).toEqual(expect.any(String));
    expect(calls).toHaveLength(3);
  });

  it('dedups a pending jobId; once the job is done the id is free again', async () => {
    const calls: Call[] = [];
    const q = await started(await h.make(), calls);
    expect(await q.enqueue('job.a', { n: 1 }, { jobId: 'remind:7', delayMs: 100 })).toBe(true);
    expect(await q.enqueue('job.a', { n: 2 }, { jobId: 'remind:7', delayMs: 100 })).toBe(false);
    expect(await q.enqueue('job.a', { n: 3 }, { jobId: 'remind:7' })).toBe(false);
    await h.until(q, () => calls.length >= 1, 'the delayed job');
    await h.advance(q, 150);
    expect(calls.map((c) => c.data)).toEqual([{ n: 1 }]);

    expect(await q.enqueue('job.a', { n: 4 }, { jobId: 'remind:7' })).toBe(true);
    await h.until(q, () => calls.length >= 2, 'the re-enqueued job');
    expect(calls.map((c) => c.data)).toEqual([{ n: 1 }, { n: 4 }]);
  });

  it('runs a delayed job (delayMs or runAt) not before its time', async () => {
    const calls: Call[] = [];
    const q = await started(await h.make(), calls);
    const t0 = h.now();
    await q.enqueue('job.a', { n: 1 }, { jobId: 'delayed:1', delayMs: 300 });
    await q.enqueue('job.b', { n: 2 }, { jobId: 'delayed:2', runAt: new Date(t0 + 200) });
    await q.drain();
    expect(calls).toHaveLength(0);
    if (h.deterministic) {
      await h.advance(q, 199);
      expect(calls).toHaveLength(0);
      await h.advance(q, 1);
      expect(calls.map((c) => c.name)).toEqual(['job.b']);
      await h.advance(q, 99);
      expect(calls).toHaveLength(1);
    }
    await h.until(q, () => calls.length === 2, 'both delayed jobs');
    const a = calls.find((c) => c.name === 'job.a')!;
    const b = calls.find((c) => c.name === 'job.b')!;
    expect(a.at).toBeGreaterThanOrEqual(t0 + 300);
    expect(b.at).toBeGreaterThanOrEqual(t0 + 200);
    expect(b.at).toBeLessThanOrEqual(a.at);
  });

  it('retries a failing handler with exponential backoff, then succeeds', async () => {
    const calls: Call[] = [];
    const failures: JobFailure[] = [];
    const q = await started(await h.make({ onFailed: (f) => failures.push(f) }), calls, {
      'job.a': async (_d, ctx) => {
        if (ctx.attempt < 3) throw new Error(`gateway busy (attempt ${ctx.attempt})`);
      },
    });
    await q.enqueue('job.a', { n: 1 }, { jobId: 'sms:42', attempts: 3, backoffMs: 20 });
    await h.until(q, () => calls.length === 3, 'the third attempt');
    await h.advance(q, 100);
    expect(calls.map((c) => c.ctx.attempt)).toEqual([1, 2, 3]);
    expect(calls.every((c) => c.ctx.jobId === 'sms:42')).toBe(true);
    // Backoff 20 ms, then 40 ms: never earlier.
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(20);
    expect(calls[2].at - calls[1].at).toBeGreaterThanOrEqual(40);
    expect(failures).toHaveLength(0);
  });

  it('reports a job whose attempts are exhausted to onFailed exactly once', async () => {
    const calls: Call[] = [];
    const failures: JobFailure[] = [];
    const q = await started(await h.make({ onFailed: (f) => failures.push(f) }), calls, {
      'job.b': async () => {
        throw new Error('SMSC refused the message');
      },
    });
    await q.enqueue('job.b', { n: 9 }, { jobId: 'sms:refused', attempts: 2, backoffMs: 10 });
    await h.until(q, () => failures.length >= 1, 'the failure report');
    await h.advance(q, 100);
    expect(calls.map((c) => c.ctx.attempt)).toEqual([1, 2]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ name: 'job.b', jobId: 'sms:refused', data: { n: 9 }, attempt: 2 });
    expect((failures[0].error as Error).message).toBe('SMSC refused the message');
    // Failed for good frees the id: the part can enqueue it again after fixing the cause.
    expect(await q.enqueue('job.b', { n: 10 }, { jobId: 'sms:refused', attempts: 1 })).toBe(true);
    await h.until(q, () => failures.length >= 2, 'the second failure report');
  });

  it('cancels a pending job; unknown ids and running jobs are not cancelled', async () => {
    const calls: Call[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = await started(await h.make(), calls, {
      'job.b': () => gate,
    });
    await q.enqueue('job.a', { n: 1 }, { jobId: 'deadline:1', delayMs: 200 });
    await q.enqueue('job.a', { n: 2 }, { jobId: 'deadline:2', delayMs: 200 });
    expect(await q.cancel('deadline:1')).toBe(true);
    expect(await q.cancel('deadline:1')).toBe(false);
    expect(await q.cancel('no-such-job')).toBe(false);

    await q.enqueue('job.b', { n: 3 }, { jobId: 'running:1' });
    await eventually(() => calls.some((c) => c.name === 'job.b'), 'the gated job to start');
    expect(await q.cancel('running:1')).toBe(false);
    release();

    await h.until(q, () => calls.some((c) => (c.data as { n: number }).n === 2), 'the job that was not cancelled');
    await h.advance(q, 50);
    expect(calls.map((c) => (c.data as { n: number }).n).sort()).toEqual([2, 3]);
    // A cancelled id is free again.
    expect(await q.enqueue('job.a', { n: 4 }, { jobId: 'deadline:1' })).toBe(true);
  });

  it('refuses to start when a declared job has no handler', async () => {
    const q = await h.make();
    q.register('job.a', () => {});
    expect(() => q.register('job.a', () => {})).toThrow(/already has a handler/);
    expect(() => q.register('job.nope' as keyof Jobs, () => {})).toThrow(/not a declared job/);
    await expect(q.start()).rejects.toThrow(/no handler registered for "job\.b", "sweep\.tick"/);
    await expect(q.enqueue('job.nope' as 'job.a', { n: 1 })).rejects.toThrow(/not a declared job/);
  });

  it('stop() waits for a running handler to finish', async () => {
    const calls: Call[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let finished = false;
    const q = await started(await h.make(), calls, {
      'job.a': async () => {
        await gate;
        finished = true;
      },
    });
    await q.enqueue('job.a', { n: 1 }, { jobId: 'long:1' });
    await eventually(() => calls.length === 1, 'the handler to start');
    let stopped = false;
    const stopping = q.stop().then(() => (stopped = true));
    await sleep(30);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
    await expect(q.enqueue('job.a', { n: 2 })).rejects.toThrow(/stopped/);
  });

  it('runs an interval schedule right away and then every interval, until unscheduled', async () => {
    const calls: Call[] = [];
    const q = await started(await h.make(), calls);
    await q.schedule('sweep.tick', { everyMs: 100 });
    await h.until(q, () => calls.length >= 3, 'three sweeps');
    expect(calls.every((c) => c.name === 'sweep.tick' && c.ctx.jobId.startsWith('repeat:sweep.tick:'))).toBe(true);
    expect(new Set(calls.map((c) => c.ctx.jobId)).size).toBe(calls.length);
    // The runs are due an interval apart (`repeat:<id>:<dueMillis>`); when they ran depends on load,
    // and a worker that fell behind catches up at once, so wall-clock gaps are not asserted.
    const due = calls.map((c) => Number(c.ctx.jobId.split(':').at(-1)));
    expect(due[2] - due[1]).toBeGreaterThanOrEqual(100);

    expect(await q.unschedule('sweep.tick')).toBe(true);
    expect(await q.unschedule('sweep.tick')).toBe(false);
    await h.advance(q, 50);
    const count = calls.length;
    await h.advance(q, 250);
    expect(calls.length).toBe(count);
  });

  it('runs a cron schedule at matching times, with its data', async () => {
    const calls: Call[] = [];
    const q = await started(await h.make(), calls);
    // Every second (6 fields, seconds first); a bad pattern is refused the same way on both adapters.
    await q.schedule('job.a', { cron: '* * * * * *' }, { n: 5 }, { schedulerId: 'report-every-second' });
    await expect(q.schedule('job.a', { cron: '61 * * * *' }, { n: 1 })).rejects.toThrow(/invalid cron pattern/);
    await h.until(q, () => calls.length >= 1, 'the first cron run');
    expect(calls[0]).toMatchObject({ name: 'job.a', data: { n: 5 } });
    expect(calls[0].ctx.jobId).toMatch(/^repeat:report-every-second:\d+$/);
    // The run's slot is a whole second.
    expect(Number(calls[0].ctx.jobId.split(':')[2]) % 1000).toBe(0);
    await q.unschedule('report-every-second');
  });

  it('never runs more handlers at once than its concurrency', async () => {
    let runningNow = 0;
    let peak = 0;
    const calls: Call[] = [];
    const q = await started(await h.make({ concurrency: 2 }), calls, {
      'job.a': async () => {
        runningNow++;
        peak = Math.max(peak, runningNow);
        await sleep(15);
        runningNow--;
      },
    });
    for (let i = 0; i < 6; i++) await q.enqueue('job.a', { n: i }, { jobId: `c:${i}` });
    await h.until(q, () => calls.length === 6 && runningNow === 0, 'six jobs');
    await q.drain();
    expect(peak).toBeLessThanOrEqual(2);
    expect(peak).toBeGreaterThanOrEqual(1);
  });
}

describe('JobQueue contract: in-process', () => {
  contract(inProcessHarness());
});

const skipBullmq = await redisSkipReason('job-queue.contract');
const prefix = uniquePrefix();

describe.skipIf(skipBullmq !== null)('JobQueue contract: BullMQ', () => {
  afterAll(() => deleteKeysUnder(prefix));
  contract(bullmqHarness(prefix));
});
