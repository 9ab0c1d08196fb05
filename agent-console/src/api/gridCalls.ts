/**
 * 网格呼叫 and 网格办: the one module that speaks to gridcalls/gridcalls.routes.ts.
 *
 *  POST /grid-calls {title, situation, demand?, addressText?} → the call (201)
 *  GET  /grid-calls?inbox=true | mine=true → {items, total, page, pageSize}
 *  GET  /grid-calls/:id → {call, trail}
 *  POST /grid-calls/:id/approve {route?: 'town'|'center', note?} · /send-back {reason} · /resubmit {…} · /town-reply {result} · /rate {satisfaction, comment?}
 *  POST /grid-matters {title, handling} · GET /grid-matters/counts?from=&to=
 * Commands carry an Idempotency-Key made once per form submission, so a double tap acts once.
 */
import { http } from './http';

export interface GridCall {
  id: string;
  number: string;
  status: 'pending' | 'sent_back' | 'town_handling' | 'escalated' | 'awaiting_rating' | 'closed';
  statusZh: string;
  step: string | null;
  stepZh: string | null;
  stepDueAt: string | null;
  overdue: boolean;
  callerId: string;
  callerName: string;
  title: string;
  situation: string;
  demand: string | null;
  addressText: string | null;
  round: number;
  sentBackReason: string | null;
  ticketId: string | null;
  result: string | null;
  satisfaction: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface GridCallTrailEntry { action: string; at: string; actorRole: string | null; reason: string | null }

export interface GridCallPage { items: GridCall[]; total: number; page: number; pageSize: number }

const enc = encodeURIComponent;
const key = () => ({ 'idempotency-key': `gc-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}` });

export const gridCallsApi = {
  inbox: () => http.get<GridCallPage>('/grid-calls', { inbox: true, pageSize: 100 }),
  mine: () => http.get<GridCallPage>('/grid-calls', { mine: true, pageSize: 100 }),
  get: (id: string) => http.get<{ call: GridCall; trail: GridCallTrailEntry[] }>(`/grid-calls/${enc(id)}`),
  /** A new key per submission; the form keeps it while the same submission is retried. */
  newKey: key,
  raise: (body: { title: string; situation: string; demand?: string | null; addressText?: string | null }, k = key()) => http.post<GridCall>('/grid-calls', body, k),
  approve: (id: string, body: { route?: 'town' | 'center' | null; note?: string | null }, k = key()) => http.post<GridCall>(`/grid-calls/${enc(id)}/approve`, body, k),
  sendBack: (id: string, reason: string, k = key()) => http.post<GridCall>(`/grid-calls/${enc(id)}/send-back`, { reason }, k),
  resubmit: (id: string, k = key()) => http.post<GridCall>(`/grid-calls/${enc(id)}/resubmit`, {}, k),
  townReply: (id: string, result: string, k = key()) => http.post<GridCall>(`/grid-calls/${enc(id)}/town-reply`, { result }, k),
  rate: (id: string, satisfaction: 'satisfied' | 'basically_satisfied' | 'unsatisfied', comment: string | null, k = key()) =>
    http.post<GridCall>(`/grid-calls/${enc(id)}/rate`, { satisfaction, comment }, k),
  recordMatter: (body: { title: string; handling: string }, k = key()) => http.post<{ id: string }>('/grid-matters', body, k),
  matterCounts: (from: string, to: string) => http.get<{ total: number; byTerritory: { territoryId: string; matters: number }[] }>('/grid-matters/counts', { from, to }),
};
