import { describe, expect, it } from 'vitest';
import {
  calendarFileRows, calendarRowsToFile, chineseDaysRows, chineseDaysYears, CHINESE_DAYS_SOURCE, parseCalendarFile,
  validateCalendarFile, type CalendarFile,
} from '../../calendar/domain/calendar-file';
import { AppError } from '../../core';

/** A plausible 2027 arrangement (hypothetical: the State Council publishes it late in 2026). */
const FILE_2027: CalendarFile = {
  year: 2027,
  source: '国办发明电〔2026〕X号',
  holidays: [
    { name: '元旦', days: ['2027-01-01', '2027-01-02', '2027-01-03'] },
    { name: '春节', days: ['2027-02-05', '2027-02-06', '2027-02-07', '2027-02-08', '2027-02-09', '2027-02-10', '2027-02-11', '2027-02-12', '2027-02-13'] },
    { name: '国庆节', days: ['2027-10-01', '2027-10-02', '2027-10-03', '2027-10-04', '2027-10-05', '2027-10-06', '2027-10-07'] },
  ],
  makeupWorkdays: [
    { name: '春节调休', days: ['2027-01-31', '2027-02-20'] },
    { name: '国庆节调休', days: ['2027-09-26', '2027-10-09'] },
  ],
};

const clone = (): CalendarFile => JSON.parse(JSON.stringify(FILE_2027));
const issuesOf = (input: unknown) => {
  const r = validateCalendarFile(input);
  if (r.ok) throw new Error('expected the file to be refused');
  return r.issues;
};

describe('the import file', () => {
  it('accepts a valid year, as an object or as JSON text (with a BOM)', () => {
    expect(parseCalendarFile(FILE_2027)).toEqual(FILE_2027);
    expect(parseCalendarFile('\uFEFF' + JSON.stringify(FILE_2027))).toEqual(FILE_2027);
  });

  it('sorts days inside a group and defaults makeupWorkdays to none', () => {
    const f = parseCalendarFile({ year: 2027, source: 's', holidays: [{ name: '元旦', days: ['2027-01-03', '2027-01-01'] }] });
    expect(f.holidays[0].days).toEqual(['2027-01-01', '2027-01-03']);
    expect(f.makeupWorkdays).toEqual([]);
  });

  it('builds every day of the year: listed days as given, Mon–Fri workdays, Sat/Sun weekends', () => {
    const rows = calendarFileRows(FILE_2027);
    expect(rows).toHaveLength(365);
    const byDay = new Map(rows.map((r) => [r.day, r]));
    expect(byDay.get('2027-01-01')).toEqual({ day: '2027-01-01', year: 2027, isWorkday: false, kind: 'holiday', name: '元旦' });
    expect(byDay.get('2027-01-04')).toMatchObject({ isWorkday: true, kind: 'workday', name: null });
    expect(byDay.get('2027-01-09')).toMatchObject({ isWorkday: false, kind: 'weekend', name: null });
    expect(byDay.get('2027-01-31')).toMatchObject({ isWorkday: true, kind: 'makeup_workday', name: '春节调休' });
    expect(rows.filter((r) => r.kind === 'holiday')).toHaveLength(19);
  });

  it('turns stored rows back into the same file', () => {
    expect(calendarRowsToFile(2027, FILE_2027.source, calendarFileRows(FILE_2027))).toEqual(FILE_2027);
  });
});

