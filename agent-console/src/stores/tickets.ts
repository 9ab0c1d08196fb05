/** Tickets seen by this browser, kept fresh by API answers and live ticket.* events. */
import type { Ticket } from '../api/types';
import { createEntityStore } from './entityStore';

export const ticketsStore = createEntityStore<Ticket>();

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The ticket carried by a live event: `{ticket}` or the ticket itself; a stored row
 * (snake_case, `updated_at`) is read as the view's camelCase fields.
 */
export function ticketOfEvent(data: unknown): (Partial<Ticket> & { id: string }) | null {
  const d = (data && typeof data === 'object' && 'ticket' in data ? (data as { ticket: unknown }).ticket : data) as Record<string, unknown> | null;
  if (!d || typeof d !== 'object' || typeof d.id !== 'string') return null;
  if (!('updated_at' in d) && !('handling_unit_id' in d)) return d as Partial<Ticket> & { id: string };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) out[camel(k)] = v;
  // Stored times are UTC 'YYYY-MM-DD HH:MM:SS'.
  for (const k of ['updatedAt', 'createdAt', 'occurredAt', 'closedAt']) {
    const v = out[k];
    if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(v)) out[k] = `${v.replace(' ', 'T')}Z`;
  }
  if (typeof out.confidential === 'number') out.confidential = out.confidential === 1;
  return out as Partial<Ticket> & { id: string };
}
