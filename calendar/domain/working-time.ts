/**
 * The working-time clock (工作时间): every time limit (办理时限) of the product is measured on it.
 *
 * Pure: no database, no HTTP. Works on an in-memory {@link WorkCalendar} (China's official calendar
 * of workdays 工作日, statutory holidays 法定节假日 and make-up workdays 调休上班) and on a city's
 * {@link OfficeHours}. China time is a fixed +08:00 (no DST), so a "day" is a fixed 24 h slice.
 *
 * Speed: a deadline sweep may compute a million of these. Each (calendar, office hours) pair is
 * compiled once into per-day prefix sums of working time and a list of workdays, so a deadline is
 * two binary searches and a walk over the 2–4 periods of one day — never a loop over minutes or days.
 */
import { z } from 'zod';
import { AppError } from '../../core';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** China Standard Time, UTC+8 all year. */
const CHINA_OFFSET_MS = 8 * HOUR_MS;

// ---------------------------------------------------------------------------------------------
// Errors

export const CalendarErrorCode = {
  yearMissing: 'CALENDAR_YEAR_MISSING',
  yearIncomplete: 'CALENDAR_YEAR_INCOMPLETE',
  fileInvalid: 'CALENDAR_FILE_INVALID',
  officeHoursInvalid: 'OFFICE_HOURS_INVALID',
  timeLimitInvalid: 'TIME_LIMIT_INVALID',
  dayInvalid: 'CALENDAR_DAY_INVALID',
} as const;
export type CalendarErrorCode = (typeof CalendarErrorCode)[keyof typeof CalendarErrorCode];

/**
 * The calendar has no data for `year`. We never guess (chinese-days would silently call every
 * Mon–Fri a workday): an admin must import the State Council's arrangement for that year first.
 */
export const calendarYearMissing = (year: number) =>
  new AppError(
    CalendarErrorCode.yearMissing,
    422,
    `No working-day calendar for ${year}: import the State Council holiday arrangement for ${year} before computing time limits that reach into it`,
    `缺少${year}年的工作日历：请先导入国务院办公厅公布的${year}年节假日安排，再计算涉及该年的时限`,
    { year },
  );

const invalidTimeLimit = (message: string, messageZh: string, details?: unknown) =>
  new AppError(CalendarErrorCode.timeLimitInvalid, 400, message, messageZh, details);

// ---------------------------------------------------------------------------------------------
// Calendar days

/** What a calendar day is. */
export const DayKind = {
  workday: 'workday', // 工作日 (Mon–Fri)
  weekend: 'weekend', // 周末 (Sat/Sun)
  holiday: 'holiday', // 法定节假日 and the days taken off around it (放假)
  makeupWorkday: 'makeup_workday', // 调休上班: a Sat/Sun worked to make up for a holiday bridge
} as const;
export type DayKind = (typeof DayKind)[keyof typeof DayKind];

export interface CalendarDay {
  isWorkday: boolean;
  kind: DayKind;
  /** The holiday's name (元旦, 春节 …) for holidays and make-up workdays; null otherwise. */
  name: string | null;
}

/** One day as stored (and as built from an import file or from chinese-days). */
export interface CalendarDayRow extends CalendarDay {
  /** 'YYYY-MM-DD' in China. */
  day: string;
  year: number;
}

/**
 * The national working-day calendar in memory: every day of each loaded year. Treat it as
 * immutable — compiled lookups are cached per instance.
 */
export interface WorkCalendar {
  readonly days: ReadonlyMap<string, CalendarDay>;
  /** Years whose every day is in `days`. Computing into any other year fails. */
  readonly years: ReadonlySet<number>;
}

export function createWorkCalendar(rows: Iterable<CalendarDayRow>, years: Iterable<number>): WorkCalendar {
  const days = new Map<string, CalendarDay>();
  for (const r of rows) days.set(r.day, { isWorkday: r.isWorkday, kind: r.kind, name: r.name });
  return { days, years: new Set(years) };
}

// ---------------------------------------------------------------------------------------------
// Office hours (办公时间)

