/**
 * Jobs (定时与后台任务): deadlines, reminders, callbacks, retries and SMS sends for the whole product,
 * behind one `JobQueue` port. On BullMQ when a Redis URL is configured, on an in-process runner
 * otherwise. The database is the source of truth for what is due; the queue is only the trigger.
 *
 * @example
 * ```ts
 * type SmsJobs = { 'sms.send': { messageId: string } };
 * const smsJobNames: JobNames<SmsJobs> = { 'sms.send': true };
 *
 * const jobs = await createJobQueue<SmsJobs>({ redisUrl: config.redisUrl, jobNames: smsJobNames, logger });
 * jobs.register('sms.send', async ({ messageId }, { attempt }) => sms.deliver(messageId, attempt));
 * await jobs.start();
 * await jobs.enqueue('sms.send', { messageId }, { jobId: `sms:${messageId}` });
 * ```
 */
import type { JobCatalog, JobQueue } from './ports';
import type { JobQueueBaseOptions } from './shared';
import { createInProcessJobQueue } from './adapters/in-process';
import { createBullmqJobQueue } from './adapters/bullmq';

export type {
  JobCatalog, JobName, JobNames, JobContext, JobHandler, EnqueueOptions, Repeat, ScheduleOptions, ScheduleArgs, JobFailure, OnJobFailed,
  JobLogger, JobQueue, JobQueueKind,
} from './ports';
export type { JobDefaults, JobQueueBaseOptions } from './shared';
export { DEFAULT_JOB_DEFAULTS, DEFAULT_CRON_TZ, backoffDelay } from './shared';
export { InProcessJobQueue, createInProcessJobQueue, type InProcessJobQueueOptions } from './adapters/in-process';
export { BullmqJobQueue, createBullmqJobQueue, assertRedisReachable, type BullmqJobQueueOptions } from './adapters/bullmq';
/** Opens a checked Redis connection at boot (every part that uses Redis), and hides a URL's password. */
export { connectRedis, redactRedisUrl, deleteRedisKeysUnder, type ConnectRedisOptions } from './redis-connection';
export { parseCron, nextCronTime, type CronSpec } from './cron';

export interface CreateJobQueueOptions<C extends JobCatalog> extends JobQueueBaseOptions<C> {
  /** Set: BullMQ on this Redis (the factory pings it and throws when it does not answer). Unset/null: in-process. */
  redisUrl?: string | null;
  /** Redis key prefix on BullMQ; default `hotline`. */
  prefix?: string;
  /** BullMQ queue name under the prefix; default `jobs`. */
  queueName?: string;
  /** Boot-time ping timeout on BullMQ; default 2000 ms. */
  connectTimeoutMs?: number;
}

/**
 * Builds the product's job queue: BullMQ when `redisUrl` is set, the in-process runner otherwise.
 * Only `app/` calls this; parts receive the `JobQueue` and register their handlers before `start()`.
 */
export async function createJobQueue<C extends JobCatalog>(opts: CreateJobQueueOptions<C>): Promise<JobQueue<C>> {
  const { redisUrl, prefix, queueName, connectTimeoutMs, ...base } = opts;
  if (redisUrl) return createBullmqJobQueue<C>({ ...base, redisUrl, prefix, queueName, connectTimeoutMs });
  return createInProcessJobQueue<C>(base);
}
