/**
 * Report periods (统计周期) as calendar dates in China, `to` exclusive, and the period before each
 * (环比). Pure date arithmetic on 'YYYY-MM-DD' strings (UTC midnight stands for the China date).
 */
import { badRequest } from '../../core';
import type { ReportPeriod } from './report-document';

export const PeriodKind = { day: 'day', week: 'week', month: 'month', year: 'year', custom: 'custom' } as const;
export type PeriodKind = (typeof PeriodKind)[keyof typeof PeriodKind];

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;
const d = (s: string) => new Date(`${s}T00:00:00Z`);
const s = (x: Date) => x.toISOString().slice(0, 10);
export const addDays = (day: string, n: number) => s(new Date(d(day).getTime() + n * DAY_MS));
export const daysBetween = (from: string, to: string) => Math.round((d(to).getTime() - d(from).getTime()) / DAY_MS);
const addMonths = (day: string, n: number) => {
  const x = d(day);
  return s(new Date(Date.UTC(x.getUTCFullYear(), x.getUTCMonth() + n, 1)));
};

function validDate(v: string | undefined, field: string): string {
  if (!v || !DATE.test(v) || s(d(v)) !== v) throw badRequest('PERIOD_INVALID', `${field} must be a date YYYY-MM-DD`, `${field} 须为日期 YYYY-MM-DD`, { field });
  const year = Number(v.slice(0, 4));
  if (year < 2000 || year > 2100) throw badRequest('PERIOD_INVALID', `${field} is outside 2000–2100`, `${field} 超出 2000–2100 年`, { field });
  return v;
}

/** The ISO week number (周, Monday first) of a date. */
function isoWeek(day: string): { year: number; week: number } {
  const x = d(day);
  const thursday = new Date(x.getTime() + (3 - ((x.getUTCDay() + 6) % 7)) * DAY_MS);
  const jan1 = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  return { year: thursday.getUTCFullYear(), week: 1 + Math.floor((thursday.getTime() - jan1) / (7 * DAY_MS)) };
}

function label(kind: PeriodKind, from: string, to: string): string {
  const [y, m, dd] = from.split('-').map(Number);
  switch (kind) {
    case 'day': return `${y}年${m}月${dd}日`;
    case 'week': { const w = isoWeek(from); return `${w.year}年第${w.week}周（${m}月${dd}日—${Number(addDays(to, -1).slice(5, 7))}月${Number(addDays(to, -1).slice(8))}日）`; }
    case 'month': return `${y}年${m}月`;
    case 'year': return `${y}年`;
    default: return `${from} 至 ${addDays(to, -1)}`;
  }
}

/**
 * The period containing `from` (day, week from Monday, month, year), or [from, to] inclusive for
 * `custom` (at most 3 years); `today` (China date) bounds it: a period starting after today is refused.
 */
export function resolvePeriod(kind: PeriodKind, from: string | undefined, to: string | undefined, today: string): { period: ReportPeriod; previous: ReportPeriod } {
  const start = validDate(from ?? today, 'from');
  let pFrom: string, pTo: string, prevFrom: string;
  switch (kind) {
    case 'day': pFrom = start; pTo = addDays(start, 1); prevFrom = addDays(start, -1); break;
    case 'week': pFrom = addDays(start, -((d(start).getUTCDay() + 6) % 7)); pTo = addDays(pFrom, 7); prevFrom = addDays(pFrom, -7); break;
    case 'month': pFrom = start.slice(0, 8) + '01'; pTo = addMonths(pFrom, 1); prevFrom = addMonths(pFrom, -1); break;
    case 'year': pFrom = start.slice(0, 4) + '-01-01'; pTo = `${Number(start.slice(0, 4)) + 1}-01-01`; prevFrom = `${Number(start.slice(0, 4)) - 1}-01-01`; break;
    case 'custom': {
      if (!from || !to) throw badRequest('PERIOD_INVALID', 'a custom period needs from and to', '自定义周期须给出起止日期', { field: from ? 'to' : 'from' });
      const end = validDate(to, 'to');
      if (end < start) throw badRequest('PERIOD_ORDER', `the period ends (${end}) before it starts (${start})`, `结束日期（${end}）早于开始日期（${start}）`, { from: start, to: end });
      pFrom = start; pTo = addDays(end, 1);
      if (daysBetween(pFrom, pTo) > 366 * 3) throw badRequest('PERIOD_TOO_LONG', 'a custom period is at most 3 years', '自定义周期最长 3 年');
      prevFrom = addDays(pFrom, -daysBetween(pFrom, pTo));
      break;
    }
    default: throw badRequest('PERIOD_INVALID', `unknown period ${String(kind)}`, `未知统计周期 ${String(kind)}`, { field: 'period' });
  }
  if (pFrom > today) throw badRequest('PERIOD_IN_FUTURE', `the period starts after today (${today}): there is no data yet`, `统计周期开始于今天（${today}）之后，尚无数据`, { from: pFrom, today });
  return {
    period: { from: pFrom, to: pTo, label: label(kind, pFrom, pTo) },
    previous: { from: prevFrom, to: pFrom, label: label(kind, prevFrom, pFrom) },
  };
}
