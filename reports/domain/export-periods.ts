/**
 * Periods of exported and scheduled reports, as calendar dates in China time ([from, to), `to`
 * exclusive), their Chinese labels, and which reports the 08:00 schedule owes on a given day.
 *
 * The schedule follows the working calendar (工作日历, statutory holidays and make-up workdays):
 * - 日报告: on every working day, covering everything since the previous working day's report —
 *   the previous working day included, today excluded (a Monday's report covers Fri–Sun; the first
 *   working day after the National Day holiday covers the last working day before it and the holiday).
 * - 周梳理: on the first working day of the week (Monday, or the next working day when Monday is a
 *   holiday), covering the previous Monday–Sunday week.
 * - 月通报: on the first working day of the month, covering the previous month.
 * - 年度报告: on the first working day of the year, covering the previous year.
 * Nobody reads a report generated on a holiday; what it covers is unchanged by waiting for the next
 * working day, so nothing is lost.
 */
import type { ReportKind, ReportPeriod } from './report-document';

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar date 'YYYY-MM-DD' (02-30 is not). */
export function isCalendarDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

const parts = (day: string) => ({ y: Number(day.slice(0, 4)), m: Number(day.slice(5, 7)), d: Number(day.slice(8, 10)) });
const dayLabel = (day: string) => {
  const { y, m, d } = parts(day);
  return `${y}年${m}月${d}日`;
};

/** Monday of the week of `day` (weeks run Monday–Sunday). */
export function mondayOf(day: string): string {
  const dow = new Date(`${day}T00:00:00Z`).getUTCDay();
  return addDays(day, -((dow + 6) % 7));
}

/** ISO 8601 week number and its year (the year of the week's Thursday). */
export function isoWeek(day: string): { year: number; week: number } {
  const thursday = addDays(mondayOf(day), 3);
  const year = Number(thursday.slice(0, 4));
  const week = Math.floor((Date.parse(`${thursday}T00:00:00Z`) - Date.parse(`${year}-01-01T00:00:00Z`)) / (7 * DAY_MS)) + 1;
  return { year, week };
}

/** The natural period of a kind that contains `day`: its day, week, month or year. */
export function periodOf(kind: ReportKind, day: string): ReportPeriod {
  const { y, m } = parts(day);
  switch (kind) {
    case 'daily':
      return { from: day, to: addDays(day, 1), label: dayLabel(day) };
    case 'weekly': {
      const from = mondayOf(day);
      const w = isoWeek(day);
      return { from, to: addDays(from, 7), label: `${w.year}年第${w.week}周` };
    }
    case 'monthly': {
      const from = `${y}-${String(m).padStart(2, '0')}-01`;
      const to = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
      return { from, to, label: `${y}年${m}月` };
    }
    case 'yearly':
      return { from: `${y}-01-01`, to: `${y + 1}-01-01`, label: `${y}年` };
  }
}

/** A period given by its dates; labelled as the natural period when it is one, else as a range. */
export function customPeriod(kind: ReportKind, from: string, to: string): ReportPeriod {
  const natural = periodOf(kind, from);
  if (natural.to === to) return natural;
  if (addDays(from, 1) === to) return { from, to, label: dayLabel(from) };
  return { from, to, label: `${dayLabel(from)}至${dayLabel(addDays(to, -1))}` };
}

/** The period before one of the same length (for the daily report: the same number of days). */
export function previousPeriodOf(kind: ReportKind, p: ReportPeriod): ReportPeriod {
  const natural = periodOf(kind, p.from);
  if (natural.to === p.to && natural.from === p.from) return periodOf(kind, addDays(p.from, -1));
  const days = Math.round((Date.parse(`${p.to}T00:00:00Z`) - Date.parse(`${p.from}T00:00:00Z`)) / DAY_MS);
  return customPeriod(kind, addDays(p.from, -days), p.from);
}

export type IsWorkday = (day: string) => Promise<boolean>;

/** How far back the daily report looks for the previous working day (the longest holiday is 8 days). */
const MAX_GAP_DAYS = 31;

async function previousWorkday(today: string, isWorkday: IsWorkday): Promise<string | null> {
  for (let i = 1; i <= MAX_GAP_DAYS; i++) {
    const d = addDays(today, -i);
    if (await isWorkday(d)) return d;
  }
  return null;
}

async function noWorkdayBetween(from: string, to: string, isWorkday: IsWorkday): Promise<boolean> {
  for (let d = from; d < to; d = addDays(d, 1)) if (await isWorkday(d)) return false;
  return true;
}

export interface DueReport {
  kind: ReportKind;
  period: ReportPeriod;
}

/** The reports the schedule owes on `today` (China date), by the rules above; none on a non-working day. */
export async function dueScheduledReports(today: string, isWorkday: IsWorkday): Promise<DueReport[]> {
  if (!(await isWorkday(today))) return [];
  const due: DueReport[] = [];
  const prev = await previousWorkday(today, isWorkday);
  if (prev) due.push({ kind: 'daily', period: customPeriod('daily', prev, today) });
  const monday = mondayOf(today);
  if (await noWorkdayBetween(monday, today, isWorkday)) due.push({ kind: 'weekly', period: periodOf('weekly', addDays(monday, -1)) });
  const first = `${today.slice(0, 7)}-01`;
  if (await noWorkdayBetween(first, today, isWorkday)) due.push({ kind: 'monthly', period: periodOf('monthly', addDays(first, -1)) });
  const jan1 = `${today.slice(0, 4)}-01-01`;
  if (await noWorkdayBetween(jan1, today, isWorkday)) due.push({ kind: 'yearly', period: periodOf('yearly', addDays(jan1, -1)) });
  return due;
}
