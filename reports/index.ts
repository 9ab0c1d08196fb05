/**
 * Reports (统计分析与报告): the KPIs as documented definitions (docs/kpis.md), rollups kept in the
 * ticket and work-order transactions, figures, unit rankings (weighted, 寿光, 诸城), drill-downs,
 * and report documents (日报告, 周梳理, 月通报, 年度报告) that every format renders.
 */
export {
  KPIS, KPI_BY_KEY, CALL_KPIS, MEASURES, Measure, PeriodRule, PERIOD_RULE_ZH, DEFAULT_SATISFACTION_WEIGHTS, contributionsOf, kpiDocTable,
  type KpiDefinition, type TicketFacts, type WorkOrderFacts, type Contribution, type SatisfactionWeights,
} from './domain/kpis';
export { resolvePeriod, PeriodKind } from './domain/periods';
export { ReportSettings, RankingScheme, RANKING_SCHEME_ZH, compositeScore, shouguangScore, rank, bottomUnits } from './domain/scoring';
export { ReportKind, REPORT_KIND_ZH, type ReportDocument, type ReportPeriod, type ReportFigure, type ReportTable, type ReportChart } from './domain/report-document';
export type { ReportLookups, TicketFactsSource, CallMetricsSource, CallCounts, TicketViews, UnitRef, CategoryRef, TerritoryRef } from './ports';
/**
 * The figures service: `refreshWithin(trx, ticketIds)` (called from the ticket and work-order
 * events inside their transactions), `figures`, `rankings`, `drill`, `buildReportDocument(kind,
 * date, cityId, filters)` and `rebuild(cityId, {from, to, checkOnly})`.
 */
export {
  createReportsService, GroupBy,
  type ReportsService, type ReportsDeps, type FiguresQuery, type FiguresResult, type KpiFigure, type RankingResult, type RankingRow, type RebuildReport, type CallFigures,
} from './reports.service';
export { reportsRoutes, type ReportsRoutesOptions } from './reports.routes';
/** The counters' grains and keys, for bulk loaders that write rollup rows directly (the bench, a migration of history). */
export { atEveryGrain, rollupKeyOf, grainFor, Grain } from './reports.repository';
