/**
 * Report exports (报表导出): a report of a kind, period, format and filters, generated once into a
 * file, kept and listed. A request writes a queued row (idempotent: the same report asked for twice
 * is the same row), a job renders it — progress on the row and on the live feed — and the file goes
 * to the attachment storage. The 08:00 schedule asks for the reports the working calendar owes.
 *
 * Who may export: the hotline center's supervisors, admins and dispatchers, any report of their
 * city; a unit's users (承办单位), only reports scoped to their own unit.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { insertIgnore, transactionWithRetry, type DB, type DialectName } from '../db';
import { recordAudit } from '../audit';
import {
  badRequest, forbidden, notFound, unprocessable, chinaDate, dbTimeToIso, newId, toDbTime, systemActor, Role, UNIT_ROLES,
  type Actor, type Clock, type CommandContext,
} from '../core';
import type { Audience } from '../live';
import { REPORT_KIND_ZH, ReportKind, type ReportPeriod } from './domain/report-document';
import { addDays, customPeriod, dueScheduledReports, isCalendarDate, periodOf } from './domain/export-periods';
import { generatedReportsRepository, type GeneratedReportRow } from './exports.repository';
import type { ReportCalendar, ReportFileStorage, ReportFilters, ReportLiveEvent, ExportLookups, ReportSource } from './exports.ports';
import { renderReportHtml } from './render/html';
import { renderReportExcel } from './render/excel';
import type { ReportPrinter } from './render/chromium';

/** 导出格式. */
export const ExportFormat = { html: 'html', pdf: 'pdf', xlsx: 'xlsx' } as const;
export type ExportFormat = (typeof ExportFormat)[keyof typeof ExportFormat];

/** queued (排队中) → running (生成中) → done (已完成) / failed (失败). */
export const ExportStatus = { queued: 'queued', running: 'running', done: 'done', failed: 'failed' } as const;
export type ExportStatus = (typeof ExportStatus)[keyof typeof ExportStatus];
export const EXPORT_STATUS_ZH: Record<ExportStatus, string> = { queued: '排队中', running: '生成中', done: '已完成', failed: '失败' };

