/**
 * 短信 (SMS): the one module that speaks to the SMS API (sms/sms.routes.ts).
 *
 *  GET  /sms/messages?ticketId=&workOrderId=&state=a,b&recipientKind=&page=&pageSize= → {items, total, page, pageSize}
 *       (a unit gets only texts to its own phone; without ticketId/workOrderId only the center: the failed queue)
 *  POST /sms/messages/:id/resend {phone?} → the new message (queued); 409 SMS_NOT_FAILED
 *  GET  /sms/inbound?status=awaiting_agent&phone=&ticketId=&page=&pageSize= → {items, total, …} (center)
 *  POST /sms/inbound/:id/ticket {…ticket fields without channel/callerPhone/callId} → {inbound, ticket:{id, number}}
 *  POST /sms/inbound/:id/dismiss {reason} → the inbound text
 *  GET  /sms/health → {gateway, up, detail?, unmatchedReceipts}
 */
import { http, idempotencyKey } from './http';
import type { NewTicket } from './types';

export type SmsState = 'queued' | 'submitting' | 'submitted' | 'delivered' | 'failed' | 'expired' | 'suppressed';

export interface SmsMessage {
  id: string;
  /** workorder.dispatched, ticket.receipt, ticket.result, callback.survey, reply.* … */
  kind: string;
  recipientKind: 'unit' | 'citizen' | string;
  unitId: string | null;
  /** Masked for a citizen's number outside the center. */
  phone: string;
  text: string | null;
  parts: number;
  state: SmsState | string;
  stateZh: string;
  gateway: string | null;
  providerMessageId: string | null;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  ticketId: string | null;
  workOrderId: string | null;
  createdAt: string;
  submittedAt: string | null;
  deliveredAt: string | null;
}

export type SmsInboundStatus = 'processing' | 'awaiting_agent' | 'accepted' | 'dismissed' | 'handled';

export interface SmsInbound {
  id: string;
  gateway: string;
  from: string;
  to: string;
  text: string;
  outcome: string;
  outcomeZh: string;
  status: SmsInboundStatus | string;
  ticketId: string | null;
  workOrderId: string | null;
  unitId: string | null;
  detail: string | null;
  receivedAt: string;
  handledAt: string | null;
}

export interface SmsPage<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

export interface SmsHealth {
  gateway: string;
  up: boolean;
  detail?: string;
  unmatchedReceipts: number;
}

export interface SmsMessageQuery {
  ticketId?: string;
  workOrderId?: string;
  state?: string[];
  recipientKind?: 'unit' | 'citizen';
  page?: number;
  pageSize?: number;
}

/** What registering a text takes: the intake fields, less the contact's facts (channel, caller, call). */
export type SmsTicketBody = Omit<NewTicket, 'channel' | 'callerPhone' | 'callId'>;

const enc = encodeURIComponent;

let health: Promise<SmsHealth> | null = null;

export const smsApi = {
  messages: (q: SmsMessageQuery) => http.get<SmsPage<SmsMessage>>('/sms/messages', { ...q }),
  /** The failed queue (失败短信): failed and expired texts, newest first as the API lists them. */
  failed: (page: number, pageSize: number) => http.get<SmsPage<SmsMessage>>('/sms/messages', { state: ['failed', 'expired'], page, pageSize }),
  resend: (id: string, phone: string | null, key = idempotencyKey()) => http.post<SmsMessage>(`/sms/messages/${enc(id)}/resend`, { phone }, { 'idempotency-key': key }),
  inbound: (q: { status?: string[]; phone?: string; ticketId?: string; page?: number; pageSize?: number }) => http.get<SmsPage<SmsInbound>>('/sms/inbound', { ...q }),
  /** 短信受理: the ticket gets the SMS channel and the sender as caller; a retry returns the same ticket. */
  register: (id: string, body: SmsTicketBody, key = idempotencyKey()) =>
    http.post<{ inbound: SmsInbound; ticket: { id: string; number: string } }>(`/sms/inbound/${enc(id)}/ticket`, body, { 'idempotency-key': key }),
  dismiss: (id: string, reason: string) => http.post<SmsInbound>(`/sms/inbound/${enc(id)}/dismiss`, { reason }),
  health: () => http.get<SmsHealth>('/sms/health'),
  /** The gateway's state, asked once per page load (it is configuration, not live state). */
  healthOnce(): Promise<SmsHealth> {
    health ??= smsApi.health().catch((e) => {
      health = null;
      throw e;
    });
    return health;
  },
};

/** The embedded default: texts are written to the log, never sent (every configured gateway is `log`). */
export const logOnly = (h: Pick<SmsHealth, 'gateway'> | null | undefined) => !!h && h.gateway.split(',').every((g) => g.trim() === 'log');
