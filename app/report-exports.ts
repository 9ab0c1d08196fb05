/**
 * The reports part's composition: the export service over its ports (figures, attachment storage,
 * chromium, the working calendar, the live feed, the directory), its jobs, and the schedule.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB, DialectName } from '../db';
import { chinaDate, Role, type Actor, type Clock } from '../core';
import type { JobNames, JobQueue } from '../jobs';
import type { CalendarService } from '../calendar';
import type { DirectoryService } from '../directory';
import type { LiveService } from '../live';
import { getCategory } from '../routing';
import { createDiskAttachmentStorage, createS3AttachmentStorage } from '../workorders';
import { createChromiumPrinter, createReportExportService, findChromiumBinary, periodOf, type ReportPrinter, type ReportSource, type ReportsService } from '../reports';
import type { AppConfig } from './config';

/** The reports part's jobs (merged into the product's catalog in app/context.ts). */
export type ReportJobs = {
  /** Render one export (its row says what); the job id is `reports.generate:<exportId>`. */
  'reports.generate': { exportId: string };
  /** The daily schedule (REPORTS_SCHEDULE_TIME, China time): the reports the working calendar owes today. */
  'reports.schedule': Record<string, never>;
  /** Exports never picked up or left by a dead node, and a missed schedule run (every node; each report once). */
  'reports.sweep': Record<string, never>;
};
export const REPORT_JOB_NAMES: JobNames<ReportJobs> = { 'reports.generate': true, 'reports.schedule': true, 'reports.sweep': true };

/**
 * The report documents of the figures part as the exports' source. A kind's natural period is asked
 * for by its first day; any other span (a daily report covering a holiday) by its dates. A unit's
 * export is built as that unit sees it: its own figures and its own rank, no other unit's details.
 */
export function reportSourceOf(reports: Pick<ReportsService, 'buildReportDocument'>): ReportSource {
  return {
    build(kind, period, cityId, filters) {
      const natural = periodOf(kind, period.from);
      const when = natural.from === period.from && natural.to === period.to ? period.from : { from: period.from, to: period.to };
      const viewer: Actor | undefined = filters.unitId
        ? { kind: 'system', id: null, name: 'reports', role: Role.unitManager, cityId, unitId: filters.unitId, territoryId: null, territoryPath: null }
        : undefined;
      return reports.buildReportDocument(kind, when, cityId, { unitId: filters.unitId, categoryId: filters.categoryId, territoryId: filters.territoryId, channel: filters.channel }, viewer);
    },
  };
}

export interface ReportExportsWiring {
  config: AppConfig;
  db: Kysely<DB>;
  dialect: DialectName;
  clock: Clock;
  jobs: JobQueue<ReportJobs>;
  calendar: Pick<CalendarService, 'isWorkday'>;
  directory: Pick<DirectoryService, 'listCities' | 'getUnit' | 'getTerritory'>;
  live: Pick<LiveService, 'publish'>;
  source: ReportSource;
  logger?: Logger;
}

/** Chromium when installed (or at CHROMIUM_PATH, which must exist); without it, PDF exports are refused. */
function printerOf(config: AppConfig, logger?: Logger): ReportPrinter | null {
  if (config.reports.chromiumPath) return createChromiumPrinter({ executablePath: config.reports.chromiumPath });
  if (!findChromiumBinary()) {
    logger?.warn('reports: chromium not found: PDF exports are refused and Excel files have no charts (install chromium and fonts-noto-cjk)');
    return null;
  }
  return createChromiumPrinter();
}

export async function createReportExports(w: ReportExportsWiring) {
  const { config, jobs } = w;
  const a = config.attachments;
  const exports = createReportExportService({
    db: w.db,
    dialect: w.dialect,
    clock: w.clock,
    source: w.source,
    // Report files are kept where work-order attachments are (a folder or the S3 bucket), under reports/.
    storage: a.s3 ? createS3AttachmentStorage(a.s3) : createDiskAttachmentStorage(a.dir),
    printer: printerOf(config, w.logger),
    calendar: w.calendar,
    lookups: {
      cities: async () => (await w.directory.listCities()).map((c) => ({ id: c.id, name: c.name })),
      unitExists: async (cityId, id) => (await w.directory.getUnit(id))?.cityId === cityId,
      territoryExists: async (cityId, id) => (await w.directory.getTerritory(id))?.cityId === cityId,
      categoryExists: async (cityId, id) => (await getCategory(w.db, id))?.cityId === cityId,
    },
    publish: async (e) => {
      await w.live.publish(e);
    },
    enqueue: async (exportId) => {
      await jobs.enqueue('reports.generate', { exportId }, { jobId: `reports.generate:${exportId}`, attempts: 1 });
    },
    scheduledFormats: config.reports.scheduledFormats,
    logger: w.logger,
  });

  jobs.register('reports.generate', ({ exportId }) => exports.generate(exportId));
  const { hour, minute } = config.reports.scheduleTime;
  /** The China date this node last ran the schedule for: the catch-up runs once a day per node. */
  let scheduledDay: string | null = null;
  const runSchedule = async () => {
    const day = chinaDate(w.clock.now());
    await exports.runSchedule();
    scheduledDay = day;
  };
  jobs.register('reports.schedule', runSchedule);
  jobs.register('reports.sweep', async () => {
    await exports.sweep();
    // A node that was down at the scheduled time catches up once it is past it (the same reports: idempotent).
    const now = w.clock.now();
    if (config.reports.schedule && scheduledDay !== chinaDate(now) && chinaMinutes(now) >= hour * 60 + minute) await runSchedule();
  });
  if (config.reports.schedule) await jobs.schedule('reports.schedule', { cron: `${minute} ${hour} * * *`, tz: 'Asia/Shanghai' }, {});
  await jobs.schedule('reports.sweep', { everyMs: Math.max(60, config.sweepIntervalSeconds) * 1000 }, {});
  return exports;
}

/** Minutes after midnight, China time. */
function chinaMinutes(d: Date): number {
  const m = Math.floor(d.getTime() / 60_000) + 8 * 60;
  return ((m % 1440) + 1440) % 1440;
}
