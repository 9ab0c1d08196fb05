import type { Kysely } from 'kysely';
import type { DB, DialectName } from '../db';
import { transactionWithRetry } from '../db';
import { recordAudit } from '../audit';
import { dbTimeToIso, forbidden, Role, systemClock, toChinaIso, toDbTime, type Clock, type CommandContext } from '../core';
import { CalendarRepository } from './calendar.repository';
import {
  CHINESE_DAYS_SOURCE, calendarFileRows, calendarRowsToFile, chineseDaysRows, chineseDaysYears, parseCalendarFile,
  type CalendarFile,
} from './domain/calendar-file';
import {
  addTimeLimit, calendarDay, createWorkCalendar, DayKind, workingMinutesBetween,
  type CityCalendar, type OfficeHours, type TimeLimit, type WorkCalendar,
} from './domain/working-time';

export interface CalendarServiceDeps {
  db: Kysely<DB>;
  dialect: DialectName;
  clock?: Clock;
  /**
   * How long the in-memory calendar is trusted before checking whether another process imported a
   * year (a cheap look at calendar_years). Imports through this service invalidate it at once.
   */
  recheckAfterMs?: number;
}

export interface CalendarYearInfo {
  year: number;
  source: string;
  /** ISO 8601, China time. */
  importedAt: string;
  importedBy: string | null;
}

export interface ImportYearResult {
  year: number;
  /** True when the year had a calendar before (it was replaced). */
  replaced: boolean;
  holidayDays: number;
  makeupWorkdays: number;
}

/** Who may change the national calendar. */
const CALENDAR_EDITORS: ReadonlySet<string> = new Set([Role.admin, Role.system]);

