/**
 * 话务 (telephony): the one module that speaks to the telephony API (telephony/telephony.routes.ts).
 *
 *  POST /telephony/calls/:callId/ticket {ticketId} → the call record (关联已有工单)
 *  GET  /telephony/callbacks?status=open,claimed → callback requests (留言回拨)
 *  POST /telephony/callbacks/:id/claim → the request; 409 CALLBACK_STATE when another agent took it
 *  POST /telephony/callbacks/:id/complete {note} → the request
 *  GET  /telephony/wallboard → queues and agents now (then telephony.wallboard on the live feed)
 */
import { http } from './http';

export interface CallbackRequest {
  id: string;
  callRecordId: string;
  callerNumber: string;
  queue: string;
  lineName: string | null;
  status: 'open' | 'claimed' | 'done' | string;
  claimedBy: string | null;
  claimedAt: string | null;
  completedAt: string | null;
  note: string | null;
  requestedAt: string;
}

export interface Wallboard {
  at: string;
  queues: { skill: string; name: string; waiting: number; longestWaitMs: number; ringing: number; talking: number }[];
  agents: { available: number; onCall: number; notReady: number; loggedIn: number };
}

const enc = encodeURIComponent;

export const telephonyApi = {
  linkTicket: (callId: string, ticketId: string) => http.post<{ callId: string; ticketId: string | null }>(`/telephony/calls/${enc(callId)}/ticket`, { ticketId }),
  callbacks: () => http.get<CallbackRequest[]>('/telephony/callbacks', { status: 'open,claimed' }),
  claim: (id: string) => http.post<CallbackRequest>(`/telephony/callbacks/${enc(id)}/claim`, {}),
  complete: (id: string, note: string | null) => http.post<CallbackRequest>(`/telephony/callbacks/${enc(id)}/complete`, { note }),
  wallboard: () => http.get<Wallboard>('/telephony/wallboard'),
};