describe('validation errors', () => {
  it('refuses text that is not JSON', () => {
    expect(issuesOf('{ "year": 2027,')[0]).toMatchObject({ path: '', messageZh: '文件不是有效的 JSON' });
  });

  it('refuses a wrong shape: unknown keys, missing fields, bad year, empty lists', () => {
    expect(issuesOf({ ...clone(), holiday: [] }).map((i) => i.message).join()).toMatch(/holiday/);
    const { source: _s, ...noSource } = clone();
    expect(issuesOf(noSource)[0].path).toBe('source');
    expect(issuesOf({ ...clone(), source: '  ' })[0].path).toBe('source');
    expect(issuesOf({ ...clone(), year: 2027.5 })[0].path).toBe('year');
    expect(issuesOf({ ...clone(), year: '2027' })[0].path).toBe('year');
    expect(issuesOf({ ...clone(), year: 1990 })[0].path).toBe('year');
    expect(issuesOf({ ...clone(), holidays: [] })[0].path).toBe('holidays');
    expect(issuesOf({ ...clone(), holidays: [{ name: '元旦', days: [] }] })[0].path).toBe('holidays[0].days');
    expect(issuesOf({ ...clone(), holidays: [{ name: '', days: ['2027-01-01'] }] })[0].path).toBe('holidays[0].name');
    expect(issuesOf({ ...clone(), makeupWorkdays: [{ name: 'x', days: ['2027-01-31'], note: 1 }] })[0].path).toBe('makeupWorkdays[0]');
    expect(issuesOf([])[0].path).toBe('');
  });

  it('refuses days that are not dates or lie outside the year', () => {
    const f = clone();
    f.holidays[0].days = ['2027-02-30', '2027/01/02', '2026-12-31', '2028-01-01', '2027-01-01'];
    const issues = issuesOf(f);
    expect(issues.map((i) => i.path)).toEqual(['holidays[0].days[0]', 'holidays[0].days[1]', 'holidays[0].days[2]', 'holidays[0].days[3]']);
    expect(issues[0].message).toBe('2027-02-30 is not a date (YYYY-MM-DD)');
    expect(issues[2].message).toBe('2026-12-31 is outside 2027');
    expect(issues[2].messageZh).toBe('2026-12-31 不在 2027 年内');
  });

  it('refuses a day that is both a holiday and a make-up workday', () => {
    const f = clone();
    f.makeupWorkdays[0].days.push('2027-01-02');
    const [issue] = issuesOf(f);
    expect(issue.path).toBe('makeupWorkdays[0].days[2]');
    expect(issue.message).toBe('2027-01-02 is both a holiday and a make-up workday (first listed at holidays[0].days[1])');
    expect(issue.messageZh).toMatch(/不能既是放假日又是调休上班日/);
  });

  it('refuses a day listed twice', () => {
    const f = clone();
    f.holidays[2].days.push('2027-02-05');
    expect(issuesOf(f)[0].message).toBe('2027-02-05 is listed twice (first at holidays[1].days[0])');
  });

  it('refuses a make-up workday that is not a Saturday or Sunday', () => {
    const f = clone();
    f.makeupWorkdays[0].days = ['2027-02-15']; // a Monday
    const [issue] = issuesOf(f);
    expect(issue.message).toBe('2027-02-15 is a Monday: a make-up workday must be a Saturday or Sunday');
    expect(issue.messageZh).toBe('2027-02-15 是周一：调休上班日必须是周六或周日');
  });

  it('refuses a year whose holidays give no weekday off', () => {
    const f = { year: 2027, source: 's', holidays: [{ name: '元旦', days: ['2027-01-02', '2027-01-03'] }] };
    expect(issuesOf(f)[0].message).toMatch(/give no weekday off/);
  });

  it('accepts a holiday group of weekend days only when the year has weekdays off (2015: 中秋 on a Sunday)', () => {
    const f = clone();
    f.holidays.push({ name: '中秋', days: ['2027-09-19'] });
    expect(validateCalendarFile(f).ok).toBe(true);
  });

  it('throws CALENDAR_FILE_INVALID (400) in both languages with every issue in details', () => {
    const f = clone();
    f.makeupWorkdays[0].days = ['2027-02-15', '2027-02-16'];
    let error: unknown;
    try {
      parseCalendarFile(f);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    const e = error as AppError;
    expect(e).toMatchObject({ code: 'CALENDAR_FILE_INVALID', status: 400 });
    expect(e.message).toBe('Calendar file is invalid: makeupWorkdays[0].days[0]: 2027-02-15 is a Monday: a make-up workday must be a Saturday or Sunday (and 1 more)');
    expect(e.messageZh).toBe('日历文件无效：makeupWorkdays[0].days[0]: 2027-02-15 是周一：调休上班日必须是周六或周日（另有 1 处问题）');
    expect((e.details as { issues: unknown[] }).issues).toHaveLength(2);
  });
});

describe('chinese-days as a seed', () => {
  it('covers 2004–2026 and never a year it would only guess', () => {
    const years = chineseDaysYears();
    expect(years).toEqual(Array.from({ length: 23 }, (_, i) => 2004 + i));
    expect(() => chineseDaysRows(2027)).toThrow(/no data for 2027/);
    expect(CHINESE_DAYS_SOURCE).toBe('chinese-days 1.5.7');
  });

  it('gives every covered year in a form our own import validation accepts', () => {
    for (const year of chineseDaysYears()) {
      const rows = chineseDaysRows(year);
      const file = calendarRowsToFile(year, CHINESE_DAYS_SOURCE, rows);
      const r = validateCalendarFile(file);
      expect(r.ok, `year ${year}`).toBe(true);
      if (r.ok) expect(calendarFileRows(r.file)).toEqual(rows);
    }
  });

  it('has the real Spring Festival 2026 arrangement', () => {
    const file = calendarRowsToFile(2026, 's', chineseDaysRows(2026));
    expect(file.holidays.find((g) => g.name === '春节')?.days).toEqual([
      '2026-02-15', '2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20', '2026-02-21', '2026-02-22', '2026-02-23',
    ]);
    expect(file.makeupWorkdays.find((g) => g.name === '春节调休')?.days).toEqual(['2026-02-14', '2026-02-28']);
  });
});
