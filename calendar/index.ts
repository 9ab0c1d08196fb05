/**
 * Calendar: the working-time clock (工作时间) every time limit (时限) of the product is measured on.
 *
 * - The national working-day calendar (工作日历: workdays, statutory holidays 法定节假日, make-up
 *   workdays 调休上班) lives in calendar_days/calendar_years, seeded from chinese-days for the years
 *   it covers and extended by an admin importing the State Council's arrangement for a new year.
 * - Office hours (办公时间) are a city setting, by season.
 * - Asked to compute into a year without data, everything fails with CALENDAR_YEAR_MISSING (422):
 *   the clock never guesses.
 */

/**
 * Creates the calendar service over the database.
 *
 * `ensureSeeded()` at boot; `importYear(file, ctx)` for an admin upload; `deadline(from, limit,
 * officeHours?)`, `workingMinutesBetween(a, b, officeHours?)` and `isWorkday('YYYY-MM-DD')` for
 * other parts; `cityCalendar(officeHours?)` for synchronous bulk work with {@link addTimeLimit}.
 */
export {
  createCalendarService,
  type CalendarService,
  type CalendarServiceDeps,
  type CalendarYearInfo,
  type ImportYearResult,
} from './calendar.service';

/** The HTTP plugin (deadline preview, list and import of years); `app/` mounts it under /api/v1. */
export { calendarRoutes, type CalendarRoutesOptions } from './calendar.routes';

export {
  /** The deadline of a time limit from a start instant, on a calendar and a city's office hours. Synchronous and fast. */
  addTimeLimit,
  /** Office minutes between two instants (negative when b is before a). */
  workingMinutesBetween,
  /** N office minutes after a start (fractions allowed). */
  addWorkingMinutes,
  /** Same time of day on the Nth following workday, after moving the start into working time. */
  addWorkingDays,
  /** A start moved to the next working period when it falls outside working time. */
  nextWorkingInstant,
  /** The calendar entry of a day 'YYYY-MM-DD'. */
  calendarDay,
  /** Builds an in-memory calendar from day rows and the set of complete years (for tests and tools). */
  createWorkCalendar,
  /** 08:30–12:00 and 14:00–17:30 all year. */
  DEFAULT_OFFICE_HOURS,
  /** Validates the `officeHours` city setting. */
  officeHoursSchema,
  /** Validates a `{ amount, unit }` time limit. */
  timeLimitSchema,
  TimeLimitUnit,
  DayKind,
  /** Error codes thrown by this part (all AppError). */
  CalendarErrorCode,
  /** The CALENDAR_YEAR_MISSING error for a year. */
  calendarYearMissing,
  type TimeLimit,
  type OfficeHours,
  type OfficeSeason,
  type WorkCalendar,
  type CityCalendar,
  type CalendarDay,
  type CalendarDayRow,
} from './domain/working-time';

export {
  /** Checks an import file without throwing: `{ ok, file }` or `{ ok: false, issues }`. */
  validateCalendarFile,
  /** Checks an import file; throws CALENDAR_FILE_INVALID (400) listing every issue. */
  parseCalendarFile,
  /** The years chinese-days has real data for. */
  chineseDaysYears,
  type CalendarFile,
  type CalendarFileIssue,
  type DayGroup,
} from './domain/calendar-file';