export interface OfficeSeason {
  /** First day of the season, 'MM-DD' (inclusive). A season may wrap the year end (10-01 → 04-30). */
  readonly from: string;
  /** Last day of the season, 'MM-DD' (inclusive). */
  readonly to: string;
  /** Working periods of a workday, 'HH:MM' pairs, ordered, non-overlapping; end is exclusive. */
  readonly periods: readonly (readonly [string, string])[];
}

/** A city's office hours, by season. The seasons together cover every day of the year exactly once. */
export interface OfficeHours {
  readonly seasons: readonly OfficeSeason[];
}

/** 08:30–12:00 and 14:00–17:30 all year: the usual hours of Chinese government offices. */
export const DEFAULT_OFFICE_HOURS: OfficeHours = Object.freeze({
  seasons: Object.freeze([
    Object.freeze({
      from: '01-01',
      to: '12-31',
      periods: Object.freeze([Object.freeze(['08:30', '12:00'] as const), Object.freeze(['14:00', '17:30'] as const)]),
    }),
  ]),
});

const HHMM = /^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;
const MMDD = /^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
/** Days per month in a leap year: 02-29 is a valid 'MM-DD' (it exists in leap years). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const minutesOf = (hhmm: string): number => {
  const m = HHMM.exec(hhmm)!;
  return m[3] ? 24 * 60 : Number(m[1]) * 60 + Number(m[2]);
};
/** 'MM-DD' → 0..365 (leap-year numbering, so 02-29 has its own slot). */
const ordinalOf = (mmdd: string): number => {
  const [m, d] = mmdd.split('-').map(Number);
  let n = 0;
  for (let i = 0; i < m - 1; i++) n += MONTH_DAYS[i];
  return n + d - 1;
};
const mmddOfOrdinal = (ord: number): string => {
  let m = 0;
  while (ord >= MONTH_DAYS[m]) ord -= MONTH_DAYS[m++];
  return `${String(m + 1).padStart(2, '0')}-${String(ord + 1).padStart(2, '0')}`;
};
const seasonOrdinals = (s: { from: string; to: string }): number[] => {
  const from = ordinalOf(s.from);
  const to = ordinalOf(s.to);
  const out: number[] = [];
  for (let o = from; ; o = (o + 1) % 366) {
    out.push(o);
    if (o === to) break;
  }
  return out;
};

/** Days no season covers, as 'MM-DD..MM-DD' runs (a run may wrap the year end). */
function uncoveredRanges(owner: number[]): string[] {
  const runs: [number, number][] = [];
  for (let o = 0; o < 366; o++) {
    if (owner[o] >= 0) continue;
    const last = runs[runs.length - 1];
    if (last && last[1] === o - 1) last[1] = o;
    else runs.push([o, o]);
  }
  if (runs.length > 1 && runs[0][0] === 0 && runs[runs.length - 1][1] === 365) runs[0][0] = runs.pop()![0];
  return runs.map(([a, b]) => (a === b ? mmddOfOrdinal(a) : `${mmddOfOrdinal(a)}..${mmddOfOrdinal(b)}`));
}

const hhmmSchema = z.string().regex(HHMM, 'expected HH:MM (00:00–24:00)');
const mmddSchema = z
  .string()
  .regex(MMDD, 'expected MM-DD')
  .refine((s) => Number(s.slice(3)) <= MONTH_DAYS[Number(s.slice(0, 2)) - 1], 'no such day of the month');

const seasonSchema = z
  .strictObject({
    from: mmddSchema,
    to: mmddSchema,
    periods: z.array(z.tuple([hhmmSchema, hhmmSchema])).min(1, 'a season needs at least one working period'),
  })
  .superRefine((season, ctx) => {
    let previousEnd = -1;
    season.periods.forEach(([start, end], i) => {
      if (!HHMM.test(start) || !HHMM.test(end)) return; // reported by the time schema
      const s = minutesOf(start);
      const e = minutesOf(end);
      if (s >= e) ctx.addIssue({ code: 'custom', path: ['periods', i], message: `period ${start}–${end} must end after it starts` });
      if (s < previousEnd) {
        ctx.addIssue({ code: 'custom', path: ['periods', i], message: `period ${start}–${end} overlaps or precedes the previous period: list periods in order` });
      }
      previousEnd = Math.max(previousEnd, e);
    });
  });

