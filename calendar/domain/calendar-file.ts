/**
 * Where a year's calendar comes from: the State Council's holiday arrangement (国务院办公厅关于
 * 节假日安排的通知) imported by an admin as a JSON file, or the chinese-days package for the years it
 * covers. Both produce every day of the year as a {@link CalendarDayRow}.
 *
 * File format (one year per file; every day not listed is a workday Mon–Fri, a weekend Sat/Sun):
 *
 * ```json
 * {
 *   "year": 2027,
 *   "source": "国办发明电〔2026〕X号",
 *   "holidays": [{ "name": "元旦", "days": ["2027-01-01", "2027-01-02", "2027-01-03"] }],
 *   "makeupWorkdays": [{ "name": "春节调休", "days": ["2027-02-07"] }]
 * }
 * ```
 */
import { createRequire } from 'node:module';
import chineseDays from 'chinese-days';
import { z } from 'zod';
import { AppError } from '../../core';
import { CalendarErrorCode, DayKind, type CalendarDayRow } from './working-time';

/** A State Council arrangement for one year (放假/调休安排). */
export interface CalendarFile {
  year: number;
  /** The notice it comes from, e.g. 国办发明电〔2026〕X号. */
  source: string;
  /** Days off (放假), including the weekend days inside a holiday block. */
  holidays: DayGroup[];
  /** Saturdays/Sundays worked to bridge a holiday (调休上班). */
  makeupWorkdays: DayGroup[];
}

export interface DayGroup {
  name: string;
  days: string[];
}

/** One problem in an import file, in both languages; `path` points into the JSON (holidays[0].days[2]). */
export interface CalendarFileIssue {
  path: string;
  message: string;
  messageZh: string;
}

const FIRST_YEAR = 2000;
const LAST_YEAR = 2100;
const WEEKDAY_EN = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const WEEKDAY_ZH = ['周日', '周一', '周二', '周三', '周四', '周五', '周六'];

const dayGroupSchema = z.strictObject({
  name: z.string().trim().min(1).max(64),
  days: z.array(z.string()).min(1),
});

const calendarFileSchema = z.strictObject({
  year: z.number().int().min(FIRST_YEAR).max(LAST_YEAR),
  source: z.string().trim().min(1).max(128),
  holidays: z.array(dayGroupSchema).min(1),
  makeupWorkdays: z.array(dayGroupSchema).default([]),
});

const pathText = (path: readonly PropertyKey[]) =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');

/** 'YYYY-MM-DD' → [y, m, d], or null when it is not a real date. */
function parseDay(s: string): [number, number, number] | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d ? [y, mo, d] : null;
}

const weekdayOf = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).getUTCDay();
const isWeekend = (wd: number) => wd === 0 || wd === 6;

