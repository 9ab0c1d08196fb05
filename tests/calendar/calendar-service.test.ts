import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCalendarService, type CalendarFile, type CalendarService } from '../../calendar';
import { listAudit } from '../../audit';
import { AppError, FixedClock, Role, toChinaIso, type Actor, type CommandContext } from '../../core';
import { freshDatabase, testDialect, type TestDatabase } from '../helpers/db';
import { until } from '../helpers/until';

const at = (local: string) => new Date(`${local}:00+08:00`);
const cn = (d: Date) => toChinaIso(d).slice(0, 16);

const actor = (role: Actor['role'], id: string): Actor => ({ kind: 'user', id, name: id, role, cityId: 'haikou', unitId: null, territoryId: null, territoryPath: null });
const admin: CommandContext = { actor: actor(Role.admin, '01ADMIN0000000000000000000'), requestId: 'req-1' };
const agent: CommandContext = { actor: actor(Role.agent, '01AGENT0000000000000000000') };

/** A plausible 2027 arrangement (hypothetical). */
const FILE_2027: CalendarFile = {
  year: 2027,
  source: '国办发明电〔2026〕X号',
  holidays: [
    { name: '元旦', days: ['2027-01-01', '2027-01-02', '2027-01-03'] },
    { name: '春节', days: ['2027-02-05', '2027-02-06', '2027-02-07', '2027-02-08', '2027-02-09', '2027-02-10', '2027-02-11', '2027-02-12', '2027-02-13'] },
  ],
  makeupWorkdays: [{ name: '春节调休', days: ['2027-01-31', '2027-02-20'] }],
};

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

let database: TestDatabase;
let clock: FixedClock;
let calendar: CalendarService;

beforeAll(async () => {
  database = await freshDatabase();
  clock = new FixedClock(new Date('2026-11-20T02:00:00Z'));
  calendar = createCalendarService({ db: database.db, dialect: database.dialect, clock });
});
afterAll(async () => database?.dispose());