/**
 * Validates a city's `officeHours` setting: HH:MM times, periods ordered and non-overlapping, and
 * seasons that cover every day of the year exactly once (so no day is left without hours).
 */
export const officeHoursSchema: z.ZodType<OfficeHours> = z
  .strictObject({ seasons: z.array(seasonSchema).min(1, 'at least one season is required') })
  .superRefine((oh, ctx) => {
    const owner = new Array<number>(366).fill(-1);
    let overlapping = false;
    oh.seasons.forEach((season, i) => {
      if (!MMDD.test(season.from) || !MMDD.test(season.to)) return; // reported by the season schema
      for (const o of seasonOrdinals(season)) {
        if (owner[o] >= 0) {
          ctx.addIssue({ code: 'custom', path: ['seasons', i], message: `season ${season.from}..${season.to} overlaps season ${owner[o]} on ${mmddOfOrdinal(o)}` });
          overlapping = true;
          return;
        }
        owner[o] = i;
      }
    });
    if (overlapping || oh.seasons.some((s) => !MMDD.test(s.from) || !MMDD.test(s.to))) return;
    const gaps = uncoveredRanges(owner);
    if (gaps.length) {
      ctx.addIssue({ code: 'custom', path: ['seasons'], message: `no season covers ${gaps.join(', ')}: seasons must cover the whole year` });
    }
  });

// ---------------------------------------------------------------------------------------------
// Time limits (时限)

/**
 * A time limit as configured in a policy. Natural `minutes`/`hours` are plain clock time;
 * `working_hours` count only office hours on workdays (fractions give working minutes: 0.5 = 30
 * working minutes); `working_days` land at the same time of day on the Nth following workday.
 */
export interface TimeLimit {
  amount: number;
  unit: TimeLimitUnit;
}
export const TimeLimitUnit = {
  minutes: 'minutes',
  hours: 'hours',
  workingHours: 'working_hours',
  workingDays: 'working_days',
} as const;
export type TimeLimitUnit = (typeof TimeLimitUnit)[keyof typeof TimeLimitUnit];

export const timeLimitSchema: z.ZodType<TimeLimit> = z
  .strictObject({
    amount: z.number().finite().nonnegative(),
    unit: z.enum(['minutes', 'hours', 'working_hours', 'working_days']),
  })
  .refine((l) => l.unit !== 'working_days' || Number.isInteger(l.amount), {
    message: 'working_days must be a whole number (use working_hours for fractions)',
    path: ['amount'],
  });

/** What working-time computations run on: the national calendar plus a city's office hours. */
export interface CityCalendar {
  calendar: WorkCalendar;
  /** Defaults to {@link DEFAULT_OFFICE_HOURS}. */
  officeHours?: OfficeHours;
}

// ---------------------------------------------------------------------------------------------
// Compiled form (cached per calendar and per office hours)

/** Office hours by day-of-year slot; period bounds in ms after local midnight. */
interface CompiledOfficeHours {
  periods: number[][]; // by ordinal 0..365: [s0, e0, s1, e1, …]
}

/** Per-day arrays over the loaded years' span, indexed by i = epochDay - base. */
interface DayIndex {
  base: number;
  n: number;
  loaded: Uint8Array;
  work: Uint8Array;
  ordinal: Uint16Array;
  /** For a loaded day i: the first index ≥ i that is not loaded (n past the last year). */
  segEnd: Int32Array;
  /** Number of workdays among indices [0, i). */
  rankBefore: Int32Array;
  /** Indices of workdays, ascending. */
  workdays: Int32Array;
  byOfficeHours: Map<string, Compiled>;
}

interface Compiled {
  ix: DayIndex;
  oh: CompiledOfficeHours;
  /** cum[i] = working ms in days [0, i). */
  cum: Float64Array;
}

const dayIndexCache = new WeakMap<WorkCalendar, DayIndex>();
const officeHoursKeyCache = new WeakMap<OfficeHours, string>();

