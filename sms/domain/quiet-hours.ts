/**
 * Quiet hours (免打扰时段): texts to citizens that can wait — results and surveys — are not sent at
 * night; they wait for the end of the quiet period. A receipt for a request just made, and anything to
 * a unit's duty phone, go at once.
 */
import { CHINA_OFFSET_MINUTES } from '../../core';

export interface QuietHours {
  /** Minutes after midnight, city (China) time; the period may cross midnight (21:00–08:00). */
  startMinute: number;
  endMinute: number;
}

/** Kinds held during quiet hours. */
export const DEFERRABLE_KINDS: ReadonlySet<string> = new Set(['ticket.result', 'callback.survey']);

/** When a deferrable text may go: `at` itself outside the quiet period, else the period's end. */
export function notBeforeQuietEnd(at: Date, quiet: QuietHours | null): Date {
  if (!quiet || quiet.startMinute === quiet.endMinute) return at;
  const local = new Date(at.getTime() + CHINA_OFFSET_MINUTES * 60_000);
  const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
  const crosses = quiet.startMinute > quiet.endMinute;
  const inside = crosses ? minute >= quiet.startMinute || minute < quiet.endMinute : minute >= quiet.startMinute && minute < quiet.endMinute;
  if (!inside) return at;
  const dayStart = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()) - CHINA_OFFSET_MINUTES * 60_000;
  const endToday = dayStart + quiet.endMinute * 60_000;
  return new Date(crosses && minute >= quiet.startMinute ? endToday + 86_400_000 : endToday);
}