/** Every day of a year, 'YYYY-MM-DD'. */
export function daysOfYear(year: number): string[] {
  const out: string[] = [];
  for (let t = Date.UTC(year, 0, 1); new Date(t).getUTCFullYear() === year; t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/**
 * Checks an import file (a JSON string or an already parsed object) strictly: its shape (unknown
 * keys refused), real dates inside the year, no day listed twice, no day both a holiday and a
 * make-up workday, make-up workdays only on Saturdays/Sundays, and at least one weekday off in the year.
 */
export function validateCalendarFile(input: unknown): { ok: true; file: CalendarFile } | { ok: false; issues: CalendarFileIssue[] } {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input.replace(/^\uFEFF/, '')); // editors on Windows save a BOM
    } catch (e) {
      return { ok: false, issues: [{ path: '', message: `not valid JSON: ${(e as Error).message}`, messageZh: '文件不是有效的 JSON' }] };
    }
  }
  const shape = calendarFileSchema.safeParse(value);
  if (!shape.success) {
    return {
      ok: false,
      issues: shape.error.issues.map((i) => ({
        path: pathText(i.path),
        message: i.message,
        messageZh: `${pathText(i.path) || '文件'} 格式不正确`,
      })),
    };
  }
  const file = shape.data;
  const issues: CalendarFileIssue[] = [];
  const seen = new Map<string, string>(); // day → where it was first listed
  let holidayWeekdays = 0;

  const checkGroups = (groups: DayGroup[], key: 'holidays' | 'makeupWorkdays') =>
    groups.forEach((g, gi) => {
      g.days.forEach((day, di) => {
        const path = `${key}[${gi}].days[${di}]`;
        const ymd = parseDay(day);
        if (!ymd) {
          issues.push({ path, message: `${day} is not a date (YYYY-MM-DD)`, messageZh: `${day} 不是有效日期（应为 YYYY-MM-DD）` });
          return;
        }
        if (ymd[0] !== file.year) {
          issues.push({ path, message: `${day} is outside ${file.year}`, messageZh: `${day} 不在 ${file.year} 年内` });
          return;
        }
        const previous = seen.get(day);
        if (previous) {
          const both = previous.startsWith('holidays') !== (key === 'holidays');
          issues.push(
            both
              ? { path, message: `${day} is both a holiday and a make-up workday (first listed at ${previous})`, messageZh: `${day} 不能既是放假日又是调休上班日（已在 ${previous} 列出）` }
              : { path, message: `${day} is listed twice (first at ${previous})`, messageZh: `${day} 重复列出（已在 ${previous} 列出）` },
          );
          return;
        }
        seen.set(day, path);
        const wd = weekdayOf(...ymd);
        if (key === 'holidays' && !isWeekend(wd)) holidayWeekdays++;
        if (key === 'makeupWorkdays' && !isWeekend(wd)) {
          issues.push({
            path,
            message: `${day} is a ${WEEKDAY_EN[wd]}: a make-up workday must be a Saturday or Sunday`,
            messageZh: `${day} 是${WEEKDAY_ZH[wd]}：调休上班日必须是周六或周日`,
          });
        }
      });
    });
  checkGroups(file.holidays, 'holidays');
  checkGroups(file.makeupWorkdays, 'makeupWorkdays');
  // A group of weekend days alone is legitimate (2015: 中秋 on Sunday 09-27, no day off), but a year
  // whose holidays give no weekday off at all is a wrong file.
  if (!issues.length && holidayWeekdays === 0) {
    issues.push({ path: 'holidays', message: `the holidays of ${file.year} give no weekday off: is this the right file?`, messageZh: `${file.year}年的节假日未包含任何工作日，请检查文件是否正确` });
  }
  if (issues.length) return { ok: false, issues };

  const sorted = (groups: DayGroup[]) => groups.map((g) => ({ name: g.name, days: [...g.days].sort() }));
  return { ok: true, file: { year: file.year, source: file.source, holidays: sorted(file.holidays), makeupWorkdays: sorted(file.makeupWorkdays) } };
}

/** Like {@link validateCalendarFile}, but throws CALENDAR_FILE_INVALID (400) listing every issue. */
export function parseCalendarFile(input: unknown): CalendarFile {
  const r = validateCalendarFile(input);
  if (r.ok) return r.file;
  const [first] = r.issues;
  const more = r.issues.length > 1 ? ` (and ${r.issues.length - 1} more)` : '';
  const moreZh = r.issues.length > 1 ? `（另有 ${r.issues.length - 1} 处问题）` : '';
  const at = first.path ? `${first.path}: ` : '';
  throw new AppError(
    CalendarErrorCode.fileInvalid,
    400,
    `Calendar file is invalid: ${at}${first.message}${more}`,
    `日历文件无效：${at}${first.messageZh}${moreZh}`,
    { issues: r.issues },
  );
}