const epochDayOf = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) / DAY_MS;
const yearOfEpochDay = (d: number) => new Date(d * DAY_MS).getUTCFullYear();
const isoOfEpochDay = (d: number) => new Date(d * DAY_MS).toISOString().slice(0, 10);

function compileDayIndex(cal: WorkCalendar): DayIndex {
  const years = [...cal.years].sort((a, b) => a - b);
  const base = years.length ? epochDayOf(years[0], 1, 1) : 0;
  const n = years.length ? epochDayOf(years[years.length - 1] + 1, 1, 1) - base : 0;
  const loaded = new Uint8Array(n);
  const work = new Uint8Array(n);
  const ordinal = new Uint16Array(n);
  for (const y of years) {
    const first = epochDayOf(y, 1, 1);
    const last = epochDayOf(y + 1, 1, 1);
    const leap = last - first === 366;
    for (let d = first; d < last; d++) {
      const iso = isoOfEpochDay(d);
      const day = cal.days.get(iso);
      if (!day) {
        throw new AppError(
          CalendarErrorCode.yearIncomplete,
          500,
          `The calendar of ${y} is incomplete: ${iso} is missing; re-import the year`,
          `${y}年工作日历不完整（缺少${iso}），请重新导入该年`,
          { year: y, day: iso },
        );
      }
      const i = d - base;
      loaded[i] = 1;
      work[i] = day.isWorkday ? 1 : 0;
      // Non-leap years skip the 02-29 slot so 03-01 maps to the same slot every year.
      const doy = d - first;
      ordinal[i] = !leap && doy >= 59 ? doy + 1 : doy;
    }
  }
  const segEnd = new Int32Array(n);
  for (let i = n - 1, next = n; i >= 0; i--) {
    if (!loaded[i]) next = i;
    segEnd[i] = loaded[i] ? next : i;
  }
  const rankBefore = new Int32Array(n + 1);
  const list: number[] = [];
  for (let i = 0; i < n; i++) {
    rankBefore[i + 1] = rankBefore[i] + work[i];
    if (work[i]) list.push(i);
  }
  return { base, n, loaded, work, ordinal, segEnd, rankBefore, workdays: Int32Array.from(list), byOfficeHours: new Map() };
}

function compileOfficeHours(oh: OfficeHours): CompiledOfficeHours {
  const parsed = officeHoursSchema.safeParse(oh);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new AppError(
      CalendarErrorCode.officeHoursInvalid,
      422,
      `Office hours are invalid: ${issues[0].path ? issues[0].path + ': ' : ''}${issues[0].message}`,
      '办公时间配置无效',
      { issues },
    );
  }
  const periods: number[][] = new Array(366);
  for (const season of oh.seasons) {
    const flat = season.periods.flatMap(([s, e]) => [minutesOf(s) * MINUTE_MS, minutesOf(e) * MINUTE_MS]);
    for (const o of seasonOrdinals(season)) periods[o] = flat;
  }
  return { periods };
}