const CONTENT_TYPES: Record<ExportFormat, string> = {
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** The center roles that export any report of the city; unit roles export their own unit's. */
const CENTER_EXPORT_ROLES = new Set<string>([Role.supervisor, Role.admin, Role.dispatcher, Role.system]);
/** Who is told of a report's progress and arrival (besides whoever asked). */
const FEED_ROLES: Role[] = [Role.supervisor, Role.admin, Role.dispatcher, Role.unitManager, Role.unitHandler];

/** A custom period spans at most this many days (a year and a leap day). */
const MAX_PERIOD_DAYS = 366;

export interface ExportRequest {
  kind: ReportKind;
  /** The first day; alone, the kind's natural period containing it (the day, week, month, year). */
  from: string;
  /** Exclusive end for a custom period. */
  to?: string;
  format: ExportFormat;
  filters?: ReportFilters;
}

export interface ExportView {
  id: string;
  kind: ReportKind;
  kindZh: string;
  period: ReportPeriod;
  format: ExportFormat;
  filters: ReportFilters;
  unitId: string | null;
  status: ExportStatus;
  statusZh: string;
  progress: number;
  origin: 'request' | 'schedule';
  requestedBy: { id: string | null; name: string | null };
  title: string | null;
  fileName: string | null;
  fileSize: number | null;
  contentType: string | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The API path of the file, once done. */
  downloadUrl: string | null;
}

export interface ExportLogger {
  error(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export interface ReportExportDeps {
  db: Kysely<DB>;
  dialect: DialectName;
  clock: Clock;
  source: ReportSource;
  storage: ReportFileStorage;
  /** Chromium: needed for PDF, and for the charts of an Excel file (without it, tables only). */
  printer: ReportPrinter | null;
  calendar: ReportCalendar;
  lookups: ExportLookups;
  publish: (e: ReportLiveEvent) => Promise<void>;
  /** Hands an export to the job queue (job id derived from the export: a repeat is a no-op). */
  enqueue: (exportId: string) => Promise<void>;
  /** What the schedule generates of each due report; default PDF and Excel. */
  scheduledFormats?: ExportFormat[];
  /** How long a run may go without progress before a sweep hands it to another node; default 10 min. */
  leaseMs?: number;
  logger?: ExportLogger;
}

const API_BASE = '/api/v1/reports/exports';

/** Filters with empty values dropped and keys sorted: the same filters always hash the same. */
export function canonicalFilters(f: ReportFilters | undefined): ReportFilters {
  const out: Record<string, string> = {};
  for (const k of ['categoryId', 'channel', 'groupBy', 'territoryId', 'unitId'] as const) {
    const v = f?.[k];
    if (typeof v === 'string' && v.trim() !== '') out[k] = v.trim();
  }
  return out;
}

/** The export's identity: city, kind, period, format and filters (the unit scope is among the filters). */
export function exportKeyOf(cityId: string, kind: ReportKind, period: Pick<ReportPeriod, 'from' | 'to'>, format: ExportFormat, filters: ReportFilters): string {
  return createHash('sha256').update(JSON.stringify([cityId, kind, period.from, period.to, format, canonicalFilters(filters)])).digest('hex');
}

/** A file name without characters a file system or a header refuses. */
function safeFileName(title: string, format: ExportFormat): string {
  const base = title.replace(/[\\/:*?"<>|\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 120) || '报表';
  return `${base}.${format}`;
}

const parseFilters = (s: string): ReportFilters => {
  try {
    return canonicalFilters(JSON.parse(s) as ReportFilters);
  } catch {
    return {};
  }
};

export function toExportView(r: GeneratedReportRow): ExportView {
  const status = r.status as ExportStatus;
  return {
    id: r.id,
    kind: r.kind as ReportKind,
    kindZh: REPORT_KIND_ZH[r.kind as ReportKind] ?? r.kind,
    period: { from: r.period_from, to: r.period_to, label: r.period_label },
    format: r.format as ExportFormat,
    filters: parseFilters(r.filters),
    unitId: r.unit_id,
    status,
    statusZh: EXPORT_STATUS_ZH[status] ?? r.status,
    progress: Number(r.progress),
    origin: r.origin === 'schedule' ? 'schedule' : 'request',
    requestedBy: { id: r.requested_by, name: r.requested_by_name },
    title: r.title,
    fileName: r.file_name,
    fileSize: r.file_size === null ? null : Number(r.file_size),
    contentType: r.content_type,
    error: r.error,
    createdAt: dbTimeToIso(r.created_at)!,
    startedAt: dbTimeToIso(r.started_at),
    finishedAt: dbTimeToIso(r.finished_at),
    downloadUrl: status === 'done' ? `${API_BASE}/${r.id}/file` : null,
  };
}

export function createReportExportService(deps: ReportExportDeps) {
  const { db, dialect, clock, source, storage, printer, calendar, lookups } = deps;
  const leaseMs = deps.leaseMs ?? 10 * 60_000;
  const scheduledFormats = deps.scheduledFormats ?? ['pdf', 'xlsx'];
  const repo = (x: Kysely<DB> = db) => generatedReportsRepository(x);

  /** The unit whose reports the actor is limited to, or null for the whole city; refuses other roles. */
  function scopeOf(actor: Actor): { unitId: string | null } {
    if (CENTER_EXPORT_ROLES.has(actor.role)) return { unitId: null };
    if (UNIT_ROLES.has(actor.role) && actor.unitId) return { unitId: actor.unitId };
    throw forbidden('REPORT_ROLE_FORBIDDEN', `role ${actor.role} may not export reports`, `角色 ${actor.role} 无权导出报表`);
  }

  function visible(actor: Actor, r: GeneratedReportRow): boolean {
    if (r.city_id !== actor.cityId) return false;
    const scope = scopeOf(actor);
    return scope.unitId === null || r.unit_id === scope.unitId;
  }

  function audienceOf(r: GeneratedReportRow): Audience {
    return {
      center: true,
      unitIds: r.unit_id ? [r.unit_id] : [],
      userIds: r.requested_by ? [r.requested_by] : [],
      roles: FEED_ROLES,
    };
  }

  async function announce(type: ReportLiveEvent['type'], r: GeneratedReportRow, key: string) {
    const view = toExportView(r);
    try {
      await deps.publish({ type, cityId: r.city_id, audience: audienceOf(r), data: { export: view }, unitData: { export: view }, key });
    } catch (err) {
      deps.logger?.error({ err, exportId: r.id, type }, 'reports: live event not published');
    }
  }

  /** Checks the period: real dates, in order, not after today (China time), not longer than a year. */
  function resolvePeriod(kind: ReportKind, from: string, to: string | undefined): ReportPeriod {
    if (!isCalendarDate(from) || (to !== undefined && !isCalendarDate(to))) {
      throw badRequest('REPORT_PERIOD_INVALID', 'from and to must be real dates YYYY-MM-DD', '统计周期的日期无效（应为 YYYY-MM-DD）');
    }
    if (Number(from.slice(0, 4)) < 2000) throw badRequest('REPORT_PERIOD_INVALID', 'the period starts before 2000', '统计周期早于 2000 年');
    const period = to === undefined ? periodOf(kind, from) : customPeriod(kind, from, to);
    if (period.from >= period.to) throw badRequest('REPORT_PERIOD_ORDER', 'the period ends before it starts', '统计周期的结束日期早于开始日期');
    const tomorrow = addDays(chinaDate(clock.now()), 1);
    if (period.from >= tomorrow) throw unprocessable('REPORT_PERIOD_FUTURE', 'the period starts after today: there are no figures yet', '统计周期晚于今天，尚无数据');
    if (addDays(period.from, MAX_PERIOD_DAYS) < period.to) throw badRequest('REPORT_PERIOD_TOO_LONG', `a period spans at most ${MAX_PERIOD_DAYS} days`, `统计周期最长 ${MAX_PERIOD_DAYS} 天`);
    return period;
  }

  async function checkFilters(cityId: string, f: ReportFilters) {
    if (f.unitId && !(await lookups.unitExists(cityId, f.unitId))) throw badRequest('REPORT_UNIT_UNKNOWN', `unknown unit ${f.unitId}`, `承办单位 ${f.unitId} 不存在`);
    if (f.categoryId && !(await lookups.categoryExists(cityId, f.categoryId))) throw badRequest('REPORT_CATEGORY_UNKNOWN', `unknown category ${f.categoryId}`, `诉求类别 ${f.categoryId} 不存在`);
    if (f.territoryId && !(await lookups.territoryExists(cityId, f.territoryId))) throw badRequest('REPORT_TERRITORY_UNKNOWN', `unknown territory ${f.territoryId}`, `区域 ${f.territoryId} 不存在`);
  }

  /**
   * Queues a row for the export unless its key exists; a failed one is queued again. Returns the row
   * and whether this call queued it (then the caller hands it to the job queue).
   */
  async function ensureExport(ctx: CommandContext, input: { kind: ReportKind; period: ReportPeriod; format: ExportFormat; filters: ReportFilters; origin: 'request' | 'schedule' }) {
    const cityId = ctx.actor.cityId;
    const key = exportKeyOf(cityId, input.kind, input.period, input.format, input.filters);
    const now = clock.now();
    const nowDb = toDbTime(now);
    const by = ctx.actor.kind === 'system' ? { id: null, name: null } : { id: ctx.actor.id, name: ctx.actor.name };
    return transactionWithRetry(db, async (trx) => {
      const row: GeneratedReportRow = {
        id: newId(), city_id: cityId, unit_id: input.filters.unitId ?? null, kind: input.kind, period_from: input.period.from, period_to: input.period.to,
        period_label: input.period.label, format: input.format, filters: JSON.stringify(input.filters), idempotency_key: key, origin: input.origin,
        requested_by: by.id, requested_by_name: by.name, status: ExportStatus.queued, progress: 0, attempts: 0, lease_until: null, title: null,
        file_key: null, file_name: null, content_type: null, file_size: null, error: null, created_at: nowDb, updated_at: nowDb, started_at: null, finished_at: null,
      };
      if (await insertIgnore(trx as Kysely<DB>, dialect, 'generated_reports', row as unknown as Record<string, unknown>)) {
        await recordAudit(trx, ctx, { entityType: 'generated_report', entityId: row.id, action: 'report.export_requested', after: { kind: row.kind, period: input.period, format: row.format, filters: input.filters, origin: row.origin }, cityId }, now);
        return { row, queued: true };
      }
      const existing = (await repo(trx).findByKey(key))!;
      if (existing.status === ExportStatus.failed && (await repo(trx).requeueFailed(existing.id, nowDb, by))) {
        await recordAudit(trx, ctx, { entityType: 'generated_report', entityId: existing.id, action: 'report.export_requeued', before: { status: 'failed', error: existing.error }, after: { status: 'queued' }, cityId }, now);
        return { row: (await repo(trx).findById(existing.id))!, queued: true };
      }
      return { row: existing, queued: false };
    });
  }

  async function handOver(id: string) {
    try {
      await deps.enqueue(id);
    } catch (err) {
      // The row stays queued: the sweep hands it over again.
      deps.logger?.error({ err, exportId: id }, 'reports: export not enqueued; the sweep will retry');
    }
  }

  async function update(id: string, progress: number) {
    const now = clock.now();
    await repo().setProgress(id, progress, toDbTime(now), toDbTime(new Date(now.getTime() + leaseMs)));
    const r = await repo().findById(id);
    if (r) await announce('report.progressed', r, `report:${id}:${r.attempts}:progress:${progress}`);
  }

  async function render(r: GeneratedReportRow): Promise<{ body: Buffer; title: string }> {
    const period: ReportPeriod = { from: r.period_from, to: r.period_to, label: r.period_label };
    const doc = await source.build(r.kind as ReportKind, period, r.city_id, parseFilters(r.filters));
    await update(r.id, 40);
    const format = r.format as ExportFormat;
    if (format === 'xlsx') {
      const body = await renderReportExcel(doc, { printer: printer ?? undefined });
      return { body, title: doc.titleZh };
    }
    const html = renderReportHtml(doc);
    if (format === 'html') return { body: Buffer.from(html, 'utf8'), title: doc.titleZh };
    await update(r.id, 60);
    if (!printer) throw new Error('no chromium on this node: PDF cannot be printed');
    return { body: await printer.pdf(html), title: doc.titleZh };
  }

  return {
    /** 导出: queues an export (or returns the one already asked for) and hands it to the job queue. */
    async request(ctx: CommandContext, input: ExportRequest): Promise<{ export: ExportView; created: boolean }> {
      const scope = scopeOf(ctx.actor);
      if (!(input.kind in ReportKind)) throw badRequest('REPORT_KIND_INVALID', `unknown report kind ${input.kind}`, `报表类型 ${input.kind} 无效`);
      if (!(input.format in ExportFormat)) throw badRequest('REPORT_FORMAT_INVALID', `unknown format ${input.format}`, `导出格式 ${input.format} 无效`);
      const filters = canonicalFilters(input.filters);
      if (scope.unitId) {
        // A unit sees its own figures only: its exports are scoped to it, whatever the request says.
        if (filters.unitId && filters.unitId !== scope.unitId) {
          throw forbidden('REPORT_SCOPE_FORBIDDEN', 'a unit exports its own reports only', '承办单位只能导出本单位的报表');
        }
        filters.unitId = scope.unitId;
      }
      const period = resolvePeriod(input.kind, input.from, input.to);
      if (input.format === 'pdf' && !printer) throw unprocessable('REPORT_PDF_UNAVAILABLE', 'PDF export needs chromium on the server', '服务器未安装 chromium，无法导出 PDF');
      await checkFilters(ctx.actor.cityId, filters);
      const { row, queued } = await ensureExport(ctx, { kind: input.kind, period, format: input.format, filters, origin: 'request' });
      if (queued) await handOver(row.id);
      return { export: toExportView(row), created: queued };
    },

    async list(actor: Actor, q: { page: number; pageSize: number; status?: string[]; kind?: string }) {
      const scope = scopeOf(actor);
      const { rows, total } = await repo().list({ cityId: actor.cityId, unitId: scope.unitId ?? undefined, status: q.status, kind: q.kind, limit: q.pageSize, offset: (q.page - 1) * q.pageSize });
      return { items: rows.map(toExportView), total, page: q.page, pageSize: q.pageSize };
    },

    async get(actor: Actor, id: string): Promise<ExportView> {
      const r = await repo().findById(id);
      if (!r || !visible(actor, r)) throw notFound('REPORT_EXPORT_NOT_FOUND', `no report export ${id}`, `报表导出记录 ${id} 不存在`);
      return toExportView(r);
    },

    /** The file of a finished export, for download. */
    async readFile(actor: Actor, id: string): Promise<{ fileName: string; contentType: string; body: Buffer }> {
      const r = await repo().findById(id);
      if (!r || !visible(actor, r)) throw notFound('REPORT_EXPORT_NOT_FOUND', `no report export ${id}`, `报表导出记录 ${id} 不存在`);
      if (r.status !== ExportStatus.done || !r.file_key) throw unprocessable('REPORT_EXPORT_NOT_READY', `export ${id} is ${r.status}`, `报表尚未生成完成（${EXPORT_STATUS_ZH[r.status as ExportStatus] ?? r.status}）`);
      return { fileName: r.file_name ?? `report.${r.format}`, contentType: r.content_type ?? CONTENT_TYPES[r.format as ExportFormat], body: await storage.get(r.file_key) };
    },

    /**
     * The job: renders one export. Idempotent: a run already taken by another node (or finished) is
     * left alone. A failure marks the row failed (asking again re-queues it) rather than retrying
     * blindly: a document that failed to render fails the same way again.
     */
    async generate(id: string): Promise<void> {
      const now = clock.now();
      if (!(await repo().claim(id, toDbTime(now), toDbTime(new Date(now.getTime() + leaseMs))))) return;
      let r = (await repo().findById(id))!;
      await announce('report.progressed', r, `report:${id}:${r.attempts}:progress:0`);
      const actor = systemActor(r.city_id, 'reports');
      try {
        await update(id, 10);
        const { body, title } = await render(r);
        await update(id, 90);
        const format = r.format as ExportFormat;
        const fileKey = `reports/${r.city_id}/${r.period_from.slice(0, 4)}/${r.id}.${format}`;
        await storage.put(fileKey, body, CONTENT_TYPES[format]);
        const done = clock.now();
        const set = { title: title.slice(0, 255), file_key: fileKey, file_name: safeFileName(title, format), content_type: CONTENT_TYPES[format], file_size: body.length };
        const finished = await transactionWithRetry(db, async (trx) => {
          if (!(await repo(trx).finish(id, set, toDbTime(done)))) return false;
          await recordAudit(trx, { actor }, { entityType: 'generated_report', entityId: id, action: 'report.generated', after: { fileKey, fileSize: body.length }, cityId: r.city_id }, done);
          return true;
        });
        if (!finished) return;
        r = (await repo().findById(id))!;
        await announce('report.generated', r, `report:${id}:generated`);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        deps.logger?.error({ err, exportId: id }, 'reports: export failed');
        const at = clock.now();
        const failed = await transactionWithRetry(db, async (trx) => {
          if (!(await repo(trx).fail(id, message, toDbTime(at)))) return false;
          await recordAudit(trx, { actor }, { entityType: 'generated_report', entityId: id, action: 'report.failed', after: { error: message.slice(0, 500) }, cityId: r.city_id }, at);
          return true;
        });
        if (failed) await announce('report.failed', (await repo().findById(id))!, `report:${id}:${r.attempts}:failed`);
      }
    },

    /**
     * The 08:00 run: the reports the working calendar owes today (see domain/export-periods.ts), for
     * every city, in the scheduled formats. Idempotent: several nodes, a retry or the catch-up sweep
     * queue each report once. Returns the exports it queued.
     */
    async runSchedule(): Promise<string[]> {
      const today = chinaDate(clock.now());
      const due = await dueScheduledReports(today, (d) => calendar.isWorkday(d));
      const queued: string[] = [];
      for (const city of await lookups.cities()) {
        const ctx: CommandContext = { actor: systemActor(city.id, 'reports.schedule') };
        for (const d of due) {
          for (const format of scheduledFormats) {
            if (format === 'pdf' && !printer) continue;
            const { row, queued: isNew } = await ensureExport(ctx, { kind: d.kind, period: d.period, format, filters: {}, origin: 'schedule' });
            if (isNew) {
              queued.push(row.id);
              await handOver(row.id);
            }
          }
        }
      }
      return queued;
    },

    /** Hands stranded exports (never picked up, or whose node died mid-run) to the queue again. */
    async sweep(): Promise<number> {
      const now = clock.now();
      const rows = await repo().stranded(toDbTime(now), toDbTime(new Date(now.getTime() - 60_000)));
      for (const r of rows) await handOver(r.id);
      return rows.length;
    },
  };
}

export type ReportExportService = ReturnType<typeof createReportExportService>;
