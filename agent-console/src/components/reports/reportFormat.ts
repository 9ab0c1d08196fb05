/**
 * Figures as read on screen, the same rules as the exported files (reports/render/format.ts on the
 * server): rates as percentages, 环比 of a rate in percentage points, of a count as a relative change.
 */
import type { FigureUnit, ReportFigure } from '../../api/reports';

const countFmt = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 0 });

export function formatFigure(value: string | number | null | undefined, unit: FigureUnit | 'text' | undefined): string {
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
    default:
      return Number.isInteger(value) ? countFmt.format(value) : value.toFixed(2);
  }
}

export interface Change {
  direction: 'up' | 'down' | 'flat' | 'none';
  /** The change without words: ↑1.22 (points), ↓8.0% */
  amount: string;
  /** For rates: in percentage points (个百分点). */
  points: boolean;
}

export function changeOf(f: Pick<ReportFigure, 'value' | 'previous' | 'unit'>): Change {
  const { value, previous } = f;
  if (value === null || previous === null || previous === undefined) return { direction: 'none', amount: '—', points: false };
  const direction = value > previous ? 'up' : value < previous ? 'down' : 'flat';
  const arrow = direction === 'up' ? '↑' : direction === 'down' ? '↓' : '';
  if (f.unit === 'rate') return { direction, amount: `${arrow}${(Math.abs(value - previous) * 100).toFixed(2)}`, points: true };
  if (previous === 0) return { direction, amount: value === 0 ? '0' : '—', points: false };
  return { direction, amount: `${arrow}${(Math.abs((value - previous) / previous) * 100).toFixed(1)}%`, points: false };
}

export function formatBytes(n: number | null): string {
  if (n === null) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
