import type { Clock } from '../../core';
import type {
  EnqueueOptions, JobCatalog, JobHandler, JobLogger, JobName, JobQueue, OnJobFailed, Repeat, ScheduleArgs, ScheduleOptions,
} from '../ports';
import { nextCronTime, parseCron, type CronSpec } from '../cron';
import {
  HandlerRegistry, backoffDelay, checkJobId, checkRepeat, errorMessage, jsonCopy, reportFailure, resolveBaseOptions,
  resolveEnqueue, DEFAULT_CRON_TZ, type JobDefaults, type JobQueueBaseOptions,
} from '../shared';

/**
 * The embedded job runner (the default when no REDIS_URL is set): one process, jobs in memory.
 *
 * - One min-heap of due times and one timer armed for the earliest entry: no interval per job, and
 *   100k far-off deadlines cost one timer.
 * - Time comes from the `Clock`. With a fake clock (core's `FixedClock`) tests move time and call
 *   `runDue()`; the timer only fires on its own for jobs due at the clock's current time.
 * - Pending jobs are lost when the process ends; that is by design, the database says what is due and
 *   parts re-enqueue from it on start.
 */
export interface InProcessJobQueueOptions<C extends JobCatalog> extends JobQueueBaseOptions<C> {}

interface Entry {
  seq: number;
  name: string;
  data: unknown;
  /** The caller's id, a scheduler run id, or a generated one (generated ids are not deduplicated). */
  jobId: string;
  dedup: boolean;
  dueAt: number;
  attempt: number;
  attempts: number;
  backoffMs: number;
  state: 'pending' | 'running';
  cancelled: boolean;
  schedulerId?: string;
  /** A scheduler run's own slot (its first due time; retries move `dueAt`, not the slot). */
  slot: number;
}

interface Scheduler {
  id: string;
  name: string;
  data: unknown;
  everyMs?: number;
  cron?: CronSpec;
  attempts: number;
  backoffMs: number;
  /** The next run, waiting in the heap. */
  pending?: Entry;
}

/** setTimeout takes at most 2^31-1 ms (24.8 days); a later job re-arms when the timer fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Binary min-heap ordered by due time, then by insertion (FIFO among jobs due at the same time). */
class DueHeap {
  private items: Entry[] = [];

  get size() {
    return this.items.length;
  }

  peek(): Entry | undefined {
    return this.items[0];
  }

  push(e: Entry) {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): Entry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }

  /** Drops cancelled entries in one pass (lazy deletion would otherwise keep them until they are due). */
  compact() {
    const live = this.items.filter((e) => !e.cancelled);
    this.items = [];
    for (const e of live) this.push(e);
  }
}

function before(a: Entry, b: Entry) {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
}

export class InProcessJobQueue<C extends JobCatalog> implements JobQueue<C> {
  readonly kind = 'in-process' as const;
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly logger: JobLogger;
  private readonly onFailed?: OnJobFailed;
  private readonly defaults: JobDefaults;
  private readonly registry: HandlerRegistry<C>;

  private readonly heap = new DueHeap();
  /** Pending, retry-waiting and running jobs with a dedup id. */
  private readonly byId = new Map<string, Entry>();
  private readonly schedulers = new Map<string, Scheduler>();
  private readonly running = new Set<Promise<void>>();
  private cancelledInHeap = 0;
  private seq = 0;
  private autoId = 0;

  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = 0;
  private armedAtClock = 0;

  private started = false;
  private stopping = false;

  constructor(opts: InProcessJobQueueOptions<C>) {
    ({ clock: this.clock, concurrency: this.concurrency, logger: this.logger, onFailed: this.onFailed, defaults: this.defaults, registry: this.registry } =
      resolveBaseOptions(opts));
  }

  register<K extends JobName<C>>(name: K, handler: JobHandler<C[K]>): void {
    this.registry.register(name, handler);
  }

