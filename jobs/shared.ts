import { systemClock, type Clock } from '../core';
import type { EnqueueOptions, JobCatalog, JobFailure, JobHandler, JobLogger, JobNames, OnJobFailed, Repeat } from './ports';
import { parseCron } from './cron';

/** Rules both adapters share, so that what passes on a laptop passes in production. */

export interface JobDefaults {
  attempts: number;
  backoffMs: number;
}

export const DEFAULT_JOB_DEFAULTS: JobDefaults = { attempts: 3, backoffMs: 1000 };

/** Options common to both adapters' factories. */
export interface JobQueueBaseOptions<C extends JobCatalog> {
  /** The declared job names; `start()` fails when one has no handler. */
  jobNames: JobNames<C>;
  clock?: Clock;
  /** Handlers running at once (per node on BullMQ). Default 10. */
  concurrency?: number;
  logger?: JobLogger;
  /** Told once per job that failed for good; default: logged at error level. */
  onFailed?: OnJobFailed;
  /** Attempts and backoff of jobs that do not set their own. */
  defaults?: Partial<JobDefaults>;
}

export const consoleJobLogger: JobLogger = {
  error: (obj, msg) => console.error(msg ?? '', obj),
  warn: (obj, msg) => console.warn(msg ?? '', obj),
  info: () => {},
};

/** The n-th retry (attempt n failed) waits base × 2^(n-1): the same curve as BullMQ's 'exponential'. */
export function backoffDelay(baseMs: number, failedAttempt: number): number {
  return Math.round(baseMs * 2 ** (failedAttempt - 1));
}

export function resolveDefaults(d: Partial<JobDefaults> | undefined): JobDefaults {
  const out = { ...DEFAULT_JOB_DEFAULTS, ...d };
  checkAttempts(out.attempts);
  checkBackoff(out.backoffMs);
  return out;
}

function checkAttempts(n: number) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`jobs: attempts must be an integer ≥ 1, got ${n}`);
}
function checkBackoff(n: number) {
  if (!Number.isFinite(n) || n < 0) throw new Error(`jobs: backoffMs must be ≥ 0, got ${n}`);
}

export interface ResolvedEnqueue {
  jobId: string | undefined;
  delayMs: number;
  attempts: number;
  backoffMs: number;
}

/** Validates enqueue options and turns `runAt` into a delay measured on `clock`. */
export function resolveEnqueue(opts: EnqueueOptions, defaults: JobDefaults, clock: Clock): ResolvedEnqueue {
  if (opts.delayMs !== undefined && opts.runAt !== undefined) throw new Error('jobs: give delayMs or runAt, not both');
  if (opts.jobId !== undefined) checkJobId(opts.jobId);
  let delayMs = 0;
  if (opts.delayMs !== undefined) {
    if (!Number.isFinite(opts.delayMs)) throw new Error(`jobs: delayMs must be a finite number, got ${opts.delayMs}`);
    delayMs = Math.max(0, Math.round(opts.delayMs));
  } else if (opts.runAt !== undefined) {
    const t = opts.runAt.getTime();
    if (Number.isNaN(t)) throw new Error('jobs: runAt is an invalid Date');
    delayMs = Math.max(0, t - clock.now().getTime());
  }
  const attempts = opts.attempts ?? defaults.attempts;
  const backoffMs = opts.backoffMs ?? defaults.backoffMs;
  checkAttempts(attempts);
  checkBackoff(backoffMs);
  return { jobId: opts.jobId, delayMs, attempts, backoffMs };
}

export function checkJobId(id: string) {
  if (typeof id !== 'string' || id.length === 0 || id.length > 512) throw new Error(`jobs: jobId must be a non-empty string of at most 512 characters`);
}

/** Checks a repeat spec up front (the cron pattern parses and matches some time, the zone exists). */
export function checkRepeat(repeat: Repeat): void {
  if ('everyMs' in repeat) {
    if (!Number.isInteger(repeat.everyMs) || repeat.everyMs < 1) throw new Error(`jobs: everyMs must be an integer ≥ 1, got ${repeat.everyMs}`);
    return;
  }
  parseCron(repeat.cron, repeat.tz ?? DEFAULT_CRON_TZ);
}

export const DEFAULT_CRON_TZ = 'Asia/Shanghai';

/** A copy of the payload as the handler will see it on BullMQ (JSON): Dates become strings, undefined goes. */
export function jsonCopy<T>(data: T): T {
  if (data === undefined) return data;
  return JSON.parse(JSON.stringify(data)) as T;
}

/** Register-time and start-time checks against the declared names. */
export class HandlerRegistry<C extends JobCatalog> {
  private readonly declared: Set<string>;
  readonly handlers = new Map<string, JobHandler<any>>();

  constructor(jobNames: JobNames<C>) {
    this.declared = new Set(Object.keys(jobNames));
  }

  isDeclared(name: string) {
    return this.declared.has(name);
  }

  assertDeclared(name: string) {
    if (!this.declared.has(name)) throw new Error(`jobs: "${name}" is not a declared job name (未声明的任务)`);
  }

  register(name: string, handler: JobHandler<any>) {
    this.assertDeclared(name);
    if (typeof handler !== 'function') throw new Error(`jobs: the handler of "${name}" is not a function`);
    if (this.handlers.has(name)) throw new Error(`jobs: "${name}" already has a handler (每个任务只能有一个处理器)`);
    this.handlers.set(name, handler);
  }

  /** Boot fails when a declared job has no handler: a job nobody runs would pile up unseen. */
  assertComplete() {
    const missing = [...this.declared].filter((n) => !this.handlers.has(n));
    if (missing.length) throw new Error(`jobs: no handler registered for ${missing.map((m) => `"${m}"`).join(', ')} (任务缺少处理器)`);
  }
}

/** Calls the failure hook; a throwing hook is logged, never allowed to break the runner. */
export async function reportFailure(onFailed: OnJobFailed | undefined, logger: JobLogger, failure: JobFailure) {
  const hook = onFailed ?? defaultOnFailed(logger);
  try {
    await hook(failure);
  } catch (err) {
    logger.error({ err, job: failure.name, jobId: failure.jobId }, 'jobs: onFailed hook threw');
  }
}

export function defaultOnFailed(logger: JobLogger): OnJobFailed {
  return (f) =>
    logger.error({ err: f.error, job: f.name, jobId: f.jobId, attempt: f.attempt }, 'job failed after its last attempt (任务重试耗尽)');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The options both adapters share, checked and defaulted once. */
export function resolveBaseOptions<C extends JobCatalog>(opts: JobQueueBaseOptions<C>) {
  const concurrency = opts.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`jobs: concurrency must be an integer ≥ 1, got ${opts.concurrency}`);
  return {
    clock: opts.clock ?? systemClock,
    concurrency,
    logger: opts.logger ?? consoleJobLogger,
    onFailed: opts.onFailed,
    defaults: resolveDefaults(opts.defaults),
    registry: new HandlerRegistry(opts.jobNames),
  };
}
