import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { connectRedis, redactRedisUrl } from '../redis-connection';
import { Redis } from 'ioredis';
import type { Clock } from '../../core';
import type {
  EnqueueOptions, JobCatalog, JobHandler, JobLogger, JobName, JobQueue, OnJobFailed, Repeat, ScheduleArgs, ScheduleOptions,
} from '../ports';
import {
  HandlerRegistry, checkJobId, checkRepeat, errorMessage, reportFailure, resolveBaseOptions, resolveEnqueue,
  DEFAULT_CRON_TZ, type JobDefaults, type JobQueueBaseOptions,
} from '../shared';

/**
 * The production job queue: BullMQ on Redis, shared by every app node. One BullMQ queue for the whole
 * product (`<prefix>:<queueName>:*` keys, default `hotline:jobs`), the job name selects the handler.
 *
 * - Finished jobs are removed (completed and failed alike), so a jobId is free again once its job is
 *   done, as in the in-process runner; failures are reported through `onFailed`, not kept in Redis.
 * - Each node runs one Worker (`concurrency` handlers at once). A node that dies mid-job leaves the
 *   job to be picked up again by another node after the lock expires (30 s): handlers are idempotent.
 * - Time is Redis's and the nodes' real time; the `clock` only turns `runAt` into a delay.
 */
export interface BullmqJobQueueOptions<C extends JobCatalog> extends JobQueueBaseOptions<C> {
  redisUrl: string;
  /** Redis key prefix, e.g. `hotline` (per product or per environment). */
  prefix?: string;
  /** BullMQ queue name under the prefix; default `jobs`. */
  queueName?: string;
  /** How long the boot-time ping may take before the factory gives up; default 2000 ms. */
  connectTimeoutMs?: number;
}

/** What is stored as BullMQ job data: the payload, and a token telling our enqueue from a twin's. */
interface Envelope {
  payload: unknown;
  token?: string;
}

/**
 * BullMQ refuses custom ids that are integers or contain ':' (both are its own id shapes). Ours are
 * free-form (`sla:01J…`), so they are escaped on the way in and unescaped for handlers: '%' → %25,
 * ':' → %3A, and an integer gets a `%I` mark ('%' is always escaped, so the mark is unambiguous).
 */
export function toBullJobId(id: string): string {
  const s = id.replace(/%/g, '%25').replace(/:/g, '%3A');
  return `${parseInt(s, 10)}` === s ? `%I${s}` : s;
}

export function fromBullJobId(id: string): string {
  const s = id.startsWith('%I') ? id.slice(2) : id;
  return s.replace(/%(25|3A)/g, (_, code: string) => (code === '25' ? '%' : ':'));
}

/**
 * Boot check: connects and pings with a short timeout, so a wrong REDIS_URL stops the start with a
 * clear message instead of jobs silently piling up in a client-side offline queue.
 */