  async enqueue<K extends JobName<C>>(name: K, data: C[K], opts: EnqueueOptions = {}): Promise<boolean> {
    this.assertOpen();
    this.registry.assertDeclared(name);
    const r = resolveEnqueue(opts, this.defaults, this.clock);
    if (r.jobId !== undefined && this.byId.has(r.jobId)) return false;
    const dueAt = this.now() + r.delayMs;
    const e: Entry = {
      seq: this.seq++, name, data: jsonCopy(data), jobId: r.jobId ?? `auto:${++this.autoId}`, dedup: r.jobId !== undefined,
      dueAt, slot: dueAt, attempt: 1, attempts: r.attempts, backoffMs: r.backoffMs, state: 'pending', cancelled: false,
    };
    this.push(e);
    this.arm();
    return true;
  }

  async cancel(jobId: string): Promise<boolean> {
    const e = this.byId.get(jobId);
    if (!e || e.state === 'running') return false;
    this.drop(e);
    return true;
  }

  async schedule<K extends JobName<C>>(name: K, repeat: Repeat, ...[data, opts]: ScheduleArgs<C[K]>): Promise<void> {
    this.assertOpen();
    this.registry.assertDeclared(name);
    checkRepeat(repeat);
    const o: ScheduleOptions = opts ?? {};
    const id = o.schedulerId ?? name;
    checkJobId(id);
    const { attempts, backoffMs } = resolveEnqueue({ attempts: o.attempts, backoffMs: o.backoffMs }, this.defaults, this.clock);
    const previous = this.schedulers.get(id);
    if (previous?.pending) this.drop(previous.pending);
    const s: Scheduler = {
      id, name, data: jsonCopy(data ?? {}), attempts, backoffMs,
      ...('everyMs' in repeat ? { everyMs: repeat.everyMs } : { cron: parseCron(repeat.cron, repeat.tz ?? DEFAULT_CRON_TZ) }),
    };
    this.schedulers.set(id, s);
    const now = this.now();
    // Like BullMQ's job schedulers: an interval runs once right away, a cron pattern at its next match.
    this.pushRun(s, s.cron ? nextCronTime(s.cron, new Date(now)).getTime() : now);
    this.arm();
  }

  async unschedule(schedulerId: string): Promise<boolean> {
    const s = this.schedulers.get(schedulerId);
    if (!s) return false;
    this.schedulers.delete(schedulerId);
    if (s.pending) this.drop(s.pending);
    return true;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('jobs: the queue is already started');
    this.assertOpen();
    this.registry.assertComplete();
    this.started = true;
    this.pump();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.disarm();
    while (this.running.size) await Promise.all([...this.running]);
  }