function compiled(city: CityCalendar): Compiled {
  let ix = dayIndexCache.get(city.calendar);
  if (!ix) {
    ix = compileDayIndex(city.calendar);
    dayIndexCache.set(city.calendar, ix);
  }
  const oh = city.officeHours ?? DEFAULT_OFFICE_HOURS;
  // Keyed by content, not identity: settings parsed afresh per request must not recompile.
  let key = officeHoursKeyCache.get(oh);
  if (key === undefined) {
    key = JSON.stringify(oh);
    if (Object.isFrozen(oh)) officeHoursKeyCache.set(oh, key);
  }
  let c = ix.byOfficeHours.get(key);
  if (!c) {
    const coh = compileOfficeHours(oh);
    const cum = new Float64Array(ix.n + 1);
    for (let i = 0; i < ix.n; i++) {
      let t = 0;
      if (ix.work[i]) {
        const p = coh.periods[ix.ordinal[i]];
        for (let k = 0; k < p.length; k += 2) t += p[k + 1] - p[k];
      }
      cum[i + 1] = cum[i] + t;
    }
    c = { ix, oh: coh, cum };
    ix.byOfficeHours.set(key, c);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// The clock

/** Index of the China-local day of `ms` in the compiled arrays; throws when its year is not loaded. */
function dayOf(ix: DayIndex, localMs: number): number {
  const d = Math.floor(localMs / DAY_MS);
  const i = d - ix.base;
  if (i < 0 || i >= ix.n || !ix.loaded[i]) throw calendarYearMissing(yearOfEpochDay(d));
  return i;
}

const missingAt = (ix: DayIndex, i: number) => calendarYearMissing(yearOfEpochDay(ix.base + i));

/** Working ms of day i before time-of-day `off`. */
function workedBefore(c: Compiled, i: number, off: number): number {
  if (!c.ix.work[i]) return 0;
  const p = c.oh.periods[c.ix.ordinal[i]];
  let t = 0;
  for (let k = 0; k < p.length; k += 2) {
    if (off <= p[k]) break;
    t += Math.min(off, p[k + 1]) - p[k];
  }
  return t;
}

/** Position of an instant on the working-time axis (ms of working time since the calendar's start). */
function position(c: Compiled, localMs: number): { i: number; pos: number } {
  const i = dayOf(c.ix, localMs);
  return { i, pos: c.cum[i] + workedBefore(c, i, localMs - (c.ix.base + i) * DAY_MS) };
}

const toInstant = (c: Compiled, i: number, off: number) => new Date((c.ix.base + i) * DAY_MS + off - CHINA_OFFSET_MS);

/**
 * The first instant at or after `localMs` inside a working period, as (day index, time of day).
 * Periods are half-open: 12:00 and 17:30 are already outside.
 */
function nextWorking(c: Compiled, localMs: number): { i: number; off: number } {
  const { ix } = c;
  const i = dayOf(ix, localMs);
  const off = localMs - (ix.base + i) * DAY_MS;
  if (ix.work[i]) {
    const p = c.oh.periods[ix.ordinal[i]];
    for (let k = 0; k < p.length; k += 2) if (off < p[k + 1]) return { i, off: Math.max(off, p[k]) };
  }
  const r = ix.rankBefore[i + 1];
  if (r >= ix.workdays.length || ix.workdays[r] >= ix.segEnd[i]) throw missingAt(ix, ix.segEnd[i]);
  const j = ix.workdays[r];
  return { i: j, off: c.oh.periods[ix.ordinal[j]][0] };
}

function assertInstant(d: Date, what: string): number {
  const t = d instanceof Date ? d.getTime() : NaN;
  if (!Number.isFinite(t)) throw invalidTimeLimit(`${what} is not a valid date`, `${what}不是有效的时间`);
  return t;
}

function assertAmount(amount: number, unit: string): void {
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) {
    throw invalidTimeLimit(`A time limit needs a finite, non-negative amount (got ${amount} ${unit})`, `时限数值必须为非负数（当前为 ${amount} ${unit}）`, { amount, unit });
  }
}

/** The start moved into working time: a start in the evening, lunch, a weekend or a holiday moves to the next period's start. */
export function nextWorkingInstant(start: Date, city: CityCalendar): Date {
  const c = compiled(city);
  const { i, off } = nextWorking(c, assertInstant(start, 'start') + CHINA_OFFSET_MS);
  return toInstant(c, i, off);
}

/**
 * `minutes` of office time after `start` (working minutes; fractional minutes allowed). A result
 * exactly at a period's end stays there (10:00 + 2 h = 12:00, not 14:00).
 */
export function addWorkingMinutes(start: Date, minutes: number, city: CityCalendar): Date {
  assertAmount(minutes, 'working minutes');
  const c = compiled(city);
  const local = assertInstant(start, 'start') + CHINA_OFFSET_MS;
  const amount = Math.round(minutes * MINUTE_MS);
  if (amount === 0) return nextWorkingInstant(start, city);
  const { ix, cum } = c;
  const { i, pos } = position(c, local);
  const target = pos + amount;
  const end = ix.segEnd[i];
  if (target > cum[end]) throw missingAt(ix, end);
  // First k in (i, end] with cum[k] >= target: the result lies on day k - 1.
  let lo = i + 1;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid] >= target) hi = mid;
    else lo = mid + 1;
  }
  const j = lo - 1;
  let rest = target - cum[j];
  const p = c.oh.periods[ix.ordinal[j]];
  for (let k = 0; k < p.length; k += 2) {
    const len = p[k + 1] - p[k];
    if (rest <= len) return toInstant(c, j, p[k] + rest);
    rest -= len;
  }
  throw new Error('working-time index is inconsistent');
}