export async function assertRedisReachable(redisUrl: string, timeoutMs = 2000): Promise<void> {
  let url: URL;
  try {
    url = new URL(redisUrl);
  } catch {
    throw new Error(`jobs: REDIS_URL is not a URL (Redis 地址无效): ${redactRedisUrl(redisUrl)}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`jobs: REDIS_URL must start with redis:// or rediss:// (Redis 地址无效), got ${url.protocol}//`);
  }
  const client = await connectRedis(redisUrl, {
    timeoutMs,
    who: { en: 'jobs', zh: '任务队列' },
    hint: 'Check REDIS_URL, or unset it to run jobs in-process.',
    options: { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null },
  });
  client.disconnect();
}

export class BullmqJobQueue<C extends JobCatalog> implements JobQueue<C> {
  readonly kind = 'bullmq' as const;
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly logger: JobLogger;
  private readonly onFailed?: OnJobFailed;
  private readonly defaults: JobDefaults;
  private readonly registry: HandlerRegistry<C>;
  private readonly redisUrl: string;
  private readonly prefix: string;
  private readonly queueName: string;

  /** Commands (enqueue, cancel, drain reads); the worker has its own, blocking-capable connection. */
  private readonly conn: Redis;
  private readonly queue: Queue;
  private workerConn: Redis | undefined;
  private worker: Worker | undefined;
  /** Jobs whose outcome our processor already handled (reported or left to retry). */
  private readonly seenByProcessor = new WeakSet<Job>();
  private stopping = false;
  private stopped: Promise<void> | undefined;
  /**
   * The repeatable jobs this node declared, by scheduler id. BullMQ keeps a schedule only in Redis:
   * a Redis that restarts empty (no persistence, a failover to a fresh replica) forgets every one,
   * and the sweeps (reminders, SMS, exports) would stop until the nodes restarted. Each reconnect
   * declares them again; `upsertJobScheduler` makes that a no-op when they are still there.
   */
  private readonly schedules = new Map<string, () => Promise<unknown>>();
  private connectedOnce = false;

  constructor(opts: BullmqJobQueueOptions<C>) {
    ({ clock: this.clock, concurrency: this.concurrency, logger: this.logger, onFailed: this.onFailed, defaults: this.defaults, registry: this.registry } =
      resolveBaseOptions(opts));
    this.redisUrl = opts.redisUrl;
    this.prefix = opts.prefix ?? 'hotline';
    this.queueName = opts.queueName ?? 'jobs';
    if (this.queueName.includes(':')) throw new Error(`jobs: queueName cannot contain ':' (got "${this.queueName}")`);
    this.conn = new Redis(this.redisUrl, { maxRetriesPerRequest: 3 });
    this.conn.on('error', (err) => this.logger.error({ err: errorMessage(err) }, 'jobs: Redis connection error'));
    this.conn.on('ready', () => {
      if (this.connectedOnce) void this.redeclareSchedules();
      this.connectedOnce = true;
    });
    this.queue = new Queue(this.queueName, {
      connection: this.conn,
      prefix: this.prefix,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    });
    this.queue.on('error', (err) => this.logger.error({ err: errorMessage(err) }, 'jobs: BullMQ queue error'));
  }

  register<K extends JobName<C>>(name: K, handler: JobHandler<C[K]>): void {
    this.registry.register(name, handler);
  }

  async enqueue<K extends JobName<C>>(name: K, data: C[K], opts: EnqueueOptions = {}): Promise<boolean> {
    this.assertOpen();
    this.registry.assertDeclared(name);
    const r = resolveEnqueue(opts, this.defaults, this.clock);
    const bullId = r.jobId !== undefined ? toBullJobId(r.jobId) : undefined;
    const token = bullId !== undefined ? randomUUID() : undefined;
    const envelope: Envelope = token ? { payload: data, token } : { payload: data };
    await this.queue.add(name, envelope, {
      jobId: bullId,
      delay: r.delayMs > 0 ? r.delayMs : undefined,
      attempts: r.attempts,
      backoff: { type: 'exponential', delay: r.backoffMs },
    });
    if (bullId === undefined) return true;
    // BullMQ answers a duplicate jobId with the existing job's id, the same answer as for a new job.
    // The stored token says whose job is there. Gone already (it ran and was removed within this
    // round trip) counts as ours.
    const stored = await this.conn.hget(this.queue.toKey(bullId), 'data');
    if (stored === null) return true;
    try {
      return (JSON.parse(stored) as Envelope).token === token;
    } catch {
      return false;
    }
  }

  async cancel(jobId: string): Promise<boolean> {
    checkJobId(jobId);
    const bullId = toBullJobId(jobId);
    // remove() answers 1 for a removed job and for a missing one, 0 for a locked (running) one, so
    // absence is asked first. A job that finishes between the two calls is reported as cancelled.
    if ((await this.conn.exists(this.queue.toKey(bullId))) === 0) return false;
    return (await this.queue.remove(bullId)) === 1;
  }

  async schedule<K extends JobName<C>>(name: K, repeat: Repeat, ...[data, opts]: ScheduleArgs<C[K]>): Promise<void> {
    this.assertOpen();
    this.registry.assertDeclared(name);
    checkRepeat(repeat);
    const o: ScheduleOptions = opts ?? {};
    const id = o.schedulerId ?? name;
    checkJobId(id);
    const { attempts, backoffMs } = resolveEnqueue({ attempts: o.attempts, backoffMs: o.backoffMs }, this.defaults, this.clock);
    const declare = () =>
      this.queue.upsertJobScheduler(
        toBullJobId(id),
        'everyMs' in repeat ? { every: repeat.everyMs } : { pattern: repeat.cron, tz: repeat.tz ?? DEFAULT_CRON_TZ },
        {
          name,
          data: { payload: data ?? {} } satisfies Envelope,
          opts: { attempts, backoff: { type: 'exponential', delay: backoffMs }, removeOnComplete: true, removeOnFail: true },
        },
      );
    await declare();
    this.schedules.set(id, declare);
  }

  async unschedule(schedulerId: string): Promise<boolean> {
    checkJobId(schedulerId);
    this.schedules.delete(schedulerId);
    return this.queue.removeJobScheduler(toBullJobId(schedulerId));
  }

  /** After a reconnect: declares every schedule again (see {@link schedules}). */
  private async redeclareSchedules(): Promise<void> {
    if (this.stopping || this.schedules.size === 0) return;
    for (const [id, declare] of this.schedules) {
      try {
        await declare();
      } catch (err) {
        this.logger.error({ schedulerId: id, err: errorMessage(err) }, 'jobs: could not declare a repeatable job again after a Redis reconnect');
      }
    }
    this.logger.info({ schedules: this.schedules.size }, 'jobs: repeatable jobs declared again after a Redis reconnect (Redis may have restarted empty)');
  }

  async start(): Promise<void> {
    if (this.worker) throw new Error('jobs: the queue is already started');
    this.assertOpen();
    this.registry.assertComplete();
    // Workers block on Redis: their connection must never give up on a command (BullMQ requires null).
    this.workerConn = new Redis(this.redisUrl, { maxRetriesPerRequest: null });
    this.workerConn.on('error', (err) => this.logger.error({ err: errorMessage(err) }, 'jobs: Redis worker connection error'));
    const worker = new Worker(this.queueName, (job: Job) => this.process(job), {
      connection: this.workerConn,
      prefix: this.prefix,
      concurrency: this.concurrency,
      autorun: true,
    });
    worker.on('error', (err) => this.logger.error({ err: errorMessage(err) }, 'jobs: BullMQ worker error'));
    worker.on('stalled', (jobId) =>
      this.logger.warn({ jobId: fromBullJobId(jobId) }, 'job stalled (its node stopped renewing the lock); it will run again'),
    );
    // Failures decided by BullMQ itself, outside our processor (a job stalled too often), still reach
    // onFailed: nothing fails silently.
    worker.on('failed', (job, err) => {
      if (!job || this.seenByProcessor.has(job)) return;
      void reportFailure(this.onFailed, this.logger, {
        name: job.name, jobId: fromBullJobId(job.id ?? '?'), data: (job.data as Envelope | undefined)?.payload, attempt: job.attemptsMade, error: err,
      });
    });
    this.worker = worker;
    await worker.waitUntilReady();
  }

  private async process(job: Job): Promise<void> {
    this.seenByProcessor.add(job);
    const attempt = job.attemptsMade + 1;
    const attempts = job.opts.attempts ?? 1;
    const jobId = fromBullJobId(job.id ?? '?');
    const data = (job.data as Envelope | undefined)?.payload;
    try {
      const handler = this.registry.handlers.get(job.name);
      if (!handler) throw new Error(`jobs: no handler for "${job.name}" on this node`);
      await handler(data, { jobId, attempt, name: job.name });
    } catch (err) {
      // Reported here, while the job is still active in Redis, so drain() cannot see the queue empty
      // before the hook has run.
      if (attempt >= attempts) {
        await reportFailure(this.onFailed, this.logger, { name: job.name, jobId, data, attempt, error: err });
      } else {
        this.logger.warn({ job: job.name, jobId, attempt, err: errorMessage(err) }, 'job attempt failed, will retry (任务失败，将重试)');
      }
      throw err instanceof Error ? err : new Error(errorMessage(err));
    }
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.stopped ??= (async () => {
      // Worker.close() waits for the handlers that are running; then the connections can go.
      if (this.worker) await this.worker.close();
      await this.queue.close();
      await Promise.all(
        [this.conn, this.workerConn].map(async (c) => {
          if (!c) return;
          try {
            await c.quit();
          } catch {
            c.disconnect();
          }
        }),
      );
    })();
    return this.stopped;
  }

  async drain(opts: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const counts = await this.dueCounts();
      if (Object.values(counts).every((n) => n === 0)) return;
      last = JSON.stringify(counts);
      if (Date.now() > deadline) throw new Error(`jobs: drain timed out after ${timeoutMs} ms (${last}); is a worker started?`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** One atomic snapshot (MULTI) of the lists that hold work due now. */
  private async dueCounts() {
    const k = (t: string) => this.queue.toKey(t);
    const res = await this.conn
      .multi()
      .llen(k('wait'))
      .llen(k('active'))
      .llen(k('paused'))
      .zcard(k('prioritized'))
      // Delayed scores are dueMillis × 4096 + a counter.
      .zcount(k('delayed'), 0, (Date.now() + 1) * 0x1000 - 1)
      .exec();
    const n = (i: number) => Number(res?.[i]?.[1] ?? 0);
    return { wait: n(0), active: n(1), paused: n(2), prioritized: n(3), delayedDue: n(4) };
  }

  private assertOpen() {
    if (this.stopping) throw new Error('jobs: the queue is stopped');
  }
}

/** Pings Redis first (throws a clear error when it does not answer), then builds the queue. */
export async function createBullmqJobQueue<C extends JobCatalog>(opts: BullmqJobQueueOptions<C>): Promise<BullmqJobQueue<C>> {
  await assertRedisReachable(opts.redisUrl, opts.connectTimeoutMs);
  return new BullmqJobQueue<C>(opts);
}