  async drain(opts: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`jobs: drain timed out after ${timeoutMs} ms with ${this.running.size} job(s) running`)), timeoutMs);
    });
    try {
      await Promise.race([this.runDue(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs every job due at the clock's current time (respecting the concurrency limit), and resolves
   * when none is due and none is running. Retries go back into the heap at now + backoff, so with a
   * fake clock they wait until the test moves time on and calls `runDue()` again.
   */
  async runDue(): Promise<void> {
    if (!this.started) throw new Error('jobs: start() the queue before running jobs');
    for (;;) {
      this.pump();
      if (this.running.size === 0) return;
      await Promise.race(this.running);
    }
  }

  /** Counts for health checks and tests. */
  stats() {
    return {
      pending: this.heap.size - this.cancelledInHeap,
      running: this.running.size,
      schedulers: this.schedulers.size,
    };
  }

  private now() {
    return this.clock.now().getTime();
  }

  private assertOpen() {
    if (this.stopping) throw new Error('jobs: the queue is stopped');
  }

  private push(e: Entry) {
    e.state = 'pending';
    this.heap.push(e);
    if (e.dedup) this.byId.set(e.jobId, e);
  }

  /** Cancels a pending entry: out of the id map now, out of the heap lazily (compacted when half are dead). */
  private drop(e: Entry) {
    e.cancelled = true;
    if (this.byId.get(e.jobId) === e) this.byId.delete(e.jobId);
    this.cancelledInHeap++;
    if (this.cancelledInHeap > 1000 && this.cancelledInHeap * 2 > this.heap.size) {
      this.heap.compact();
      this.cancelledInHeap = 0;
    }
  }

  private peekLive(): Entry | undefined {
    let top = this.heap.peek();
    while (top?.cancelled) {
      this.heap.pop();
      this.cancelledInHeap--;
      top = this.heap.peek();
    }
    return top;
  }

  private pushRun(s: Scheduler, slot: number) {
    const jobId = `repeat:${s.id}:${slot}`;
    const existing = this.byId.get(jobId);
    if (existing) {
      s.pending = existing.state === 'pending' ? existing : undefined;
      return;
    }
    const e: Entry = {
      seq: this.seq++, name: s.name, data: s.data, jobId, dedup: true, dueAt: slot, slot, attempt: 1,
      attempts: s.attempts, backoffMs: s.backoffMs, state: 'pending', cancelled: false, schedulerId: s.id,
    };
    s.pending = e;
    this.push(e);
  }

  /** When a scheduler's run starts, its next run is queued (skipping slots already in the past). */
  private queueNextRun(e: Entry) {
    const s = e.schedulerId !== undefined ? this.schedulers.get(e.schedulerId) : undefined;
    if (!s || s.pending !== e) return;
    s.pending = undefined;
    const now = this.now();
    let next: number;
    if (s.cron) {
      next = nextCronTime(s.cron, new Date(Math.max(now, e.slot))).getTime();
    } else {
      const every = s.everyMs!;
      next = e.slot + every;
      if (next <= now) next = e.slot + every * (Math.floor((now - e.slot) / every) + 1);
    }
    this.pushRun(s, next);
  }

  /** Starts due jobs while there is room, then arms the timer for the next one. */
  private pump() {
    if (!this.started || this.stopping) return;
    const now = this.now();
    while (this.running.size < this.concurrency) {
      const top = this.peekLive();
      if (!top || top.dueAt > now) break;
      this.heap.pop();
      this.run(top);
    }
    this.arm();
  }

  private run(e: Entry) {
    e.state = 'running';
    if (e.attempt === 1 && e.schedulerId !== undefined) this.queueNextRun(e);
    const p = this.attempt(e);
    this.running.add(p);
    void p.finally(() => {
      this.running.delete(p);
      this.pump();
    });
  }

  /** One attempt; never rejects: a failure is retried or reported. */
  private async attempt(e: Entry): Promise<void> {
    try {
      const handler = this.registry.handlers.get(e.name);
      if (!handler) throw new Error(`jobs: no handler for "${e.name}"`);
      await handler(e.data, { jobId: e.jobId, attempt: e.attempt, name: e.name });
      this.forget(e);
    } catch (err) {
      if (e.attempt < e.attempts) {
        const wait = backoffDelay(e.backoffMs, e.attempt);
        this.logger.warn({ job: e.name, jobId: e.jobId, attempt: e.attempt, retryInMs: wait, err: errorMessage(err) }, 'job attempt failed, will retry (任务失败，将重试)');
        e.attempt++;
        e.dueAt = this.now() + wait;
        e.seq = this.seq++;
        this.push(e);
      } else {
        this.forget(e);
        await reportFailure(this.onFailed, this.logger, { name: e.name, jobId: e.jobId, data: e.data, attempt: e.attempt, error: err });
      }
    }
  }

  private forget(e: Entry) {
    if (this.byId.get(e.jobId) === e) this.byId.delete(e.jobId);
  }

  private disarm() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * One timer for the earliest entry. It does not keep the process alive (unref): the HTTP server
   * does that in production, and tests and CLI commands can exit.
   */
  private arm() {
    if (!this.started || this.stopping) return;
    const top = this.peekLive();
    if (!top || this.running.size >= this.concurrency) {
      this.disarm();
      return;
    }
    if (this.timer && this.timerDueAt <= top.dueAt) return;
    this.disarm();
    const now = this.now();
    this.timerDueAt = top.dueAt;
    this.armedAtClock = now;
    this.timer = setTimeout(() => this.onTimer(), Math.min(Math.max(0, top.dueAt - now), MAX_TIMER_MS));
    this.timer.unref();
  }

  private onTimer() {
    this.timer = undefined;
    const top = this.peekLive();
    if (top && top.dueAt <= this.now()) this.pump();
    // A clock that has not moved since arming is a fake one: waiting again would spin. Tests move it
    // and call runDue(); a real clock that woke a little early (or a clamped timer) re-arms.
    else if (this.now() !== this.armedAtClock) this.arm();
  }
}

export function createInProcessJobQueue<C extends JobCatalog>(opts: InProcessJobQueueOptions<C>): InProcessJobQueue<C> {
  return new InProcessJobQueue<C>(opts);
}
