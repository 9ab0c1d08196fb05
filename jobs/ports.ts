/**
 * The job queue port (定时与后台任务): deadlines, reminders, callbacks, retries and SMS sends, behind
 * one interface with two implementations: an in-process runner (the default, embedded) and BullMQ on
 * Redis (production, several app nodes).
 *
 * The database stays the source of truth for what is due: parts keep indexed due-time columns and
 * re-enqueue from them on start. The queue is only the trigger, so a lost queue loses nothing, and
 * every handler must be idempotent (a job can run twice: a node dies mid-job, a re-enqueue on start
 * meets a job that already ran).
 */

/**
 * A catalog maps each job name to its payload type, e.g.
 * `type SmsJobs = { 'sms.send': { messageId: string } }`. Declare catalogs as type aliases (an
 * `interface` has no index signature and does not satisfy `Record<string, unknown>`). Payloads go
 * through JSON on BullMQ, and the in-process runner round-trips them through JSON too, so keep them
 * small and plain (ids, not rows; ISO strings, not `Date`).
 */
export type JobCatalog = Record<string, unknown>;

export type JobName<C extends JobCatalog> = keyof C & string;

/**
 * The declared list of job names of a catalog, as a record so that the compiler checks it names
 * every job: `const smsJobNames: JobNames<SmsJobs> = { 'sms.send': true }`. Records of several parts
 * merge with spread. `start()` fails when a declared name has no handler.
 */
export type JobNames<C extends JobCatalog> = { readonly [K in JobName<C>]: true };

/** What a handler learns about the run besides the payload. */
export interface JobContext {
  /** The caller's jobId, or a generated one; repeatable runs get `repeat:<schedulerId>:<dueMillis>`. */
  jobId: string;
  /** 1 on the first run, 2 on the first retry, and so on. */
  attempt: number;
  name: string;
}

/** One handler per job name. A throw (or rejection) is a failed attempt: retried with backoff. */
export type JobHandler<T> = (data: T, ctx: JobContext) => void | Promise<void>;

export interface EnqueueOptions {
  /**
   * Dedup key: while a job with this id is pending, delayed, waiting for a retry or running, another
   * enqueue with it is a no-op (returns false). Once it has completed or failed for good, the id is
   * free again. Use ids derived from the entity, e.g. `sla:${ticketId}:${round}`.
   */
  jobId?: string;
  /** Run no earlier than this many milliseconds from now. */
  delayMs?: number;
  /** Run no earlier than this instant (a time in the past means now). Not together with delayMs. */
  runAt?: Date;
  /** Total runs allowed, the first included (default from the queue, 3 unless configured). */
  attempts?: number;
  /** Exponential backoff base: the n-th retry waits backoffMs × 2^(n-1) (default 1000). */
  backoffMs?: number;
}

/** How a repeatable job repeats: a fixed interval, or a cron pattern in a time zone. */
export type Repeat =
  | { everyMs: number }
  | {
      /** 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first. */
      cron: string;
      /** IANA zone the pattern is read in; default Asia/Shanghai (China has no DST). */
      tz?: string;
    };

export interface ScheduleOptions {
  /** Several schedules of one job need distinct ids; default: the job name. Upserting an id replaces it. */
  schedulerId?: string;
  attempts?: number;
  backoffMs?: number;
}

/** Payload optional only for jobs whose payload may be `{}` (sweeps, reports). */
export type ScheduleArgs<T> = {} extends T ? [data?: T, opts?: ScheduleOptions] : [data: T, opts?: ScheduleOptions];

/** A job that failed on its last allowed attempt (or was failed by the queue, e.g. stalled too often). */
export interface JobFailure {
  name: string;
  jobId: string;
  data: unknown;
  /** The attempt that failed last. */
  attempt: number;
  error: unknown;
}

/** Called once per job that failed for good; by default the failure is logged at error level. */
export type OnJobFailed = (failure: JobFailure) => void | Promise<void>;

/** The subset of pino's Logger the queue uses (a pino logger fits). */
export interface JobLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export type JobQueueKind = 'in-process' | 'bullmq';

/**
 * Timed and background work, typed by a catalog. Lifecycle: build the queue, let each part
 * `register` its handlers (and `schedule` its repeatable jobs), then `start()` once; `stop()` on
 * shutdown, before the database closes.
 */
export interface JobQueue<C extends JobCatalog> {
  readonly kind: JobQueueKind;

  /** Sets the one handler of a declared job; a second registration or an undeclared name throws. */
  register<K extends JobName<C>>(name: K, handler: JobHandler<C[K]>): void;

  /**
   * Adds a job; resolves true when it was newly enqueued, false when a job with the same `jobId` was
   * already pending (nothing changes then: not the data, not the due time). Jobs enqueued before
   * `start()` wait for it.
   */
  enqueue<K extends JobName<C>>(name: K, data: C[K], opts?: EnqueueOptions): Promise<boolean>;

  /** Removes a pending (waiting, delayed or retry-waiting) job; false when absent or already running. */
  cancel(jobId: string): Promise<boolean>;

  /**
   * Creates or replaces a repeatable job (BullMQ `upsertJobScheduler`). An `everyMs` schedule runs
   * once right away, then every `everyMs`; a cron schedule runs at each matching time.
   */
  schedule<K extends JobName<C>>(name: K, repeat: Repeat, ...args: ScheduleArgs<C[K]>): Promise<void>;

  /** Removes a repeatable job and its pending run; false when there was none. */
  unschedule(schedulerId: string): Promise<boolean>;

  /** Checks every declared job has a handler (throws naming the missing ones), then starts running jobs. */
  start(): Promise<void>;

  /** Graceful: starts no new job, waits for running handlers, releases timers and connections. */
  stop(): Promise<void>;

  /**
   * Test helper: resolves when nothing is waiting, running or due now (jobs delayed into the future,
   * retries in backoff included, do not count). Rejects after `timeoutMs` (default 30 s).
   */
  drain(opts?: { timeoutMs?: number }): Promise<void>;
}
