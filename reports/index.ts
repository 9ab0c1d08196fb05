/**
 * Reports (报表): the daily report, weekly review, monthly bulletin and yearly report as documents,
 * rendered to HTML, PDF and Excel, generated on request or on schedule, kept and listed.
 */
export * from './domain/report-document';
export { renderReportHtml } from './render/html';
export { renderReportExcel, sheetNameFor } from './render/excel';
export { renderChartSvg, DEFAULT_CHART_SIZE, type ChartSize } from './render/charts';
export { createChromiumPrinter, findChromiumBinary, type ReportPrinter, type ChromiumPrinterOptions } from './render/chromium';
export { formatValue, periodChange } from './render/format';
export type { ReportFilters, ReportSource, ReportFileStorage, ReportCalendar, ReportLiveEvent, ExportLookups } from './exports.ports';
export { periodOf, customPeriod, previousPeriodOf, dueScheduledReports, isoWeek, mondayOf, addDays, isCalendarDate, type DueReport } from './domain/export-periods';
/**
 * The export service: `createReportExportService(deps)` → `request` (idempotent), `list`, `get`,
 * `readFile`, and for jobs `generate(exportId)`, `runSchedule()`, `sweep()`.
 */
export {
  createReportExportService, toExportView, exportKeyOf, canonicalFilters, ExportFormat, ExportStatus, EXPORT_STATUS_ZH,
  type ReportExportService, type ReportExportDeps, type ExportRequest, type ExportView,
} from './exports.service';
/** The fastify plugin: POST/GET /reports/exports, GET /reports/exports/:id and /:id/file. */
export { reportExportRoutes, contentDisposition, ExportViewSchema, ReportFiltersSchema, type ReportExportRoutesOptions } from './exports.routes';
