/** Dates as the list and the knowledge base accept them. Pure. */
import { isAcceptedYear, parseIsoWithZone } from '../../../core';

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * An instant from ISO 8601 with a zone, or from a calendar date 'YYYY-MM-DD' read in China time: its
 * first instant, or with `endOfDay` its last millisecond (a "valid to" date includes the whole day).
 * Null when neither (or no such day, like 2025-02-30, or a year outside 2000–2100).
 */
export function parseInstantOrDate(s: string, opts: { endOfDay?: boolean } = {}): Date | null {
  const m = DATE_ONLY.exec(s.trim());
  if (!m) return parseIsoWithZone(s.trim());
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!isAcceptedYear(y)) return null;
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  const start = new Date(day.getTime() - 8 * 3_600_000); // 00:00 in China (+08:00, no DST)
  return opts.endOfDay ? new Date(start.getTime() + 86_400_000 - 1) : start;
}
