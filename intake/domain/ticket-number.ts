import { chinaDate } from '../../core';

/**
 * Ticket numbers people can read out on the phone: the China date and a daily sequence,
 * e.g. 20251011000123 (2025-10-11, the 123rd ticket of the day). Six digits leave room for
 * Beijing's ~68,000 requests a day.
 */
export function ticketNumber(at: Date, sequence: number): string {
  return chinaDate(at).replace(/-/g, '') + String(sequence).padStart(6, '0');
}

/** The sequence row a day's numbers are drawn from, per city. */
export function ticketSequenceName(cityId: string, at: Date): string {
  return `ticket:${cityId}:${chinaDate(at).replace(/-/g, '')}`;
}
