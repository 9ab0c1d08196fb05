import { describe, expect, it } from 'vitest';
import {
  addTimeLimit, addWorkingDays, addWorkingMinutes, calendarDay, createWorkCalendar, DEFAULT_OFFICE_HOURS,
  nextWorkingInstant, officeHoursSchema, workingMinutesBetween, type CityCalendar, type OfficeHours, type TimeLimit,
} from '../../calendar';
import { calendarFileRows, chineseDaysRows } from '../../calendar/domain/calendar-file';
import { AppError, toChinaIso } from '../../core';

/** A China-local wall time ('2025-09-30T16:00') as an instant. */
const at = (local: string) => new Date(`${local}:00+08:00`);
const cn = (d: Date) => toChinaIso(d).slice(0, 16);

const calendarOf = (...years: number[]) => createWorkCalendar(years.flatMap(chineseDaysRows), years);
const city: CityCalendar = { calendar: calendarOf(2024, 2025, 2026) };

const deadline = (start: string, amount: number, unit: TimeLimit['unit'], c: CityCalendar = city) =>
  cn(addTimeLimit(at(start), { amount, unit }, c));

/** Summer hours (夏令作息) from May to September, afternoon 14:30–18:00. */
const SUMMER: OfficeHours = {
  seasons: [
    { from: '05-01', to: '09-30', periods: [['08:30', '12:00'], ['14:30', '18:00']] },
    { from: '10-01', to: '04-30', periods: [['08:30', '12:00'], ['14:00', '17:30']] },
  ],
};
const summerCity: CityCalendar = { calendar: city.calendar, officeHours: SUMMER };

function catchError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

describe('the calendar from chinese-days', () => {
  it('knows National Day 2025 and its make-up workdays (调休上班)', () => {
    const cal = city.calendar;
    expect(calendarDay(cal, '2025-09-28')).toEqual({ isWorkday: true, kind: 'makeup_workday', name: '国庆节调休' });
    expect(calendarDay(cal, '2025-10-01')).toEqual({ isWorkday: false, kind: 'holiday', name: '国庆节' });
    expect(calendarDay(cal, '2025-10-06')).toEqual({ isWorkday: false, kind: 'holiday', name: '中秋' });
    expect(calendarDay(cal, '2025-10-08').isWorkday).toBe(false);
    expect(calendarDay(cal, '2025-10-11')).toEqual({ isWorkday: true, kind: 'makeup_workday', name: '国庆节调休' });
    expect(calendarDay(cal, '2025-10-12')).toEqual({ isWorkday: false, kind: 'weekend', name: null });
    expect(calendarDay(cal, '2025-10-13')).toEqual({ isWorkday: true, kind: 'workday', name: null });
  });

  it('knows Spring Festival 2026: 02-15..02-23 off, Saturdays 02-14 and 02-28 worked', () => {
    const cal = city.calendar;
    for (const d of ['2026-02-15', '2026-02-16', '2026-02-20', '2026-02-23']) expect(calendarDay(cal, d)).toMatchObject({ isWorkday: false, kind: 'holiday', name: '春节' });
    expect(calendarDay(cal, '2026-02-14')).toMatchObject({ isWorkday: true, kind: 'makeup_workday' });
    expect(calendarDay(cal, '2026-02-28')).toMatchObject({ isWorkday: true, kind: 'makeup_workday' });
    expect(calendarDay(cal, '2026-02-24').isWorkday).toBe(true);
  });

  it('refuses a day it has no year for, and a malformed day', () => {
    expect(catchError(() => calendarDay(city.calendar, '2027-01-01'))).toMatchObject({ code: 'CALENDAR_YEAR_MISSING', details: { year: 2027 } });
    expect(catchError(() => calendarDay(city.calendar, '2025-02-29')).code).toBe('CALENDAR_DAY_INVALID');
    expect(catchError(() => calendarDay(city.calendar, '2025/10/01')).code).toBe('CALENDAR_DAY_INVALID');
  });
});