describe(`calendar service on ${testDialect}`, () => {
  it('seeds every chinese-days year once, even when two seeders race', async () => {
    const other = createCalendarService({ db: database.db, dialect: database.dialect, clock });
    const [a, b] = await Promise.all([calendar.ensureSeeded(), other.ensureSeeded()]);
    const all = [...a.seeded, ...b.seeded].sort();
    expect(all).toEqual(Array.from({ length: 23 }, (_, i) => 2004 + i));
    expect(await calendar.ensureSeeded()).toEqual({ seeded: [] });

    const { db } = database;
    const count = await db.selectFrom('calendar_days').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    const expectedDays = Array.from({ length: 23 }, (_, i) => 2004 + i).reduce((n, y) => n + (y % 4 === 0 ? 366 : 365), 0);
    expect(Number(count.n)).toBe(expectedDays);

    const row = await db.selectFrom('calendar_days').selectAll().where('day', '=', '2025-10-11').executeTakeFirstOrThrow();
    expect({ ...row, year: Number(row.year), is_workday: Number(row.is_workday) }).toEqual({ day: '2025-10-11', year: 2025, is_workday: 1, kind: 'makeup_workday', name: '国庆节调休' });
  });

  it('lists the seeded years with their source', async () => {
    const years = await calendar.listYears();
    expect(years).toHaveLength(23);
    expect(years[22]).toEqual({ year: 2026, source: 'chinese-days 1.5.7', importedAt: '2026-11-20T10:00:00+08:00', importedBy: 'system' });
  });

  it('answers isWorkday from the database', async () => {
    expect(await calendar.isWorkday('2025-10-11')).toBe(true);
    expect(await calendar.isWorkday('2025-10-01')).toBe(false);
    expect(await calendar.isWorkday('2026-02-28')).toBe(true);
    expect(await rejection(calendar.isWorkday('2027-01-04'))).toMatchObject({ code: 'CALENDAR_YEAR_MISSING', details: { year: 2027 } });
  });

  it('computes deadlines on the stored calendar', async () => {
    expect(cn(await calendar.deadline(at('2025-09-30T16:00'), { amount: 3, unit: 'working_days' }))).toBe('2025-10-11T16:00');
    expect(cn(await calendar.deadline(at('2025-09-16T11:00'), { amount: 2, unit: 'working_hours' }))).toBe('2025-09-16T15:00');
    const summer = { seasons: [
      { from: '05-01', to: '09-30', periods: [['08:30', '12:00'], ['14:30', '18:00']] as [string, string][] },
      { from: '10-01', to: '04-30', periods: [['08:30', '12:00'], ['14:00', '17:30']] as [string, string][] },
    ] };
    expect(cn(await calendar.deadline(at('2025-07-04T17:00'), { amount: 2, unit: 'working_hours' }, summer))).toBe('2025-07-07T09:30');
    expect(await calendar.workingMinutesBetween(at('2025-09-30T16:00'), at('2025-10-09T09:30'))).toBe(150);
  });

  it('refuses to compute into 2027 before it is imported', async () => {
    const e = await rejection(calendar.deadline(at('2026-12-31T10:00'), { amount: 1, unit: 'working_days' }));
    expect(e).toMatchObject({ code: 'CALENDAR_YEAR_MISSING', status: 422, details: { year: 2027 } });
    expect(e.messageZh).toMatch(/2027年/);
  });

  it('lets only an administrator import a year', async () => {
    expect(await rejection(calendar.importYear(FILE_2027, agent))).toMatchObject({ code: 'CALENDAR_FORBIDDEN', status: 403 });
  });

  it('refuses an invalid file and writes nothing', async () => {
    const bad = { ...FILE_2027, makeupWorkdays: [{ name: '春节调休', days: ['2027-02-15'] }] };
    const e = await rejection(calendar.importYear(JSON.stringify(bad), admin));
    expect(e).toMatchObject({ code: 'CALENDAR_FILE_INVALID', status: 400 });
    expect(await database.db.selectFrom('calendar_days').select('day').where('year', '=', 2027).execute()).toEqual([]);
    expect((await calendar.listYears()).map((y) => y.year)).not.toContain(2027);
  });

  it('imports 2027 from a file; computing into 2027 then works', async () => {
    clock.set(new Date('2026-11-21T01:00:00Z'));
    const result = await calendar.importYear(JSON.stringify(FILE_2027), admin);
    expect(result).toEqual({ year: 2027, replaced: false, holidayDays: 12, makeupWorkdays: 2 });

    expect(cn(await calendar.deadline(at('2026-12-31T10:00'), { amount: 1, unit: 'working_days' }))).toBe('2027-01-04T10:00');
    expect(cn(await calendar.deadline(at('2027-02-04T10:00'), { amount: 1, unit: 'working_days' }))).toBe('2027-02-15T10:00'); // 02-05..13 off, Sunday 02-14 not worked
    expect(await calendar.isWorkday('2027-01-31')).toBe(true);
    const years = await calendar.listYears();
    expect(years.at(-1)).toEqual({ year: 2027, source: '国办发明电〔2026〕X号', importedAt: '2026-11-21T09:00:00+08:00', importedBy: admin.actor.id });
  });

  it('writes an audit row for the import', async () => {
    const trail = await listAudit(database.db, 'calendar_year', '2027');
    expect(trail).toHaveLength(1);
    expect(trail[0]).toMatchObject({
      actorId: admin.actor.id,
      actorRole: 'admin',
      action: 'calendar.year_imported',
      before: null,
      after: FILE_2027,
      requestId: 'req-1',
      at: '2026-11-21T09:00:00+08:00',
    });
  });

  it('replaces the year on re-import, in place, with the old arrangement in the audit row', async () => {
    const corrected: CalendarFile = { ...FILE_2027, source: '国办发明电〔2026〕X号（更正）', holidays: [{ name: '元旦', days: ['2027-01-01', '2027-01-02', '2027-01-03', '2027-01-04'] }, FILE_2027.holidays[1]] };
    const result = await calendar.importYear(corrected, admin);
    expect(result).toMatchObject({ year: 2027, replaced: true, holidayDays: 13 });

    const days = await database.db.selectFrom('calendar_days').select('day').where('year', '=', 2027).execute();
    expect(days).toHaveLength(365);
    expect(cn(await calendar.deadline(at('2026-12-31T10:00'), { amount: 1, unit: 'working_days' }))).toBe('2027-01-05T10:00');
    expect((await calendar.listYears()).filter((y) => y.year === 2027)).toHaveLength(1);

    const trail = await listAudit(database.db, 'calendar_year', '2027');
    expect(trail).toHaveLength(2);
    expect(trail[1].before).toEqual(FILE_2027);
    expect(trail[1].after).toEqual(corrected);
  });

  it('sees an import made by another process once its recheck interval has passed', async () => {
    const reader = createCalendarService({ db: database.db, dialect: database.dialect, clock, recheckAfterMs: 5 * 60_000 });
    expect(cn(await reader.deadline(at('2026-12-31T10:00'), { amount: 1, unit: 'working_days' }))).toBe('2027-01-05T10:00');
    clock.advanceMinutes(1);
    await calendar.importYear(FILE_2027, admin); // through another instance
    expect(cn(await reader.deadline(at('2026-12-31T10:00'), { amount: 1, unit: 'working_days' }))).toBe('2027-01-05T10:00'); // still cached
    clock.advanceMinutes(5);
    // Past the interval the calendar in memory still answers at once, and is rechecked in the background.
    const oneDay = async () => cn(await reader.deadline(at('2026-12-31T10:00'), { amount: 1, unit: 'working_days' }));
    expect(await oneDay()).toBe('2027-01-05T10:00');
    await until(async () => (await oneDay()) === '2027-01-04T10:00', 'the recheck to load the import');
  });

  it('answers a deadline inside another transaction on SQLite\'s one connection after its recheck interval (it used to wait for that transaction for ever)', async () => {
    const reader = createCalendarService({ db: database.db, dialect: database.dialect, clock, recheckAfterMs: 60_000 });
    await reader.load();
    clock.advanceMinutes(2);
    const due = await database.db.transaction().execute(async (trx) => {
      await trx.selectFrom('calendar_years').select('year').execute();
      return reader.deadline(at('2026-12-30T10:00'), { amount: 1, unit: 'working_days' });
    });
    expect(cn(due)).toBe('2026-12-31T10:00');
  }, 20_000);

  it('keeps an imported correction of a seeded year when seeding runs again', async () => {
    const file2026 = { year: 2026, source: '更正', holidays: [{ name: '元旦', days: ['2026-01-01', '2026-01-02'] }] };
    await calendar.importYear(file2026, admin);
    expect(await calendar.ensureSeeded()).toEqual({ seeded: [] });
    expect((await calendar.listYears()).find((y) => y.year === 2026)?.source).toBe('更正');
    expect(await calendar.isWorkday('2026-02-16')).toBe(true); // the corrected year has no Spring Festival
  });
});

describe('coverage: is next year loaded before deadlines reach it?', () => {
  let db: TestDatabase;
  let calendar: CalendarService;
  beforeAll(async () => {
    db = await freshDatabase();
    calendar = createCalendarService({ db: db.db, dialect: db.dialect, clock: new FixedClock(new Date('2026-11-23T02:00:00Z')) });
    await calendar.ensureSeeded();
  });
  afterAll(async () => db?.dispose());

  it('warns 45 days ahead when the next year is missing, in Chinese and English', async () => {
    const c = await calendar.coverage(new Date('2026-11-23T02:00:00Z'));
    expect(c).toMatchObject({ loadedThrough: 2026, missingYear: 2027 });
    expect(c.messageZh).toContain('2027');
    expect(c.message).toContain('calendar import');
  });

  it('is quiet while the year 45 days ahead is loaded, and after the next year is imported', async () => {
    expect((await calendar.coverage(new Date('2026-11-01T02:00:00Z'))).missingYear).toBeNull();
    await calendar.importYear(FILE_2027, admin);
    expect((await calendar.coverage(new Date('2026-11-23T02:00:00Z'))).missingYear).toBeNull();
  });
});
