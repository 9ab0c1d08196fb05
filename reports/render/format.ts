/**
 * How a figure reads in every format (HTML, PDF, Excel): counts with thousands separators, rates as
 * percentages, durations in seconds or minutes, and 环比 (change against the previous period) as a
 * relative change, or in percentage points (个百分点) for rates, where a relative change misleads.
 */
import type { ReportFigure } from '../domain/report-document';

export type FigureUnit = ReportFigure['unit'] | 'text';

const countFormat = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 0 });

/** A value as a reader sees it; null (a rate of nothing, a missing cell) reads as "—". */
export function formatValue(value: string | number | null | undefined, unit: FigureUnit | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return '—';
  switch (unit) {
    case 'rate':
      return `${(value * 100).toFixed(2)}%`;
    case 'seconds':
      return value >= 120 ? `${(value / 60).toFixed(1)} 分钟` : `${value.toFixed(1)} 秒`;
    case 'score':
      return value.toFixed(2);
    case 'count':
      return countFormat.format(value);
    default:
      return Number.isInteger(value) ? countFormat.format(value) : value.toFixed(2);
  }
}

/** 环比: direction and text; `none` when there is nothing to compare with. */
export interface PeriodChange {
  direction: 'up' | 'down' | 'flat' | 'none';
  text: string;
}

export function periodChange(f: Pick<ReportFigure, 'value' | 'previous' | 'unit'>): PeriodChange {
  const { value, previous } = f;
  if (value === null || previous === null || previous === undefined) return { direction: 'none', text: '—' };
  const direction = value > previous ? 'up' : value < previous ? 'down' : 'flat';
  const arrow = direction === 'up' ? '↑' : direction === 'down' ? '↓' : '';
  if (f.unit === 'rate') {
    const points = Math.abs(value - previous) * 100;
    return { direction, text: direction === 'flat' ? '持平' : `${arrow}${points.toFixed(2)}个百分点` };
  }
  if (previous === 0) return value === 0 ? { direction: 'flat', text: '持平' } : { direction, text: '上期为 0' };
  const relative = Math.abs((value - previous) / previous) * 100;
  return { direction, text: direction === 'flat' ? '持平' : `${arrow}${relative.toFixed(1)}%` };
}

/** Excel number formats matching {@link formatValue}. */
export function excelNumberFormat(unit: FigureUnit | undefined): string | undefined {
  switch (unit) {
    case 'rate':
      return '0.00%';
    case 'count':
      return '#,##0';
    case 'seconds':
      return '0.0';
    case 'score':
      return '0.00';
    default:
      return undefined;
  }
}