describe('working days (工作日)', () => {
  it('counts across National Day 2025 to the make-up Saturday', () => {
    expect(deadline('2025-09-30T16:00', 3, 'working_days')).toBe('2025-10-11T16:00');
    expect(deadline('2025-09-30T16:00', 1, 'working_days')).toBe('2025-10-09T16:00');
    expect(deadline('2025-09-30T16:00', 4, 'working_days')).toBe('2025-10-13T16:00');
  });

  it('counts the make-up Sunday 2025-09-28 as a workday', () => {
    expect(deadline('2025-09-26T10:00', 1, 'working_days')).toBe('2025-09-28T10:00');
    expect(deadline('2025-09-28T10:00', 1, 'working_days')).toBe('2025-09-29T10:00');
  });

  it('moves a start outside working time to the next period start first', () => {
    expect(deadline('2025-09-27T10:00', 1, 'working_days')).toBe('2025-09-29T08:30'); // Sat → Sun 28 (make-up) 08:30
    expect(deadline('2025-10-03T09:00', 1, 'working_days')).toBe('2025-10-10T08:30'); // holiday → 10-09 08:30
    expect(deadline('2025-09-16T19:00', 1, 'working_days')).toBe('2025-09-18T08:30'); // evening → next morning
    expect(deadline('2025-09-16T12:30', 1, 'working_days')).toBe('2025-09-17T14:00'); // lunch → 14:00
    expect(deadline('2025-10-03T09:00', 0, 'working_days')).toBe('2025-10-09T08:30');
  });

  it('crosses Spring Festival 2026 with both make-up Saturdays', () => {
    expect(deadline('2026-02-13T10:00', 1, 'working_days')).toBe('2026-02-14T10:00');
    expect(deadline('2026-02-13T10:00', 2, 'working_days')).toBe('2026-02-24T10:00');
    expect(deadline('2026-02-14T10:00', 1, 'working_days')).toBe('2026-02-24T10:00');
    expect(deadline('2026-02-27T15:00', 1, 'working_days')).toBe('2026-02-28T15:00');
    expect(deadline('2026-02-27T15:00', 2, 'working_days')).toBe('2026-03-02T15:00');
    expect(deadline('2026-02-18T09:00', 4, 'working_days')).toBe('2026-02-28T08:30'); // from 24 08:30: 25, 26, 27, 28
  });

  it('crosses a year end with data on both sides', () => {
    // 元旦 2026: 01-01..03 off, Sunday 01-04 worked.
    expect(deadline('2025-12-31T10:00', 1, 'working_days')).toBe('2026-01-04T10:00');
    expect(deadline('2025-12-31T10:00', 2, 'working_days')).toBe('2026-01-05T10:00');
  });

  it('matches addWorkingDays', () => {
    expect(cn(addWorkingDays(at('2025-09-30T16:00'), 3, city))).toBe('2025-10-11T16:00');
  });
});

describe('working hours (工作小时)', () => {
  it('skips lunch: 2 h from 11:00 is 15:00', () => {
    expect(deadline('2025-09-16T11:00', 2, 'working_hours')).toBe('2025-09-16T15:00');
  });

  it('ends at a period end rather than at the next start', () => {
    expect(deadline('2025-09-16T10:00', 2, 'working_hours')).toBe('2025-09-16T12:00');
    expect(deadline('2025-09-16T16:30', 1, 'working_hours')).toBe('2025-09-16T17:30');
  });

  it('starts from the next period when the start is at lunch, in the evening or before office hours', () => {
    expect(deadline('2025-09-16T12:30', 1, 'working_hours')).toBe('2025-09-16T15:00');
    expect(deadline('2025-09-16T19:00', 1, 'working_hours')).toBe('2025-09-17T09:30');
    expect(deadline('2025-09-16T06:00', 1, 'working_hours')).toBe('2025-09-16T09:30');
  });

  it('goes over a weekend: Friday 17:00 + 2 h is Monday 10:00 with the default hours', () => {
    expect(deadline('2025-09-19T17:00', 2, 'working_hours')).toBe('2025-09-22T10:00');
  });

  it('goes over a holiday: Labour Day 2025 (05-01..05-05)', () => {
    expect(deadline('2025-04-30T16:00', 4, 'working_hours')).toBe('2025-05-06T11:00');
    expect(deadline('2025-05-03T10:00', 1, 'working_hours')).toBe('2025-05-06T09:30');
  });

  it('counts a make-up workday and skips the Spring Festival 2026', () => {
    expect(deadline('2026-02-14T17:00', 2, 'working_hours')).toBe('2026-02-24T10:00');
    expect(deadline('2025-09-27T10:00', 1, 'working_hours')).toBe('2025-09-28T09:30');
    expect(deadline('2025-09-30T17:00', 2, 'working_hours')).toBe('2025-10-09T10:00');
  });

  it('spans several days: 7 h is one full default day', () => {
    expect(deadline('2025-09-16T09:00', 7, 'working_hours')).toBe('2025-09-17T09:00');
    // 6.5 h on the 16th, 9 full days (Sun 09-28 worked), 2.5 h on the 29th.
    expect(deadline('2025-09-16T09:00', 72, 'working_hours')).toBe('2025-09-29T11:00');
  });

  it('keeps seconds', () => {
    const d = addTimeLimit(new Date('2025-09-16T10:00:17+08:00'), { amount: 1, unit: 'working_hours' }, city);
    expect(toChinaIso(d)).toBe('2025-09-16T11:00:17+08:00');
  });
});

