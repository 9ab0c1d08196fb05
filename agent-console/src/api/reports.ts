/**
 * Reports (报表): the figures of a period as a report document (the same document every export
 * format renders: reports/domain/report-document.ts on the server), the tickets behind a number
 * (drill-down), and generated report files (exports).
 *
 * The page reads `GET /reports/documents/:kind?date&to&unitId&categoryId&territoryId&channel`: the
 * report document of the kind's period containing `date` (or of `date`..`to`, both inclusive), with
 * summary figures (环比), sections, tables and ECharts options. Each figure and table cell may carry
 * `drill`, the API path (with its query) of `GET /reports/drill`, which answers a page of tickets.
 */
import { http } from './http';
import type { Page } from './types';

export type ReportKind = 'daily' | 'weekly' | 'monthly' | 'yearly';
export type FigureUnit = 'count' | 'rate' | 'seconds' | 'score';

export interface ReportPeriod {
  from: string;
  to: string;
  label: string;
}

export interface ReportFigure {
  kpi: string;
  labelZh: string;
  value: number | null;
  unit: FigureUnit;
  numerator?: number;
  denominator?: number;
  previous?: number | null;
  drill?: string;
}

export interface ReportTable {
  id: string;
  titleZh: string;
  columns: { key: string; labelZh: string; unit?: FigureUnit | 'text' }[];
  rows: Record<string, string | number | null>[];
  drill?: Record<string, string | null>[];
}

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
  generatedAt: string;
  titleZh: string;
  summary: ReportFigure[];
  sections: { id: string; titleZh: string; paragraphsZh: string[]; tables: ReportTable[]; charts: ReportChart[] }[];
}

export interface ReportFilters {
  unitId?: string;
  categoryId?: string;
  territoryId?: string;
  channel?: string;
  groupBy?: 'unit' | 'category' | 'territory' | 'channel' | 'type';
}

export interface FiguresQuery extends ReportFilters {
  kind: ReportKind;
  from: string;
  /** Exclusive end. */
  to: string;
  /** A span other than the kind's natural period. */
  custom?: boolean;
}

/** A ticket behind a number: what the drill-down list shows (the rest is in the ticket drawer). */
/** A matter handled in the grid behind 网格自办事项 (not a ticket: no number, no unit). */
export interface DrillMatter {
  id: string;
  title: string;
  handling: string;
  addressText: string | null;
  recorderName: string;
  handledAt: string;
}

export interface DrillTicket {
  id: string;
  number: string;
  title?: string | null;
  situation?: string | null;
  status: string;
  type?: string | null;
  channel?: string | null;
  unitName?: string | null;
  createdAt?: string | null;
  acceptedAt?: string | null;
}

export type ExportFormat = 'html' | 'pdf' | 'xlsx';
export type ExportStatus = 'queued' | 'running' | 'done' | 'failed';

export interface ReportExport {
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
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
  downloadUrl: string | null;
}

/** A drill link is an API path (`/api/v1/reports/drill?...`); the client adds the page. */
function drillPath(link: string): { path: string; query: Record<string, string> } {
  const url = new URL(link, 'http://x');
  const path = url.pathname.replace(/^\/api\/v1/, '');
  return { path, query: Object.fromEntries(url.searchParams.entries()) };
}

export const reportsApi = {
  document(q: FiguresQuery, signal?: AbortSignal) {
    const { kind, from, to, custom, groupBy: _groupBy, ...filters } = q;
    const last = new Date(Date.parse(`${to}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    return http.get<ReportDocument>(`/reports/documents/${kind}`, { date: from, to: custom ? last : undefined, ...filters }, signal);
  },
  drill(link: string, page: number, pageSize: number) {
    const { path, query } = drillPath(link);
    // `kpi` says what the rows are: gridMatters lists matters (DrillMatter), every other KPI tickets.
    return http.get<Page<DrillTicket> & { kpi: string }>(path, { ...query, page, pageSize });
  },
  exports: (q: { page?: number; pageSize?: number } = {}) => http.get<Page<ReportExport>>('/reports/exports', { ...q }),
  requestExport: (body: { kind: ReportKind; from: string; to?: string; format: ExportFormat; filters: ReportFilters }) => http.post<ReportExport>('/reports/exports', body),
};
