import { http, idempotencyKey } from './http';
import type { AuditEntry, CitizenLookup, Duplicates, NewTicket, Page, Ticket, TicketFields, TicketFigures, TicketLink, TicketQuery, TicketStory } from './types';

export type TransitionBody = { action: string; version: number } & Record<string, unknown>;

/** Tickets (工单) and callers (来电人): intake's routes. */
export const ticketsApi = {
  list: (q: TicketQuery, signal?: AbortSignal) => http.get<Page<Ticket>>('/tickets', { ...q }, signal),
  get: (id: string) => http.get<Ticket>(`/tickets/${encodeURIComponent(id)}`),
  /** The center's figures of the tickets registered today (by the server's clock and China time), counted by the server. */
  figuresToday: () => http.get<TicketFigures>('/tickets/figures'),
  /** The ticket page's address is the number (工单编号); another unit's ticket answers 404 like a missing one. */
  byNumber: (number: string) => http.get<Ticket>(`/tickets/by-number/${encodeURIComponent(number)}`),
  /** Everything the ticket page shows, as this viewer may see it, in one request. */
  story: (id: string) => http.get<TicketStory>(`/tickets/${encodeURIComponent(id)}/story`),
  /** Registers a ticket; the key makes a retry after a lost answer return the same ticket. */
  create: (body: NewTicket, key = idempotencyKey()) => http.post<Ticket>('/tickets', body, { 'idempotency-key': key }),
  update: (id: string, version: number, fields: TicketFields) => http.patch<Ticket>(`/tickets/${encodeURIComponent(id)}`, { version, ...fields }),
  transition: (id: string, body: TransitionBody, key = idempotencyKey()) =>
    http.post<Ticket>(`/tickets/${encodeURIComponent(id)}/transitions`, body, { 'idempotency-key': key }),
  audit: (id: string) => http.get<AuditEntry[]>(`/tickets/${encodeURIComponent(id)}/audit`),
  links: (id: string) => http.get<TicketLink[]>(`/tickets/${encodeURIComponent(id)}/links`),
  link: (id: string, ticketId: string, kind: 'related' | 'duplicate') => http.post<TicketLink[]>(`/tickets/${encodeURIComponent(id)}/links`, { ticketId, kind }),
  duplicates: (body: { text: string; categoryId?: string | null; territoryId?: string | null; addressText?: string | null; callerPhone?: string | null; excludeTicketId?: string | null }) =>
    http.post<Duplicates>('/tickets/duplicates', body),
  lookupCitizen: (phone: string) => http.get<CitizenLookup>('/citizens/lookup', { phone }),
};
