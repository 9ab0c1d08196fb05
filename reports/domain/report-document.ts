/**
 * A generated report (报告) as data: what the figures service produces and every format renders —
 * the console, HTML (handlebars), Excel (exceljs) and PDF (chromium printing the HTML). Renderers
 * never compute a figure: they lay out what is here.
 */

/** 日报告, 周梳理, 月通报, 年度报告. */
export const ReportKind = { daily: 'daily', weekly: 'weekly', monthly: 'monthly', yearly: 'yearly' } as const;
export type ReportKind = (typeof ReportKind)[keyof typeof ReportKind];

export const REPORT_KIND_ZH: Record<ReportKind, string> = { daily: '日报告', weekly: '周梳理', monthly: '月通报', yearly: '年度报告' };

/** A period as calendar dates in the city's time zone, `to` exclusive: [from, to). */
export interface ReportPeriod {
  from: string; // YYYY-MM-DD
  to: string; // YYYY-MM-DD, exclusive
  label: string; // e.g. 2026年11月, 2026年第48周, 2026年12月3日
}

/** One figure: a KPI value with what it was computed from, and where to drill down. */
export interface ReportFigure {
  /** The KPI's key in the definitions (docs/kpis.md), e.g. `onTimeCompletionRate`. */
  kpi: string;
  labelZh: string;
  /** A count, or a rate in [0, 1] (`unit: 'rate'`), or seconds. Null when the denominator is 0. */
  value: number | null;
  unit: 'count' | 'rate' | 'seconds' | 'score';
  numerator?: number;
  denominator?: number;
  /** The same figure in the previous period, for 环比. */
  previous?: number | null;
  /** The API query that lists the tickets behind the number (GET /api/v1/reports/drill?...). */
  drill?: string;
}

/** A table: columns with their kind, rows of cells. */
export interface ReportTable {
  id: string;
  titleZh: string;
  columns: { key: string; labelZh: string; unit?: ReportFigure['unit'] | 'text' }[];
  rows: Record<string, string | number | null>[];
  /** Per row and column, the drill-down query of a cell (same shape as `rows`). */
  drill?: Record<string, string | null>[];
}

/** A chart as an ECharts option; the server renders it to SVG for HTML/PDF and to PNG for Excel. */
export interface ReportChart {
  id: string;
  titleZh: string;
  option: Record<string, unknown>;
}

export interface ReportDocument {
  kind: ReportKind;
  cityId: string;
  cityName: string;
  period: ReportPeriod;
  previousPeriod: ReportPeriod | null;
  generatedAt: string; // ISO with +08:00
  titleZh: string; // e.g. 某市12345热线2026年11月通报
  /** Headline figures (总量, 按期办结率, 满意率, …). */
  summary: ReportFigure[];
  /** Sections in reading order: e.g. 总体情况, 分单位, 分类别, 分区域, 排名, 热点问题. */
  sections: { id: string; titleZh: string; paragraphsZh: string[]; tables: ReportTable[]; charts: ReportChart[] }[];
}
