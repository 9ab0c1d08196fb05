import { describe, it, expect } from 'vitest';
import { parseCron, nextCronTime } from '../../jobs';

const next = (expr: string, afterIso: string, tz = 'UTC') => nextCronTime(parseCron(expr, tz), new Date(afterIso)).toISOString();

describe('cron patterns of repeatable jobs', () => {
  it('computes the next run strictly after the given instant', () => {
    expect(next('*/15 * * * *', '2025-10-09T01:00:00Z')).toBe('2025-10-09T01:15:00.000Z');
    expect(next('*/15 * * * *', '2025-10-09T01:14:59Z')).toBe('2025-10-09T01:15:00.000Z');
    expect(next('0 0 1 * *', '2025-12-15T00:00:00Z')).toBe('2026-01-01T00:00:00.000Z');
    expect(next('30 */10 * * * *', '2025-10-09T01:00:31Z')).toBe('2025-10-09T01:10:30.000Z');
    expect(next('0 9 * JAN,JUL MON', '2025-10-09T00:00:00Z')).toBe('2026-01-05T09:00:00.000Z');
  });

  it('reads the pattern in the given zone (China: UTC+8 all year)', () => {
    // 08:00 Beijing on weekdays; asked on Saturday 2025-10-11.
    expect(next('0 8 * * 1-5', '2025-10-11T03:00:00Z', 'Asia/Shanghai')).toBe('2025-10-13T00:00:00.000Z');
    // 17:30 Beijing on the last working hour boundary, daily.
    expect(next('30 17 * * *', '2025-10-09T09:31:00Z', 'Asia/Shanghai')).toBe('2025-10-10T09:30:00.000Z');
  });

  it('matches either day field when both are restricted (classic cron)', () => {
    // The 13th, or any Friday: from Wednesday 2025-10-08 the Friday 10th comes first.
    expect(next('0 0 13 * FRI', '2025-10-08T00:00:00Z')).toBe('2025-10-10T00:00:00.000Z');
    expect(next('0 0 13 * 5', '2025-10-10T00:00:00Z')).toBe('2025-10-13T00:00:00.000Z');
    expect(next('0 0 * * 7', '2025-10-09T00:00:00Z')).toBe('2025-10-12T00:00:00.000Z');
  });

  it('finds rare dates (29 February)', () => {
    expect(next('0 0 29 2 *', '2025-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });

  it('gives a real instant in a zone with daylight saving', () => {
    // 02:30 does not exist in New York on 2026-03-08; whatever it maps to must be a later instant.
    const after = new Date('2026-03-08T05:00:00Z');
    const t = nextCronTime(parseCron('30 2 * * *', 'America/New_York'), after);
    expect(t.getTime()).toBeGreaterThan(after.getTime());
    expect(t.getTime() - after.getTime()).toBeLessThan(2 * 86_400_000);
  });

  it('refuses malformed patterns, impossible dates and unknown zones with a clear message', () => {
    expect(() => parseCron('* * *', 'UTC')).toThrow(/expected 5 or 6 fields/);
    expect(() => parseCron('60 * * * *', 'UTC')).toThrow(/outside 0-59/);
    expect(() => parseCron('L * * * *', 'UTC')).toThrow(/not a number/);
    expect(() => parseCron('5-1 * * * *', 'UTC')).toThrow(/backwards/);
    expect(() => parseCron('*/0 * * * *', 'UTC')).toThrow(/bad step/);
    expect(() => parseCron('0 0 30 2 *', 'UTC')).toThrow(/never matches/);
    expect(() => parseCron('0 8 * * *', 'Mars/Olympus')).toThrow(/unknown time zone/);
  });
});
