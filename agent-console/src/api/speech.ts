/**
 * 语音转写 (speech): the one module that speaks to the speech API (the speech part's routes and
 * app/speech-browser.ts; shapes in speech/ports.ts).
 *
 *  GET  /speech/status → {engine, ok, detail?} (which engine this deployment runs; 404: none installed)
 *  GET  /speech/browser-model → {configured, available, url, detail} (the browser engine's model)
 *  POST /calls/:callId/transcript/segments {segments} (Idempotency-Key) → what the console recognised
 *  GET  /transcripts/search?q= → TranscriptSearchHit[] (center roles)
 *  GET  /calls/:callId → the call with its stored segments (a search hit's call)
 */
import { ApiError, http } from './http';

export type SpeechEngineKind = 'aws' | 'sherpa' | 'browser' | 'none';
export type Party = 'caller' | 'agent';

export interface SpeechDetail {
  code: string;
  zh: string;
  en: string;
}

export interface SpeechStatus {
  engine: SpeechEngineKind;
  ok: boolean;
  detail?: SpeechDetail | null;
}

export interface BrowserModel {
  configured: boolean;
  available: boolean;
  url: string | null;
  detail: SpeechDetail | null;
}

/** A recognised piece of speech, as the console posts it (callId is in the path). */
export interface SegmentPost {
  party: Party;
  seq: number;
  text: string;
  final: boolean;
  startMs: number;
  endMs: number;
  confidence: number | null;
}

export interface TranscriptSearchHit {
  callId: string;
  ticketId: string | null;
  ticketNumber: string | null;
  at: string;
  party: Party;
  /** The matching text, matched words in 【】, masked for the viewer's role. */
  snippet: string;
  startMs: number;
}

export interface CallTranscript {
  callId: string;
  offeredAt: string;
  transcript: string | null;
  segments: { seq: number; speaker: string; text: string; at: string }[];
}

const NONE: SpeechStatus = { engine: 'none', ok: false, detail: null };

export const speechApi = {
  /** The deployment's engine; a server without the speech routes has none. */
  async status(): Promise<SpeechStatus> {
    try {
      return await http.get<SpeechStatus>('/speech/status');
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return NONE;
      throw e;
    }
  },
  browserModel: () => http.get<BrowserModel>('/speech/browser-model'),
  postSegments: (callId: string, segments: SegmentPost[], key: string) =>
    http.post<unknown>(`/calls/${encodeURIComponent(callId)}/transcript/segments`, { segments }, { 'idempotency-key': key }),
  search: (q: string, signal?: AbortSignal) => http.get<TranscriptSearchHit[]>('/transcripts/search', { q }, signal),
  call: (callId: string) => http.get<CallTranscript>(`/calls/${encodeURIComponent(callId)}`),
};