/**
 * The same time of day on the Nth following workday (工作日), after moving a start outside working
 * time to the next period's start. 2025-09-30 16:00 + 3 → 2025-10-11 16:00 (10-01..08 National Day,
 * Sat 10-11 a make-up workday 调休上班).
 */
export function addWorkingDays(start: Date, days: number, city: CityCalendar): Date {
  assertAmount(days, 'working days');
  if (!Number.isInteger(days)) {
    throw invalidTimeLimit(`Working days must be a whole number (got ${days}); use working_hours for fractions`, `工作日数必须为整数（当前为 ${days}），不足一天请用工作小时`, { amount: days });
  }
  const c = compiled(city);
  const { ix } = c;
  const { i, off } = nextWorking(c, assertInstant(start, 'start') + CHINA_OFFSET_MS);
  const k = ix.rankBefore[i] + days; // workdays[rankBefore[i]] is day i itself
  if (k >= ix.workdays.length || ix.workdays[k] >= ix.segEnd[i]) throw missingAt(ix, ix.segEnd[i]);
  return toInstant(c, ix.workdays[k], off);
}

/** The deadline (截止时间) of a time limit counted from `start`. */
export function addTimeLimit(start: Date, limit: TimeLimit, city: CityCalendar): Date {
  const t = assertInstant(start, 'start');
  assertAmount(limit?.amount, limit?.unit);
  switch (limit.unit) {
    case 'minutes':
      return new Date(t + Math.round(limit.amount * MINUTE_MS));
    case 'hours':
      return new Date(t + Math.round(limit.amount * HOUR_MS));
    case 'working_hours':
      return addWorkingMinutes(start, limit.amount * 60, city);
    case 'working_days':
      return addWorkingDays(start, limit.amount, city);
    default:
      throw invalidTimeLimit(`Unknown time limit unit ${String((limit as { unit: unknown }).unit)}`, `未知的时限单位 ${String((limit as { unit: unknown }).unit)}`, { unit: (limit as { unit: unknown }).unit });
  }
}

/**
 * Office minutes between two instants (negative when `b` is before `a`). For "75% of the limit has
 * elapsed" reminders and overdue measures; both instants' years, and every year between, must be loaded.
 */
export function workingMinutesBetween(a: Date, b: Date, city: CityCalendar): number {
  const ta = assertInstant(a, 'a');
  const tb = assertInstant(b, 'b');
  if (tb < ta) return -workingMinutesBetween(b, a, city);
  const c = compiled(city);
  const pa = position(c, ta + CHINA_OFFSET_MS);
  const pb = position(c, tb + CHINA_OFFSET_MS);
  if (pb.i >= c.ix.segEnd[pa.i]) throw missingAt(c.ix, c.ix.segEnd[pa.i]);
  return (pb.pos - pa.pos) / MINUTE_MS;
}

/** The calendar entry of a China-local day 'YYYY-MM-DD'; throws CALENDAR_YEAR_MISSING for an unloaded year. */
export function calendarDay(calendar: WorkCalendar, day: string): CalendarDay {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  const year = m ? Number(m[1]) : NaN;
  if (!m || isoOfEpochDay(epochDayOf(year, Number(m[2]), Number(m[3]))) !== day) {
    throw new AppError(CalendarErrorCode.dayInvalid, 400, `Not a date: ${day} (expected YYYY-MM-DD)`, `日期格式无效：${day}（应为 YYYY-MM-DD）`, { day });
  }
  const entry = calendar.years.has(year) ? calendar.days.get(day) : undefined;
  if (!entry) throw calendarYearMissing(year);
  return entry;
}