describe('working minutes', () => {
  it('uses fractional working hours: 30 working minutes from 11:45 is 14:15', () => {
    expect(deadline('2025-09-16T11:45', 0.5, 'working_hours')).toBe('2025-09-16T14:15');
    expect(cn(addWorkingMinutes(at('2025-09-16T11:45'), 30, city))).toBe('2025-09-16T14:15');
  });

  it('rolls over an evening and a weekend', () => {
    expect(cn(addWorkingMinutes(at('2025-09-19T17:20'), 30, city))).toBe('2025-09-22T08:50');
    expect(cn(addWorkingMinutes(at('2025-09-20T10:00'), 15, city))).toBe('2025-09-22T08:45');
  });

  it('0 minutes from outside working time is the next period start', () => {
    expect(cn(addWorkingMinutes(at('2025-09-16T12:00'), 0, city))).toBe('2025-09-16T14:00');
    expect(cn(nextWorkingInstant(at('2025-09-16T17:30'), city))).toBe('2025-09-17T08:30');
    expect(cn(nextWorkingInstant(at('2025-09-16T08:30'), city))).toBe('2025-09-16T08:30');
  });
});

describe('natural time (自然时间)', () => {
  it('is plain addition, holidays or not, data or not', () => {
    expect(deadline('2025-09-30T16:00', 24, 'hours')).toBe('2025-10-01T16:00');
    expect(deadline('2025-09-16T11:45', 30, 'minutes')).toBe('2025-09-16T12:15');
    expect(deadline('2026-12-31T20:00', 48, 'hours')).toBe('2027-01-02T20:00');
    expect(deadline('2030-01-01T00:00', 90, 'minutes', { calendar: createWorkCalendar([], []) })).toBe('2030-01-01T01:30');
  });
});

describe('seasonal office hours (夏令/冬令作息)', () => {
  it('validates the summer configuration and the default', () => {
    expect(officeHoursSchema.safeParse(SUMMER).success).toBe(true);
    expect(officeHoursSchema.safeParse(DEFAULT_OFFICE_HOURS).success).toBe(true);
  });

  it('uses the afternoon 14:30–18:00 in summer: Friday 17:00 + 2 h is Monday 09:30', () => {
    expect(deadline('2025-07-04T17:00', 2, 'working_hours', summerCity)).toBe('2025-07-07T09:30');
    expect(deadline('2025-07-04T12:10', 1, 'working_hours', summerCity)).toBe('2025-07-04T15:30');
    expect(deadline('2025-07-04T12:10', 1, 'working_hours')).toBe('2025-07-04T15:00');
  });

  it('changes season across National Day: summer 09-30, winter 10-09', () => {
    expect(deadline('2025-09-30T17:00', 2, 'working_hours', summerCity)).toBe('2025-10-09T09:30');
    expect(workingMinutesBetween(at('2025-09-30T17:00'), at('2025-10-09T09:30'), summerCity)).toBe(120);
  });

  it('puts 02-29 in the season that covers it (leap year 2024)', () => {
    const split: OfficeHours = {
      seasons: [
        { from: '03-01', to: '10-31', periods: [['09:00', '12:00'], ['13:00', '17:00']] },
        { from: '11-01', to: '02-29', periods: [['08:00', '12:00']] },
      ],
    };
    const c = { calendar: city.calendar, officeHours: split };
    expect(deadline('2024-02-28T11:00', 2, 'working_hours', c)).toBe('2024-02-29T09:00');
    expect(deadline('2024-02-29T11:00', 2, 'working_hours', c)).toBe('2024-03-01T10:00');
    expect(deadline('2025-02-28T11:00', 2, 'working_hours', c)).toBe('2025-03-03T10:00');
  });

  it('rejects bad office hours with clear issues', () => {
    const bad = (periods: [string, string][], seasons?: OfficeHours['seasons']) =>
      officeHoursSchema.safeParse({ seasons: seasons ?? [{ from: '01-01', to: '12-31', periods }] });
    expect(bad([['08:30', '12:00'], ['11:00', '17:30']]).error?.issues[0].message).toMatch(/overlaps/);
    expect(bad([['14:00', '17:30'], ['08:30', '12:00']]).error?.issues[0].message).toMatch(/in order/);
    expect(bad([['12:00', '08:30']]).error?.issues[0].message).toMatch(/end after it starts/);
    expect(bad([['8:30', '12:00']]).success).toBe(false);
    expect(bad([['08:30', '24:30']]).success).toBe(false);
    expect(bad([]).success).toBe(false);
    expect(bad([], [{ from: '05-01', to: '09-30', periods: [['08:30', '12:00']] }]).error?.issues[0].message).toMatch(/no season covers 10-01..04-30/);
    expect(
      bad([], [
        { from: '01-01', to: '06-30', periods: [['08:30', '12:00']] },
        { from: '06-01', to: '12-31', periods: [['08:30', '12:00']] },
      ]).error?.issues[0].message,
    ).toMatch(/overlaps season 0 on 06-01/);
    expect(bad([], [{ from: '02-30', to: '12-31', periods: [['08:30', '12:00']] }]).success).toBe(false);
    expect(officeHoursSchema.safeParse({ seasons: [{ from: '01-01', to: '12-31', periods: [['08:30', '12:00']], extra: 1 }] }).success).toBe(false);
  });

  it('refuses to compute with invalid office hours', () => {
    const e = catchError(() => addTimeLimit(at('2025-09-16T10:00'), { amount: 1, unit: 'working_hours' }, { calendar: city.calendar, officeHours: { seasons: [] } }));
    expect(e.code).toBe('OFFICE_HOURS_INVALID');
  });
});

