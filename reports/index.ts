/**
 * Reports (统计分析与报告): the KPIs as documented definitions (docs/kpis.md), rollups kept in the
 * ticket and work-order transactions, figures, unit rankings (weighted, 寿光, 诸城), drill-downs,
 * and report documents (日报告, 周梳理, 月通报, 年度报告) — rendered to HTML, PDF and Excel, generated
 * on request or on schedule, kept and listed (docs/reports.md).
 */
export {
  KPIS, KPI_BY_KEY, CALL_KPIS, MEASURES, Measure, PeriodRule, PERIOD_RULE_ZH, DEFAULT_SATISFACTION_WEIGHTS, contributionsOf, matterContributionsOf, kpiDocTable,
  type KpiDefinition, type TicketFacts, type GridMatterFacts, type WorkOrderFacts, type Contribution, type SatisfactionWeights,
} from './domain/kpis';
export { resolvePeriod, PeriodKind } from './domain/periods';
export { ReportSettings, RankingScheme, RANKING_SCHEME_ZH, compositeScore, shouguangScore, rank, bottomUnits } from './domain/scoring';
export { ReportKind, REPORT_KIND_ZH, type ReportDocument, type ReportPeriod, type ReportFigure, type ReportTable, type ReportChart } from './domain/report-document';
export type { ReportLookups, TicketFactsSource, GridMatterSource, CallMetricsSource, CallCounts, TicketViews, UnitRef, CategoryRef, TerritoryRef } from './ports';
/**
 * The figures service: `refreshWithin(trx, ticketIds)` (called from the ticket and work-order
 * events inside their transactions), `countMattersWithin(trx, matters)` (from the grid's
 * `gridmatter.recorded`, inside its transaction), `figures`, `rankings`, `drill`, `buildReportDocument(kind,
 * date | {from, to}, cityId, filters, actor?)` and `rebuild(cityId, {from, to, checkOnly})`.
 */
export {
  createReportsService, GroupBy,
  type ReportsService, type ReportsDeps, type FiguresQuery, type FiguresResult, type KpiFigure, type RankingResult, type RankingRow, type RebuildReport, type CallFigures,
} from './reports.service';
export { reportsRoutes, type ReportsRoutesOptions } from './reports.routes';

/** The formats: HTML (handlebars, A4), charts as SVG (ECharts SSR), PDF and chart PNGs (chromium), Excel (exceljs). */
export { renderReportHtml } from './render/html';
export { renderReportExcel, sheetNameFor } from './render/excel';
export { renderChartSvg, DEFAULT_CHART_SIZE, type ChartSize } from './render/charts';
export { createChromiumPrinter, findChromiumBinary, type ReportPrinter, type ChromiumPrinterOptions } from './render/chromium';
export { formatValue, periodChange } from './render/format';
export type { ReportFilters, ReportSource, ReportFileStorage, ReportCalendar, ReportLiveEvent, ExportLookups } from './exports.ports';
export { periodOf, customPeriod, previousPeriodOf, dueScheduledReports, isoWeek, mondayOf, isCalendarDate, type DueReport } from './domain/export-periods';
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
/** The counters' grains and keys, for bulk loaders that write rollup rows directly (the bench, a migration of history). */
export { atEveryGrain, atEveryMonthGrain, atEveryRollup, splitByMonths, rollupKeyOf, grainFor, Grain, MONTH_GRAINS, MONTH_GRAIN_PREFIX, type RollupGrain } from './reports.repository';
/** Hotspot warnings (热点预警, 未诉先办): counts, detection, delivery and proactive tickets (see reports/hotspots/index.ts). */
export * from './hotspots';
