/**
 * Time as stored: UTC 'YYYY-MM-DD HH:MM:SS.mmm' strings on both databases (MariaDB rejects ISO
 * strings ending in Z; SQLite throws on Date bindings). As shown and accepted by the API: ISO 8601
 * with an explicit offset, China time (+08:00) by default.
 */
export const CHINA_OFFSET_MINUTES = 8 * 60;

export function toDbTime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

export function fromDbTime(s: string): Date {
  return new Date(s.replace(' ', 'T') + (s.length === 19 ? '.000Z' : 'Z'));
}

/** ISO 8601 in China time, e.g. 2025-10-11T16:00:00+08:00 (seconds precision). */
export function toChinaIso(d: Date): string {
  const shifted = new Date(d.getTime() + CHINA_OFFSET_MINUTES * 60_000);
  return shifted.toISOString().slice(0, 19) + '+08:00';
}

export function dbTimeToIso(s: string | null | undefined): string | null {
  return s ? toChinaIso(fromDbTime(s)) : null;
}

/** The calendar date ('YYYY-MM-DD') of an instant in China. */
export function chinaDate(d: Date): string {
  return new Date(d.getTime() + CHINA_OFFSET_MINUTES * 60_000).toISOString().slice(0, 10);
}

/** ISO 8601 with an explicit zone ('Z' or ±HH:MM); a local time without zone is ambiguous and refused. */
export const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The years a date given to the product may fall in (2000-01-01 to 2100-12-31). Nothing a hotline
 * records happened before 2000 or is due after 2100, and the databases disagree outside a sane
 * range (MariaDB refuses year 0000 in a DATETIME; SQLite would store it as text), so a date
 * outside it is a typo or a probe, refused as bad input wherever dates are accepted.
 */
export const FIRST_ACCEPTED_YEAR = 2000;
export const LAST_ACCEPTED_YEAR = 2100;
export const isAcceptedYear = (year: number) => year >= FIRST_ACCEPTED_YEAR && year <= LAST_ACCEPTED_YEAR;

/**
 * An instant from ISO 8601 with a zone, or null. Impossible dates (02-30, 04-31, 24:61) are refused,
 * not rolled over to the next month as JavaScript's parser would, and so are dates outside
 * {@link FIRST_ACCEPTED_YEAR}–{@link LAST_ACCEPTED_YEAR}.
 */
export function parseIsoWithZone(s: string): Date | null {
  if (!ISO_WITH_ZONE.test(s)) return null;
  const [y, mo, d, h, mi, sec] = [s.slice(0, 4), s.slice(5, 7), s.slice(8, 10), s.slice(11, 13), s.slice(14, 16), s.length > 16 && s[16] === ':' ? s.slice(17, 19) : '0'].map(Number);
  if (!isAcceptedYear(y)) return null;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || mi > 59 || sec > 59) return null;
  const date = new Date(s);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The clock every service reads; tests pass a controlled one. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export class FixedClock implements Clock {
  constructor(private current: Date) {}
  now() {
    return new Date(this.current.getTime());
  }
  set(d: Date) {
    this.current = new Date(d.getTime());
  }
  advanceMinutes(m: number) {
    this.current = new Date(this.current.getTime() + m * 60_000);
  }
}
