import { describe, it, expect, afterEach } from 'vitest';
import { FixedClock, systemClock } from '../../core';
import { createInProcessJobQueue, type InProcessJobQueue, type JobNames, type JobContext } from '../../jobs';
import { eventually, quietLogger } from './redis';

/** What only the in-process runner has: its heap, its single timer, and its fake-clock behaviour. */
type Jobs = { 'job.a': { n: number; at?: unknown }; 'report.daily': Record<string, never> };
const jobNames: JobNames<Jobs> = { 'job.a': true, 'report.daily': true };

const queues: InProcessJobQueue<Jobs>[] = [];
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.stop()));
});

function make(clock = new FixedClock(new Date('2025-10-09T01:00:00Z')), concurrency = 10) {
  const q = createInProcessJobQueue<Jobs>({ jobNames, clock, logger: quietLogger, concurrency });
  queues.push(q);
  const seen: { n: number; ctx: JobContext; at: number; data: Jobs['job.a'] }[] = [];
  const daily: { ctx: JobContext; at: number }[] = [];
  q.register('job.a', (data, ctx) => {
    seen.push({ n: data.n, ctx, at: clock.now().getTime(), data });
  });
  q.register('report.daily', (_d, ctx) => {
    daily.push({ ctx, at: clock.now().getTime() });
  });
  return { q, clock, seen, daily };
}

const advance = (clock: FixedClock, ms: number) => clock.set(new Date(clock.now().getTime() + ms));