/** The working-day calendar (工作日历) on the database, with the working-time clock over it. */
export function createCalendarService(deps: CalendarServiceDeps) {
  const clock = deps.clock ?? systemClock;
  const recheckAfterMs = deps.recheckAfterMs ?? 60_000;
  const repoOver = (db: Kysely<DB>) => new CalendarRepository(db, deps.dialect);
  const repo = repoOver(deps.db);

  let cached: { calendar: WorkCalendar; fingerprint: string; checkedAt: number } | null = null;
  let loading: Promise<WorkCalendar> | null = null;
  // Bumped by invalidate(): a read that started before an import must not cache its older snapshot.
  let generation = 0;

  // imported_at (ms) changes with every import: a cheap version of the whole calendar.
  const fingerprintOf = (years: { year: number; source: string; imported_at: string }[]) =>
    years.map((y) => `${y.year}@${y.imported_at}/${y.source}`).join(',');

  async function readCalendar(gen: number): Promise<WorkCalendar> {
    // One transaction: the days and the list of years come from the same snapshot.
    const { years, days } = await deps.db.transaction().execute(async (trx) => {
      const r = repoOver(trx);
      return { years: await r.listYears(), days: await r.listDays() };
    });
    const calendar = createWorkCalendar(days, years.map((y) => y.year));
    if (gen === generation) cached = { calendar, fingerprint: fingerprintOf(years), checkedAt: clock.now().getTime() };
    return calendar;
  }

  function invalidate(): void {
    generation++;
    cached = null;
    loading = null;
  }

  let rechecking: Promise<unknown> | null = null;
  /** Whether another process changed calendar_years since `current` was read; reloads it if so. */
  async function recheck(current: NonNullable<typeof cached>): Promise<void> {
    if (fingerprintOf(await repo.listYears()) === current.fingerprint) current.checkedAt = clock.now().getTime();
    else await readCalendar(generation);
  }

  /**
   * The calendar in memory; reloaded after an import, or when another process changed
   * calendar_years. A calendar due for its recheck is still answered at once and rechecked in the
   * background: deadlines are computed inside other parts' transactions, and on SQLite (one
   * connection) a read of our own there would wait for the very transaction that waits for it.
   */
  async function load(): Promise<WorkCalendar> {
    if (cached && clock.now().getTime() - cached.checkedAt < recheckAfterMs) return cached.calendar;
    if (cached) {
      const current = cached;
      rechecking ??= recheck(current).catch(() => undefined).finally(() => (rechecking = null));
      return current.calendar;
    }
    if (!loading) {
      // Concurrent callers share one read.
      const p: Promise<WorkCalendar> = readCalendar(generation).finally(() => {
        if (loading === p) loading = null;
      });
      loading = p;
    }
    return loading;
  }

  return {
    load,
    invalidate,

    /**
     * Seeds every year chinese-days covers that the database lacks (2004–2026 for 1.5.7). Idempotent
     * and safe to run from several processes at once: each year is claimed by inserting its
     * calendar_years row first. A year already present (seeded or imported) is never overwritten.
     */
    async ensureSeeded(): Promise<{ seeded: number[] }> {
      const present = new Set((await repo.listYears()).map((y) => y.year));
      const missing = chineseDaysYears().filter((y) => !present.has(y));
      if (!missing.length) return { seeded: [] };
      const at = toDbTime(clock.now());
      const seeded = await deps.db.transaction().execute(async (trx) => {
        const r = repoOver(trx);
        const done: number[] = [];
        for (const year of missing) {
          if (!(await r.claimYear({ year, source: CHINESE_DAYS_SOURCE, imported_at: at, imported_by: 'system' }))) continue;
          await r.replaceDays(year, chineseDaysRows(year));
          done.push(year);
        }
        return done;
      });
      if (seeded.length) invalidate();
      return { seeded };
    },

    /**
     * Imports one year as published by the State Council (a JSON string or parsed object, see
     * `calendar/domain/calendar-file.ts`), replacing that year's days in one transaction with an
     * audit row. Throws CALENDAR_FILE_INVALID (400) with every problem found.
     */
    async importYear(fileContent: string | object, ctx: CommandContext): Promise<ImportYearResult> {
      if (!CALENDAR_EDITORS.has(ctx.actor.role)) {
        throw forbidden('CALENDAR_FORBIDDEN', 'Only an administrator may change the working-day calendar', '仅系统管理员可以修改工作日历');
      }
      const file = parseCalendarFile(fileContent);
      const rows = calendarFileRows(file);
      const now = clock.now();
      // Two imports of one year at once: delete-then-insert of the same key deadlocks on MariaDB; the
      // loser runs again and replaces the winner's copy (the last import wins, as it would in turn).
      const result = await transactionWithRetry(deps.db, async (trx) => {
        const r = repoOver(trx);
        const previous = await r.findYear(file.year);
        const before: CalendarFile | null = previous ? calendarRowsToFile(file.year, previous.source, await r.listDaysOfYear(file.year)) : null;
        await r.replaceYear(
          { year: file.year, source: file.source, imported_at: toDbTime(now), imported_by: (ctx.actor.id ?? ctx.actor.name).slice(0, 64) },
          rows,
        );
        await recordAudit(
          trx,
          ctx,
          { entityType: 'calendar_year', entityId: String(file.year), action: 'calendar.year_imported', before, after: file },
          now,
        );
        return {
          year: file.year,
          replaced: !!previous,
          holidayDays: rows.filter((d) => d.kind === DayKind.holiday).length,
          makeupWorkdays: rows.filter((d) => d.kind === DayKind.makeupWorkday).length,
        };
      });
      invalidate();
      return result;
    },

    /** The years the calendar has, with where each came from. */
    async listYears(): Promise<CalendarYearInfo[]> {
      return (await repo.listYears()).map((y) => ({
        year: y.year,
        source: y.source,
        importedAt: dbTimeToIso(y.imported_at)!,
        importedBy: y.imported_by,
      }));
    },

    /**
     * Whether the calendar reaches far enough: when the year `aheadDays` from now is not loaded,
     * deadlines that cross into it will be refused (CALENDAR_YEAR_MISSING), so an admin must import
     * the State Council's arrangement before then. Null when covered.
     */
    async coverage(now: Date, aheadDays = 45): Promise<{ loadedThrough: number | null; missingYear: number | null; message: string | null; messageZh: string | null }> {
      const years = new Set((await repo.listYears()).map((y) => Number(y.year)));
      const loadedThrough = years.size ? Math.max(...years) : null;
      // The China-local year of the day `aheadDays` on.
      const year = Number(toChinaIso(new Date(now.getTime() + aheadDays * 86_400_000)).slice(0, 4));
      if (years.has(year)) return { loadedThrough, missingYear: null, message: null, messageZh: null };
      return {
        loadedThrough,
        missingYear: year,
        message: `the working-day calendar has no ${year}: import the State Council's arrangement (hotline calendar import) before deadlines reach it`,
        messageZh: `工作日历缺少 ${year} 年：请在时限跨入该年前导入国务院办公厅节假日安排（hotline calendar import）`,
      };
    },

    /** The calendar plus office hours, for synchronous bulk work (deadline sweeps) with the domain functions. */
    async cityCalendar(officeHours?: OfficeHours): Promise<CityCalendar> {
      return { calendar: await load(), officeHours };
    },

    /** The deadline of `limit` counted from `from`; CALENDAR_YEAR_MISSING (422) when it reaches a year without data. */
    async deadline(from: Date, limit: TimeLimit, officeHours?: OfficeHours): Promise<Date> {
      return addTimeLimit(from, limit, { calendar: await load(), officeHours });
    },

    /** Office minutes between two instants (negative when b is before a). */
    async workingMinutesBetween(a: Date, b: Date, officeHours?: OfficeHours): Promise<number> {
      return workingMinutesBetween(a, b, { calendar: await load(), officeHours });
    },

    /** Whether a China-local day 'YYYY-MM-DD' is a workday (工作日, including make-up workdays 调休上班). */
    async isWorkday(day: string): Promise<boolean> {
      return calendarDay(await load(), day).isWorkday;
    },
  };
}

export type CalendarService = ReturnType<typeof createCalendarService>;