/** Every day of the file's year: listed days as given, the rest workday Mon–Fri / weekend Sat–Sun. */
export function calendarFileRows(file: CalendarFile): CalendarDayRow[] {
  const listed = new Map<string, { kind: DayKind; name: string }>();
  for (const g of file.holidays) for (const d of g.days) listed.set(d, { kind: DayKind.holiday, name: g.name });
  for (const g of file.makeupWorkdays) for (const d of g.days) listed.set(d, { kind: DayKind.makeupWorkday, name: g.name });
  return daysOfYear(file.year).map((day) => {
    const l = listed.get(day);
    if (l) return { day, year: file.year, isWorkday: l.kind === DayKind.makeupWorkday, kind: l.kind, name: l.name };
    const weekend = isWeekend(weekdayOf(...parseDay(day)!));
    return { day, year: file.year, isWorkday: !weekend, kind: weekend ? DayKind.weekend : DayKind.workday, name: null };
  });
}

/** The inverse of {@link calendarFileRows}: a stored year as an import file (for audit and export). */
export function calendarRowsToFile(year: number, source: string, rows: Iterable<CalendarDayRow>): CalendarFile {
  const holidays = new Map<string, string[]>();
  const makeup = new Map<string, string[]>();
  for (const r of [...rows].sort((a, b) => (a.day < b.day ? -1 : 1))) {
    const into = r.kind === DayKind.holiday ? holidays : r.kind === DayKind.makeupWorkday ? makeup : null;
    if (!into) continue;
    const name = r.name ?? '';
    into.set(name, [...(into.get(name) ?? []), r.day]);
  }
  const groups = (m: Map<string, string[]>) => [...m].map(([name, days]) => ({ name, days }));
  return { year, source, holidays: groups(holidays), makeupWorkdays: groups(makeup) };
}

// ---------------------------------------------------------------------------------------------
// chinese-days (the seed)

const chineseDaysVersion: string = (() => {
  try {
    return (createRequire(import.meta.url)('chinese-days/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/** `calendar_years.source` of seeded years. */
export const CHINESE_DAYS_SOURCE = `chinese-days ${chineseDaysVersion}`;

let coveredYears: number[] | null = null;

/**
 * The years chinese-days really has data for (2004–2026 in 1.5.7). For any other year it answers
 * "Mon–Fri are workdays" without saying so, so a year counts as covered only when its 1 January
 * is in the package's holiday table (元旦 is a holiday every year).
 */
export function chineseDaysYears(): number[] {
  if (!coveredYears) {
    coveredYears = [];
    for (let y = FIRST_YEAR - 10; y <= LAST_YEAR; y++) {
      if (chineseDays.getHolidaysInRange(`${y}-01-01`, `${y}-01-01`, false).length === 1) coveredYears.push(y);
    }
  }
  return [...coveredYears];
}

/** 'National Day,国庆节,3' → '国庆节'. */
const chineseName = (raw: string) => raw.split(',')[1]?.trim() || raw;

/** A covered year's rows from chinese-days; throws for a year it does not cover. */
export function chineseDaysRows(year: number): CalendarDayRow[] {
  if (!chineseDaysYears().includes(year)) throw new Error(`chinese-days ${chineseDaysVersion} has no data for ${year}`);
  const holidays = new Set(chineseDays.getHolidaysInRange(`${year}-01-01`, `${year}-12-31`, false));
  return daysOfYear(year).map((day): CalendarDayRow => {
    const detail = chineseDays.getDayDetail(day);
    const weekend = isWeekend(weekdayOf(...parseDay(day)!));
    if (holidays.has(day)) return { day, year, isWorkday: false, kind: DayKind.holiday, name: chineseName(detail.name) };
    if (detail.work && weekend) return { day, year, isWorkday: true, kind: DayKind.makeupWorkday, name: `${chineseName(detail.name)}调休` };
    if (!detail.work && !weekend) throw new Error(`chinese-days: ${day} is a weekday off outside any holiday`);
    return { day, year, isWorkday: !weekend, kind: weekend ? DayKind.weekend : DayKind.workday, name: null };
  });
}