describe('a year without data (CALENDAR_YEAR_MISSING)', () => {
  it('fails when working days reach into 2027', () => {
    const e = catchError(() => addTimeLimit(at('2026-12-31T10:00'), { amount: 1, unit: 'working_days' }, city));
    expect(e).toMatchObject({ code: 'CALENDAR_YEAR_MISSING', status: 422, details: { year: 2027 } });
    expect(e.message).toMatch(/2027/);
    expect(e.messageZh).toMatch(/2027年/);
  });

  it('fails when working hours reach into 2027, but not when they end on 2026-12-31', () => {
    expect(catchError(() => deadline('2026-12-31T16:00', 3, 'working_hours')).details).toEqual({ year: 2027 });
    expect(deadline('2026-12-31T16:00', 1.5, 'working_hours')).toBe('2026-12-31T17:30');
  });

  it('fails for a start in a year without data, or after the last working period of the last year', () => {
    expect(catchError(() => deadline('2027-01-04T10:00', 1, 'working_hours')).details).toEqual({ year: 2027 });
    expect(catchError(() => deadline('2023-06-01T10:00', 1, 'working_hours')).details).toEqual({ year: 2023 });
    expect(catchError(() => deadline('2026-12-31T18:00', 0, 'working_days')).details).toEqual({ year: 2027 });
    expect(catchError(() => deadline('2025-06-01T10:00', 1, 'working_days', { calendar: createWorkCalendar([], []) })).details).toEqual({ year: 2025 });
  });

  it('fails across a gap between loaded years', () => {
    const file2027 = { year: 2027, source: 't', holidays: [{ name: '元旦', days: ['2027-01-01'] }], makeupWorkdays: [] };
    const gap = { calendar: createWorkCalendar([...chineseDaysRows(2025), ...calendarFileRows(file2027)], [2025, 2027]) };
    expect(catchError(() => deadline('2025-12-31T10:00', 1, 'working_days', gap)).details).toEqual({ year: 2026 });
    expect(catchError(() => workingMinutesBetween(at('2025-12-31T10:00'), at('2027-01-04T10:00'), gap)).details).toEqual({ year: 2026 });
    expect(deadline('2027-01-04T10:00', 1, 'working_days', gap)).toBe('2027-01-05T10:00');
  });

  it('fails for workingMinutesBetween into 2027', () => {
    expect(catchError(() => workingMinutesBetween(at('2026-12-30T10:00'), at('2027-01-04T10:00'), city)).details).toEqual({ year: 2027 });
  });

  it('refuses a calendar that claims a year without all its days', () => {
    const rows = chineseDaysRows(2025).filter((r) => r.day !== '2025-06-15');
    expect(catchError(() => deadline('2025-06-01T10:00', 1, 'working_days', { calendar: createWorkCalendar(rows, [2025]) })).code).toBe('CALENDAR_YEAR_INCOMPLETE');
  });
});