describe('in-process job runner', () => {
  it('runs jobs in due-time order, first-in first-out among equal times', async () => {
    const { q, clock, seen } = make(undefined, 1);
    await q.start();
    const plan = [[5, 300], [1, 100], [3, 200], [2, 100], [4, 200], [0, 0]];
    for (const [n, delayMs] of plan) await q.enqueue('job.a', { n }, { delayMs });
    advance(clock, 1000);
    await q.runDue();
    expect(seen.map((s) => s.n)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('runs due jobs by itself on a real clock (one timer, no runDue needed)', async () => {
    const { q, seen } = make(systemClock as unknown as FixedClock);
    await q.start();
    await q.enqueue('job.a', { n: 1 }, { delayMs: 20 });
    await q.enqueue('job.a', { n: 2 });
    await eventually(() => seen.length === 2, 'both jobs');
    expect(seen.map((s) => s.n)).toEqual([2, 1]);
  });

  it('with a fake clock, waits for the test to move time (the timer does not spin)', async () => {
    const { q, clock, seen } = make();
    await q.start();
    await q.enqueue('job.a', { n: 1 }, { delayMs: 10 });
    await new Promise((r) => setTimeout(r, 40));
    expect(seen).toHaveLength(0);
    advance(clock, 10);
    await q.runDue();
    expect(seen.map((s) => s.n)).toEqual([1]);
  });

  it('hands the handler a JSON copy of the payload, as BullMQ would', async () => {
    const { q, seen } = make();
    await q.start();
    const data = { n: 1, at: new Date('2025-10-09T02:00:00Z') };
    await q.enqueue('job.a', data);
    data.n = 99;
    await q.drain();
    expect(seen[0].data).toEqual({ n: 1, at: '2025-10-09T02:00:00.000Z' });
  });

  it('does not catch up a missed interval run by run (no storm after a long pause)', async () => {
    const { q, clock, daily } = make();
    const t0 = clock.now().getTime();
    await q.start();
    await q.schedule('report.daily', { everyMs: 1000 });
    await q.runDue();
    expect(daily).toHaveLength(1);
    advance(clock, 10_500);
    await q.runDue();
    // Ten slots passed: the one that was waiting runs (late), the nine others are skipped.
    expect(daily).toHaveLength(2);
    advance(clock, 499);
    await q.runDue();
    expect(daily).toHaveLength(2);
    // The next run stays on the interval grid.
    advance(clock, 1);
    await q.runDue();
    expect(daily.map((d) => d.ctx.jobId)).toEqual([t0, t0 + 1000, t0 + 11_000].map((t) => `repeat:report.daily:${t}`));
  });

  it('reads cron patterns in China time by default: 08:00 on working weekdays', async () => {
    // Friday 2025-10-10 07:59 in Beijing.
    const { q, clock, daily } = make(new FixedClock(new Date('2025-10-09T23:59:00Z')));
    await q.start();
    await q.schedule('report.daily', { cron: '0 8 * * 1-5' });
    await q.runDue();
    expect(daily).toHaveLength(0);
    advance(clock, 60_000);
    await q.runDue();
    expect(daily.map((d) => new Date(d.at).toISOString())).toEqual(['2025-10-10T00:00:00.000Z']);
    // Next: Monday 2025-10-13 08:00 Beijing, not the weekend.
    clock.set(new Date('2025-10-12T23:59:59Z'));
    await q.runDue();
    expect(daily).toHaveLength(1);
    advance(clock, 1000);
    await q.runDue();
    expect(daily[1].ctx.jobId).toBe(`repeat:report.daily:${Date.parse('2025-10-13T00:00:00Z')}`);
  });

  it('replaces a schedule upserted under the same id', async () => {
    const { q, clock, daily } = make();
    await q.start();
    await q.schedule('report.daily', { everyMs: 1000 });
    await q.runDue();
    await q.schedule('report.daily', { everyMs: 5000 });
    await q.runDue();
    expect(daily).toHaveLength(2);
    advance(clock, 1000);
    await q.runDue();
    expect(daily).toHaveLength(2);
    advance(clock, 4000);
    await q.runDue();
    expect(daily).toHaveLength(3);
    expect(q.stats().schedulers).toBe(1);
  });

  it('keeps memory flat when most pending jobs are cancelled (deadlines of closed tickets)', async () => {
    const { q, clock, seen } = make();
    await q.start();
    for (let i = 0; i < 3000; i++) await q.enqueue('job.a', { n: i }, { jobId: `sla:${i}`, delayMs: 60_000 + i });
    for (let i = 0; i < 2500; i++) expect(await q.cancel(`sla:${i}`)).toBe(true);
    expect(q.stats().pending).toBe(500);
    advance(clock, 120_000);
    await q.runDue();
    expect(seen.map((s) => s.n)).toEqual(Array.from({ length: 500 }, (_, i) => 2500 + i));
  });

  it('a job left waiting for its retry at stop() is not reported as failed', async () => {
    const failures: unknown[] = [];
    const clock = new FixedClock(new Date('2025-10-09T01:00:00Z'));
    const q = createInProcessJobQueue<Jobs>({ jobNames, clock, logger: quietLogger, onFailed: (f) => void failures.push(f) });
    q.register('job.a', () => {
      throw new Error('down');
    });
    q.register('report.daily', () => {});
    await q.start();
    await q.enqueue('job.a', { n: 1 }, { attempts: 3, backoffMs: 1000 });
    await q.runDue();
    await q.stop();
    expect(failures).toHaveLength(0);
    expect(q.stats().pending).toBe(1);
  });

  it('checks options: delayMs with runAt, bad attempts, runDue before start', async () => {
    const { q } = make();
    await expect(q.enqueue('job.a', { n: 1 }, { delayMs: 5, runAt: new Date() })).rejects.toThrow(/not both/);
    await expect(q.enqueue('job.a', { n: 1 }, { attempts: 0 })).rejects.toThrow(/attempts/);
    await expect(q.enqueue('job.a', { n: 1 }, { jobId: '' })).rejects.toThrow(/jobId/);
    await expect(q.schedule('report.daily', { everyMs: 0 })).rejects.toThrow(/everyMs/);
    await expect(q.runDue()).rejects.toThrow(/start\(\)/);
  });

  it('types catalogs: payloads, names and the declared list are checked by the compiler', () => {
    const { q } = make();
    const compileOnly = () => {
      // @ts-expect-error: the payload of job.a is { n: number }
      void q.enqueue('job.a', { n: 'one' });
      // @ts-expect-error: not a job of this catalog
      void q.enqueue('job.z', { n: 1 });
      // @ts-expect-error: a job with a required payload is scheduled with its data
      void q.schedule('job.a', { everyMs: 1000 });
      void q.schedule('report.daily', { everyMs: 1000 });
      // @ts-expect-error: the declared list must name every job of the catalog
      const partial: JobNames<Jobs> = { 'job.a': true };
      return partial;
    };
    expect(typeof compileOnly).toBe('function');
  });
});
