import type { Kysely } from 'kysely';
import { insertIgnore, type CalendarDaysTable, type CalendarYearsTable, type DB, type DialectName } from '../db';
import type { CalendarDayRow, DayKind } from './domain/working-time';

export type CalendarYearRow = CalendarYearsTable;

/** Rows per INSERT: well under SQLite's and MySQL's bound-parameter limits. */
const CHUNK = 200;

const toDomain = (r: CalendarDaysTable): CalendarDayRow => ({
  day: r.day,
  year: Number(r.year),
  isWorkday: Number(r.is_workday) === 1,
  kind: r.kind as DayKind,
  name: r.name,
});

const toTable = (r: CalendarDayRow): CalendarDaysTable => ({
  day: r.day,
  year: r.year,
  is_workday: r.isWorkday ? 1 : 0,
  kind: r.kind,
  name: r.name,
});

/** The national working-day calendar: calendar_days (one row a day) and calendar_years (provenance). */
export class CalendarRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: DialectName,
  ) {}

  async listYears(): Promise<CalendarYearRow[]> {
    const rows = await this.db.selectFrom('calendar_years').selectAll().orderBy('year').execute();
    return rows.map((r) => ({ ...r, year: Number(r.year) }));
  }

  async findYear(year: number): Promise<CalendarYearRow | undefined> {
    const r = await this.db.selectFrom('calendar_years').selectAll().where('year', '=', year).executeTakeFirst();
    return r && { ...r, year: Number(r.year) };
  }

  async listDays(): Promise<CalendarDayRow[]> {
    const rows = await this.db.selectFrom('calendar_days').selectAll().orderBy('day').execute();
    return rows.map(toDomain);
  }

  async listDaysOfYear(year: number): Promise<CalendarDayRow[]> {
    const rows = await this.db.selectFrom('calendar_days').selectAll().where('year', '=', year).orderBy('day').execute();
    return rows.map(toDomain);
  }

  /** Claims a year for seeding: false when it already has a calendar_years row (or a concurrent seeder took it). */
  claimYear(row: CalendarYearRow): Promise<boolean> {
    return insertIgnore(this.db, this.dialect, 'calendar_years', { ...row });
  }

  /** Replaces a year's days and provenance. Call inside a transaction. */
  async replaceYear(meta: CalendarYearRow, days: CalendarDayRow[]): Promise<void> {
    await this.db.deleteFrom('calendar_years').where('year', '=', meta.year).execute();
    await this.db.insertInto('calendar_years').values(meta).execute();
    await this.replaceDays(meta.year, days);
  }

  /** Replaces a year's days only. Call inside a transaction. */
  async replaceDays(year: number, days: CalendarDayRow[]): Promise<void> {
    await this.db.deleteFrom('calendar_days').where('year', '=', year).execute();
    for (let i = 0; i < days.length; i += CHUNK) {
      await this.db.insertInto('calendar_days').values(days.slice(i, i + CHUNK).map(toTable)).execute();
    }
  }
}