describe('workingMinutesBetween', () => {
  const between = (a: string, b: string, c: CityCalendar = city) => workingMinutesBetween(at(a), at(b), c);

  it('counts office minutes only', () => {
    expect(between('2025-09-16T09:00', '2025-09-16T11:00')).toBe(120);
    expect(between('2025-09-16T11:00', '2025-09-16T15:00')).toBe(120);
    expect(between('2025-09-16T12:10', '2025-09-16T13:50')).toBe(0);
    expect(between('2025-09-19T16:00', '2025-09-22T09:00')).toBe(120); // over a weekend
    expect(between('2025-09-20T10:00', '2025-09-22T09:00')).toBe(30); // from a Saturday
    expect(between('2025-09-30T16:00', '2025-10-09T09:30')).toBe(150); // over National Day
    expect(between('2026-02-14T12:00', '2026-02-24T12:00')).toBe(420); // make-up Sat afternoon + a morning
    expect(between('2025-09-16T09:00', '2025-09-16T09:00')).toBe(0);
  });

  it('is negative when b is before a', () => {
    expect(between('2025-09-16T15:00', '2025-09-16T11:00')).toBe(-120);
  });

  it('counts fractions of a minute', () => {
    expect(workingMinutesBetween(new Date('2025-09-16T09:00:00+08:00'), new Date('2025-09-16T09:00:30+08:00'), city)).toBe(0.5);
  });

  it('inverts addTimeLimit for working hours and gives 75% marks (for reminders)', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const from = at('2024-01-01T00:00').getTime();
    for (let k = 0; k < 2000; k++) {
      const start = new Date(from + Math.floor(rand() * 700 * 86_400) * 1000);
      const hours = Math.round(rand() * 400) / 4; // 0 .. 100 working hours, quarter steps
      const c = k % 2 ? city : summerCity;
      const end = addTimeLimit(start, { amount: hours, unit: 'working_hours' }, c);
      expect(workingMinutesBetween(start, end, c)).toBeCloseTo(hours * 60, 6);
      const threeQuarters = addWorkingMinutes(start, hours * 45, c);
      expect(workingMinutesBetween(start, threeQuarters, c) / (hours * 60 || 1)).toBeCloseTo(hours ? 0.75 : 0, 6);
    }
  });
});

describe('invalid limits', () => {
  it('refuses negative, non-finite, fractional working days, unknown units and invalid dates', () => {
    const bad = (start: Date, limit: TimeLimit) => catchError(() => addTimeLimit(start, limit, city)).code;
    const start = at('2025-09-16T10:00');
    expect(bad(start, { amount: -1, unit: 'hours' })).toBe('TIME_LIMIT_INVALID');
    expect(bad(start, { amount: Number.NaN, unit: 'working_hours' })).toBe('TIME_LIMIT_INVALID');
    expect(bad(start, { amount: 1.5, unit: 'working_days' })).toBe('TIME_LIMIT_INVALID');
    expect(bad(start, { amount: 1, unit: 'weeks' as TimeLimit['unit'] })).toBe('TIME_LIMIT_INVALID');
    expect(bad(new Date('nope'), { amount: 1, unit: 'hours' })).toBe('TIME_LIMIT_INVALID');
  });
});

describe('speed', () => {
  it('computes a sweep of 200,000 deadlines well under a second or two', () => {
    const base = at('2024-01-01T00:00').getTime();
    const limits: TimeLimit[] = [
      { amount: 5, unit: 'working_days' },
      { amount: 0.5, unit: 'working_hours' },
      { amount: 24, unit: 'working_hours' },
      { amount: 15, unit: 'working_days' },
    ];
    const t0 = performance.now();
    let sum = 0;
    for (let k = 0; k < 200_000; k++) {
      const start = new Date(base + ((k * 7919) % (700 * 86_400)) * 1000);
      sum += addTimeLimit(start, limits[k % 4], k % 3 ? city : summerCity).getTime() % 7;
    }
    expect(sum).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});
