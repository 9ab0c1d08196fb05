/**
 * The call on this agent's line (来电), from live call.offered / call.transcript / call.ended
 * events. The field names of the call events are read tolerantly: `from`/`callerPhone`, `to`/`line`.
 */
import { reactive, readonly } from 'vue';
import { presence, presenceActions } from './presence';

export interface TranscriptLine {
  key: number;
  /** The gateway's segment number, when it gives one. */
  seq: number | null;
  speaker: 'citizen' | 'agent' | 'unknown';
  text: string;
  final: boolean;
  at: string | null;
  /** Milliseconds from the start of the speaker's audio, when the engine says (speech/ports.ts). */
  startMs: number | null;
  endMs: number | null;
  confidence: number | null;
}

export interface CurrentCall {
  callId: string;
  callerPhone: string | null;
  /** The number dialled: 12345 or a merged legacy hotline (归并热线) such as 96116. */
  line: string | null;
  /** Its name as the hub gives it (归并热线 such as 供水服务热线). */
  lineName: string | null;
  /** The ACD queue it waited in (排队) and how long, when the hotline's own telephony offered it. */
  queue: { skill: string; name: string; waitSeconds: number } | null;
  state: 'ringing' | 'talking' | 'ended';
  startedAt: string;
  endedAt: string | null;
  transcript: TranscriptLine[];
}

const state = reactive({ current: null as CurrentCall | null });
export const calls = readonly(state);

let lineKey = 0;
const str = (v: unknown) => (typeof v === 'string' && v.length ? v : typeof v === 'number' ? String(v) : null);
const pick = (d: Record<string, unknown>, ...keys: string[]) => {
  for (const k of keys) {
    const v = str(d[k]);
    if (v) return v;
  }
  return null;
};

function speakerOf(v: unknown): TranscriptLine['speaker'] {
  const s = String(v ?? '').toLowerCase();
  if (['citizen', 'caller', 'customer', 'remote'].includes(s)) return 'citizen';
  if (['agent', 'seat', 'local'].includes(s)) return 'agent';
  return 'unknown';
}

function queueOf(v: unknown): CurrentCall['queue'] {
  if (!v || typeof v !== 'object') return null;
  const q = v as Record<string, unknown>;
  const name = pick(q, 'name');
  return name ? { skill: pick(q, 'skill') ?? '', name, waitSeconds: typeof q.waitSeconds === 'number' ? q.waitSeconds : 0 } : null;
}

const listeners = new Set<(call: CurrentCall, event: 'offered' | 'ended') => void>();
export function onCall(fn: (call: CurrentCall, event: 'offered' | 'ended') => void) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export const callsActions = {
  offered(data: unknown, at?: string) {
    const d = (data ?? {}) as Record<string, unknown>;
    // The hub sends `{call: {callId, callerPhone, dialledNumber, offeredAt}, line, lineName, …}`.
    const c = (d.call && typeof d.call === 'object' ? d.call : d) as Record<string, unknown>;
    const callId = pick(c, 'callId', 'id') ?? pick(d, 'callId');
    if (!callId) return;
    if (state.current?.callId === callId && state.current.state !== 'ended') return;
    const line = d.line && typeof d.line === 'object' ? (d.line as Record<string, unknown>) : null;
    state.current = {
      callId,
      callerPhone: pick(c, 'callerPhone', 'from', 'caller'),
      line: pick(c, 'dialledNumber', 'line', 'to') ?? (line ? pick(line, 'number') : null),
      lineName: pick(d, 'lineName') ?? (line ? pick(line, 'name') : null),
      queue: queueOf(d.queue),
      state: 'ringing',
      startedAt: pick(c, 'offeredAt', 'at') ?? at ?? new Date().toISOString(),
      endedAt: null,
      transcript: [],
    };
    listeners.forEach((fn) => fn(state.current!, 'offered'));
  },
  answered(data: unknown) {
    const d = (data ?? {}) as Record<string, unknown>;
    const call = state.current;
    if (call && call.state === 'ringing' && (!d.callId || d.callId === call.callId)) {
      call.state = 'talking';
      // The seat board shows 通话中 while the call lasts, then 话后处理 (the agent sets it back).
      presenceActions.setMine('on_call');
    }
  },
  transcript(data: unknown, at?: string) {
    const d = (data ?? {}) as Record<string, unknown>;
    const call = state.current;
    const callId = pick(d, 'callId');
    if (!call || (callId && callId !== call.callId)) return;
    const text = typeof d.text === 'string' ? d.text : '';
    if (call.state === 'ringing') call.state = 'talking';
    const speaker = speakerOf(d.speaker);
    const final = d.final !== false;
    const seq = typeof d.seq === 'number' ? d.seq : null;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    const line: TranscriptLine = {
      key: ++lineKey, seq, speaker, text, final, at: pick(d, 'at') ?? at ?? null, startMs: num(d.startMs), endMs: num(d.endMs), confidence: num(d.confidence),
    };
    const list = call.transcript;
    // Segments are numbered per speaker: an interim result is replaced by the final one of the same
    // speaker and number, and a segment arriving late goes in its place.
    const same = seq === null ? -1 : list.findIndex((l) => l.seq === seq && l.speaker === speaker);
    if (same >= 0) {
      if (list[same].final && !final) return;
      list.splice(same, 1, { ...line, key: list[same].key });
    } else if (seq === null) {
      const last = list[list.length - 1];
      if (last && !last.final && last.speaker === speaker) list.splice(list.length - 1, 1, line);
      else list.push(line);
    } else if (line.startMs !== null) {
      // Timed segments of both speakers interleave by when they were said.
      const at = list.findIndex((l) => (l.speaker === speaker && l.seq !== null && l.seq > seq) || (l.startMs !== null && l.startMs > line.startMs!));
      if (at < 0) list.push(line);
      else list.splice(at, 0, line);
    } else {
      const at = list.findIndex((l) => l.seq !== null && l.seq > seq && l.speaker === speaker);
      if (at < 0) list.push(line);
      else list.splice(at, 0, line);
    }
  },
  ended(data: unknown, at?: string) {
    const d = (data ?? {}) as Record<string, unknown>;
    const call = state.current;
    const callId = pick(d, 'callId');
    if (!call || (callId && callId !== call.callId) || call.state === 'ended') return;
    const wasTalking = call.state === 'talking';
    call.state = 'ended';
    call.endedAt = pick(d, 'at', 'endedAt') ?? at ?? new Date().toISOString();
    if (wasTalking && presence.mine === 'on_call') presenceActions.setMine('after_call');
    listeners.forEach((fn) => fn(call, 'ended'));
  },
  /** The call went to another agent (re-offered): it is no longer this agent's. */
  withdrawn(data: unknown) {
    const d = (data ?? {}) as Record<string, unknown>;
    if (state.current && (!d.callId || d.callId === state.current.callId)) state.current = null;
  },
  /** The agent closes the finished call's panel. */
  dismiss() {
    if (state.current?.state === 'ended') state.current = null;
  },
  clear() {
    state.current = null;
  },
};
