/**
 * Periods and the schedule's rules on the official calendar (the National Day week of 2025: 1–8
 * October off, Sunday 28 September and Saturday 11 October make-up workdays), read from the real
 * calendar service over the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCalendarService } from '../../calendar';
import { FixedClock } from '../../core';
import { customPeriod, dueScheduledReports, periodOf, previousPeriodOf } from '../../reports';
import { freshDatabase, type TestDatabase } from '../helpers/db';

let database: TestDatabase;
let isWorkday: (d: string) => Promise<boolean>;

beforeAll(async () => {
  database = await freshDatabase();
  const calendar = createCalendarService({ db: database.db, dialect: database.dialect, clock: new FixedClock(new Date('2025-10-01T00:00:00Z')) });
  await calendar.ensureSeeded();
  isWorkday = (d) => calendar.isWorkday(d);
});
afterAll(() => database.dispose());

const due = async (day: string) => (await dueScheduledReports(day, isWorkday)).map((d) => `${d.kind} ${d.period.from}..${d.period.to} ${d.period.label}`);

describe('report periods', () => {
  it('gives each kind its natural period with a Chinese label', () => {
    expect(periodOf('daily', '2025-10-09')).toEqual({ from: '2025-10-09', to: '2025-10-10', label: '2025年10月9日' });
    expect(periodOf('weekly', '2025-10-09')).toEqual({ from: '2025-10-06', to: '2025-10-13', label: '2025年第41周' });
    expect(periodOf('weekly', '2026-01-01')).toEqual({ from: '2025-12-29', to: '2026-01-05', label: '2026年第1周' });
    expect(periodOf('monthly', '2025-12-31')).toEqual({ from: '2025-12-01', to: '2026-01-01', label: '2025年12月' });
    expect(periodOf('yearly', '2025-06-30')).toEqual({ from: '2025-01-01', to: '2026-01-01', label: '2025年' });
    expect(customPeriod('daily', '2025-09-30', '2025-10-09').label).toBe('2025年9月30日至2025年10月8日');
    expect(previousPeriodOf('monthly', periodOf('monthly', '2025-03-15')).label).toBe('2025年2月');
  });
});

describe('the 08:00 schedule on the working calendar', () => {
  it('owes nothing on a holiday or a weekend', async () => {
    expect(await due('2025-10-01')).toEqual([]);
    expect(await due('2025-10-08')).toEqual([]);
    expect(await due('2025-10-12')).toEqual([]);
  });

  it('on the first working day after the holiday: the daily report since the last working day, the week, the month', async () => {
    expect(await due('2025-10-09')).toEqual([
      'daily 2025-09-30..2025-10-09 2025年9月30日至2025年10月8日',
      'weekly 2025-09-29..2025-10-06 2025年第40周',
      'monthly 2025-09-01..2025-10-01 2025年9月',
    ]);
  });

  it('an ordinary day owes the previous day; a make-up Saturday is a working day; a Monday covers the weekend and owes the week', async () => {
    expect(await due('2025-10-10')).toEqual(['daily 2025-10-09..2025-10-10 2025年10月9日']);
    expect(await due('2025-10-11')).toEqual(['daily 2025-10-10..2025-10-11 2025年10月10日']);
    expect(await due('2025-10-13')).toEqual(['daily 2025-10-11..2025-10-13 2025年10月11日至2025年10月12日', 'weekly 2025-10-06..2025-10-13 2025年第41周']);
  });

  it('a make-up Sunday counts as a working day: Monday 29 September covers only 28 September, and owes the week', async () => {
    expect(await due('2025-09-29')).toEqual(['daily 2025-09-28..2025-09-29 2025年9月28日', 'weekly 2025-09-22..2025-09-29 2025年第39周']);
  });

  it('the monthly bulletin and the yearly report on the first working day of January (New Year\'s Day off)', async () => {
    expect(await due('2025-01-01')).toEqual([]);
    expect(await due('2025-01-02')).toEqual([
      'daily 2024-12-31..2025-01-02 2024年12月31日至2025年1月1日',
      'monthly 2024-12-01..2025-01-01 2024年12月',
      'yearly 2024-01-01..2025-01-01 2024年',
    ]);
  });
});
