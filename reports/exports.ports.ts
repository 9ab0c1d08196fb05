/**
 * What the report exports need from outside, as ports that app/ fills: the figures (the report
 * document builder), file storage (workorders' attachment storage), the printer (chromium), the
 * working calendar, the live feed, and lookups for the filters' units, categories and territories.
 */
import type { Audience } from '../live';
import type { ReportDocument, ReportKind, ReportPeriod } from './domain/report-document';

/** Filters of a report: one unit (承办单位), category (类别, any level), territory (区域, any level), channel. */
export interface ReportFilters {
  unitId?: string;
  categoryId?: string;
  territoryId?: string;
  channel?: string;
  /** How the tables group rows: unit, category, territory, channel or type. */
  groupBy?: string;
}

/** Builds a report document; the figures service's `buildReportDocument` behind it. */
export interface ReportSource {
  build(kind: ReportKind, period: ReportPeriod, cityId: string, filters: ReportFilters): Promise<ReportDocument>;
}

/** Where the files are kept: workorders' AttachmentStorage (disk or S3) fits. */
export interface ReportFileStorage {
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  get(key: string): Promise<Buffer>;
}

/** The working calendar (工作日历): calendar's `isWorkday('YYYY-MM-DD')`. */
export interface ReportCalendar {
  isWorkday(day: string): Promise<boolean>;
}

/** A live-feed event (progress, a report ready); `key` makes a repeat the same event. */
export interface ReportLiveEvent {
  type: 'report.progressed' | 'report.generated' | 'report.failed';
  cityId: string;
  audience: Audience;
  data: unknown;
  unitData?: unknown;
  key?: string;
}

/** Checks of filter ids against the directory and the categories, in the report's city. */
export interface ExportLookups {
  cities(): Promise<{ id: string; name: string }[]>;
  unitExists(cityId: string, unitId: string): Promise<boolean>;
  categoryExists(cityId: string, categoryId: string): Promise<boolean>;
  territoryExists(cityId: string, territoryId: string): Promise<boolean>;
}
