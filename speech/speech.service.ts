/**
 * The speech service (语音转写服务): one place, above every engine, that turns the media fork's audio
 * into a call's transcript. Per call and party it opens an engine stream, feeds it through a bounded
 * queue (backpressure: when the engine says wait, frames queue; past the bound the oldest are dropped
 * and counted, never unbounded memory), reopens the engine after an error with the party's time axis
 * kept (startMs/endMs stay those of the call, see {@link PartyTimeline}), and hands each segment to the
 * calls part as its `transcript` event (finals stored, partials only pushed live to the agent).
 */
import {
  AppError, badRequest, forbidden, isAppError, isCenter, notFound, Role, systemActor, UNIT_ROLES, type Actor, type CommandContext,
} from '../core';
import type { CallEvent, Speaker, TranscriptSegmentHit } from '../calls';
import { maskSpokenNumbers } from '../calls';
import { PartyTimeline } from './domain/party-timeline';
import type {
  AudioStreamInfo, MediaTap, Party, RecognitionStream, SpeechEngine, SpeechEngineHealth, SpeechSegment, TranscriptSearchHit,
} from './ports';

export interface SpeechLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

/** What the speech service needs from the other parts (wired in app/speech.ts through their public services). */
export interface SpeechPorts {
  calls: {
    record(ctx: CommandContext, e: Extract<CallEvent, { type: 'transcript' }>): Promise<unknown>;
    callFacts(cityId: string, callId: string): Promise<{ callId: string; agentUserId: string | null; endedAt: string | null } | null>;
    searchSegments(cityId: string, words: string[], limit: number): Promise<(TranscriptSegmentHit & { agentUserId?: string | null })[]>;
  };
  /** The ticket a call is linked to (话单 → 工单), as the viewer may read it; null: none, or not for this viewer. */
  ticketOfCall(actor: Actor, callId: string): Promise<{ id: string; number: string; confidential: boolean } | null>;
  /** jieba words of a text (routing's tokenizer). */
  tokenize(text: string): string[];
}

export interface SpeechServiceDeps {
  engine: SpeechEngine;
  ports: SpeechPorts;
  /** The city whose calls the media fork carries (the telephony node's city). */
  cityId: () => Promise<string | null>;
  logger?: SpeechLogger;
  language?: string;
  /** Frames (≈20 ms each) a party may queue while the engine is busy or reconnecting; default 500 (10 s). */
  maxQueuedFrames?: number;
  /** First wait before reopening an engine stream after an error; doubles to `maxReconnectDelayMs`. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** Final segments kept while the call is not yet known to the calls part (before its pop-up). */
  maxPendingFinals?: number;
}

export interface SpeechStats {
  activeStreams: number;
  framesIn: number;
  framesDropped: number;
  engineErrors: number;
  reconnects: number;
  segmentsFinal: number;
  segmentsPartial: number;
  segmentsLost: number;
}

export interface SpeechStatus extends SpeechEngineHealth {
  stats: SpeechStats;
}

/** One segment as the console's browser engine posts it (the port's SpeechSegment without callId). */
export type PostedSegment = Omit<SpeechSegment, 'callId'>;

const SEARCH_LIMIT = 50;
/** How many of the city's newest matching segments a unit's search looks through before its ticket filter. */
const UNIT_SCAN_LIMIT = 500;

type Delivery = Extract<CallEvent, { type: 'transcript' }>;

class PartyStream {
  readonly queue: Int16Array[] = [];
  engine: RecognitionStream | null = null;
  paused = false;
  ended = false;
  /** The engine refused this stream (an AppError): nothing is sent, the stream only waits for its end. */
  refused = false;
  opening: Promise<void> | null = null;
  /** Stream position (samples) of the first queued frame. */
  headPos = 0;
  readonly timeline: PartyTimeline;
  seqBase = 0;
  maxSeq = -1;
  reconnectDelay: number;
  reconnectTimer: NodeJS.Timeout | null = null;
  delivering: Promise<void> = Promise.resolve();
  pendingFinals: Delivery[] = [];
  constructor(readonly info: AudioStreamInfo, readonly cityId: string, delay: number) {
    this.timeline = new PartyTimeline(info.sampleRate);
    this.reconnectDelay = delay;
  }
}

export function createSpeechService(deps: SpeechServiceDeps) {
  const { engine, ports } = deps;
  const log = deps.logger ?? { info() {}, warn() {}, error() {} };
  const maxQueued = deps.maxQueuedFrames ?? 500;
  const firstDelay = deps.reconnectDelayMs ?? 250;
  const maxDelay = deps.maxReconnectDelayMs ?? 5000;
  const maxPending = deps.maxPendingFinals ?? 200;
  const streams = new Map<string, PartyStream>();
  const stats: SpeechStats = { activeStreams: 0, framesIn: 0, framesDropped: 0, engineErrors: 0, reconnects: 0, segmentsFinal: 0, segmentsPartial: 0, segmentsLost: 0 };
  const key = (callId: string, party: Party) => `${callId}\u0000${party}`;

  function pump(s: PartyStream): void {
    while (s.engine && !s.paused && s.queue.length) {
      const frame = s.queue.shift()!;
      s.headPos += frame.length;
      s.timeline.wrote(frame.length);
      if (!s.engine.write(frame)) s.paused = true;
    }
  }

  function open(s: PartyStream): Promise<void> {
    if (s.ended || s.engine) return Promise.resolve();
    s.opening ??= openNow(s).finally(() => {
      s.opening = null;
    });
    return s.opening;
  }

  async function openNow(s: PartyStream): Promise<void> {
    try {
      const rs = await engine.open(s.info);
      if (s.ended) {
        rs.abort();
        return;
      }
      s.timeline.restart(s.headPos);
      s.engine = rs;
      s.paused = false;
      s.reconnectDelay = firstDelay;
      rs.onDrain(() => {
        if (s.engine !== rs) return;
        s.paused = false;
        pump(s);
      });
      rs.onSegment((seg) => {
        if (s.engine !== rs && !s.ended) return; // a stream given up after an error says nothing more
        const seq = s.seqBase + seg.seq;
        const off = Math.max(0, Math.round(s.info.offsetMs ?? 0));
        s.maxSeq = Math.max(s.maxSeq, seq);
        deliver(s, {
          type: 'transcript', callId: s.info.callId, speaker: s.info.party, seq, text: seg.text, final: seg.final,
          startMs: off + s.timeline.streamMs(seg.startMs), endMs: off + Math.max(s.timeline.streamMs(seg.startMs), s.timeline.streamMs(seg.endMs)),
          confidence: seg.confidence,
        });
      });
      rs.onError((err) => failed(s, rs, err));
      pump(s);
    } catch (err) {
      stats.engineErrors++;
      if (isAppError(err)) {
        // The engine cannot run here (no model, language, engine missing): retrying would only repeat it.
        // The status says why; this party goes untranscribed, its audio is let go.
        log.warn({ err, callId: s.info.callId, party: s.info.party, engine: engine.kind }, 'speech: the engine refused the stream; no transcript for it');
        s.ended = true;
        s.refused = true;
        s.queue.length = 0;
        return;
      }
      log.error({ err, callId: s.info.callId, party: s.info.party, engine: engine.kind }, 'speech: the engine could not open a stream');
      scheduleReopen(s);
    }
  }

  function failed(s: PartyStream, rs: RecognitionStream, err: Error): void {
    if (s.engine !== rs) return;
    stats.engineErrors++;
    log.warn({ err, callId: s.info.callId, party: s.info.party, engine: engine.kind }, 'speech: engine error; reopening the stream');
    s.engine = null;
    s.paused = false;
    rs.abort();
    // The new engine stream numbers from 0 again: its segments follow every one seen so far.
    s.seqBase = s.maxSeq + 1;
    scheduleReopen(s);
  }

  function scheduleReopen(s: PartyStream): void {
    if (s.ended || s.reconnectTimer) return;
    const delay = s.reconnectDelay;
    s.reconnectDelay = Math.min(maxDelay, delay * 2);
    s.reconnectTimer = setTimeout(() => {
      s.reconnectTimer = null;
      stats.reconnects++;
      void open(s);
    }, delay);
    s.reconnectTimer.unref?.();
  }

  /** Segments of one party go to the calls part in order; a call not yet known keeps its finals for later. */
  function deliver(s: PartyStream, e: Delivery): void {
    if (e.final) stats.segmentsFinal++;
    else stats.segmentsPartial++;
    s.delivering = s.delivering.then(async () => {
      const ctx = { actor: systemActor(s.cityId, 'speech') };
      const todo = [...s.pendingFinals, e];
      s.pendingFinals = [];
      for (let i = 0; i < todo.length; i++) {
        try {
          await ports.calls.record(ctx, todo[i]);
        } catch (err) {
          if (isAppError(err) && err.code === 'CALL_NOT_FOUND') {
            // Before the pop-up the call is not in `calls` yet: finals wait (bounded), partials are moot.
            s.pendingFinals.push(...todo.slice(i).filter((x) => x.final));
            const over = s.pendingFinals.length - maxPending;
            if (over > 0) {
              s.pendingFinals.splice(0, over);
              stats.segmentsLost += over;
            }
            return;
          }
          if (todo[i].final) stats.segmentsLost++;
          log.error({ err, callId: e.callId, party: e.speaker }, 'speech: a segment could not be handed to the call');
        }
      }
    });
  }

  const tap: MediaTap = {
    streamStarted(info) {
      const k = key(info.callId, info.party);
      // No engine: no stream, no transcript (the status says so).
      if (engine.kind === 'none' || streams.has(k)) return;
      void deps.cityId().then((cityId) => {
        if (!cityId || streams.has(k)) return;
        const s = new PartyStream({ ...info, language: info.language || deps.language || 'zh-CN' }, cityId, firstDelay);
        streams.set(k, s);
        stats.activeStreams = streams.size;
        void open(s);
      });
    },
    frame(callId, party, pcm) {
      const s = streams.get(key(callId, party));
      if (!s || s.ended) return;
      stats.framesIn++;
      s.queue.push(pcm);
      // Bounded: the oldest frame goes, counted, and the time axis remembers the gap.
      while (s.queue.length > maxQueued) {
        const old = s.queue.shift()!;
        s.headPos += old.length;
        s.timeline.dropped(old.length);
        stats.framesDropped++;
      }
      pump(s);
    },
    streamEnded(callId, party) {
      const k = key(callId, party);
      const s = streams.get(k);
      if (s?.refused) {
        streams.delete(k);
        stats.activeStreams = streams.size;
        return;
      }
      if (!s || s.ended) return;
      void finish(s).finally(() => {
        if (streams.get(k) === s) streams.delete(k);
        stats.activeStreams = streams.size;
      });
    },
  };

  async function finish(s: PartyStream): Promise<void> {
    if (s.reconnectTimer) clearTimeout(s.reconnectTimer);
    s.reconnectTimer = null;
    // Ended while reconnecting (or still opening): one more try, so the queued end of the call is heard.
    if (!s.engine && (s.queue.length || s.opening)) {
      if (!s.opening) stats.reconnects++;
      await open(s);
      if (s.reconnectTimer) clearTimeout(s.reconnectTimer);
      s.reconnectTimer = null;
    }
    // What is queued still goes in (the engine takes it without waiting once it is ending).
    if (s.engine) {
      while (s.queue.length) {
        const frame = s.queue.shift()!;
        s.headPos += frame.length;
        s.timeline.wrote(frame.length);
        s.engine.write(frame);
      }
    }
    const rs = s.engine;
    s.ended = true;
    try {
      await rs?.end();
    } catch (err) {
      stats.engineErrors++;
      log.warn({ err, callId: s.info.callId, party: s.info.party }, 'speech: the engine failed while finishing the stream');
    }
    await s.delivering;
    // Finals held while the call was not yet known get one more try now (the pop may have come since).
    if (s.pendingFinals.length) {
      const held = s.pendingFinals;
      s.pendingFinals = [];
      const ctx = { actor: systemActor(s.cityId, 'speech') };
      for (const e of held) {
        try {
          await ports.calls.record(ctx, e);
        } catch {
          s.pendingFinals.push(e);
        }
      }
    }
    if (s.pendingFinals.length) {
      stats.segmentsLost += s.pendingFinals.length;
      log.warn({ callId: s.info.callId, party: s.info.party, lost: s.pendingFinals.length }, 'speech: the call never reached the calls part; its final segments are dropped');
    }
  }

  function highlight(text: string, words: string[]): string {
    let out = text;
    for (const w of [...words].sort((a, b) => b.length - a.length)) {
      out = out.split(w).join(`\u0001${w}\u0002`);
    }
    return out.replace(/\u0001+/g, '【').replace(/\u0002+/g, '】');
  }

  return {
    /** The media fork hands audio here (the built-in edge's tap, the RTP receiver for rtpengine). */
    tap,
    kind: engine.kind,

    /**
     * Segments the console's browser engine recognised (`POST /calls/:callId/transcript/segments`): only
     * the agent the call is offered to, only with the `browser` engine; each is stored or pushed once
     * per (call, party, seq, final) by the calls part.
     */
    async acceptSegments(actor: Actor, callId: string, segments: PostedSegment[]): Promise<{ accepted: number; duplicates: number }> {
      if (engine.kind !== 'browser') {
        throw new AppError('SPEECH_ENGINE_NOT_BROWSER', 409, `this installation transcribes with the ${engine.kind} engine, not in the console`, `本系统的语音转写引擎为 ${engine.kind}，不接受坐席端提交的转写`);
      }
      const facts = await ports.calls.callFacts(actor.cityId, callId);
      // Another agent's call looks the same as a missing one.
      if (!facts || actor.role !== Role.agent || facts.agentUserId !== actor.id) throw notFound('CALL_NOT_FOUND', `call ${callId} not found`, `通话 ${callId} 不存在`);
      let accepted = 0;
      let duplicates = 0;
      const ctx = { actor };
      for (const seg of segments) {
        if (seg.endMs < seg.startMs) throw badRequest('SEGMENT_TIMING_INVALID', `segment ${seg.seq}: endMs before startMs`, `转写片段 ${seg.seq} 的结束时间早于开始时间`, { field: 'segments' });
      }
      for (const seg of segments) {
        const r = (await ports.calls.record(ctx, {
          type: 'transcript', callId, speaker: seg.party as Speaker, seq: seg.seq, text: seg.text, final: seg.final,
          startMs: seg.startMs, endMs: seg.endMs, confidence: seg.confidence,
        })) as { duplicate?: boolean };
        if (r?.duplicate) duplicates++;
        else accepted++;
      }
      return { accepted, duplicates };
    },

    /**
     * Searches stored transcripts (jieba words, all of them): the center (an agent: the calls offered
     * to them); a unit only calls linked to tickets it may read, never a confidential (保密) one, with
     * spoken numbers masked. Grid staff and others: refused.
     */
    async search(actor: Actor, q: string): Promise<TranscriptSearchHit[]> {
      const center = isCenter(actor);
      if (!center && !(UNIT_ROLES.has(actor.role) && actor.unitId)) {
        throw forbidden('ROLE_FORBIDDEN', 'transcript search is for the hotline center and units', '通话内容检索仅限热线中心和承办单位');
      }
      const words = [...new Set(ports.tokenize(q))];
      if (!words.length) throw badRequest('SEARCH_QUERY_TOO_SHORT', 'the query has no word to search for (two characters or more)', '检索词过短，请输入至少两个字的词语', { field: 'q' });
      const rows = await ports.calls.searchSegments(actor.cityId, words, center ? SEARCH_LIMIT * 4 : UNIT_SCAN_LIMIT);
      const hits: TranscriptSearchHit[] = [];
      const tickets = new Map<string, Awaited<ReturnType<SpeechPorts['ticketOfCall']>>>();
      for (const r of rows) {
        if (hits.length >= SEARCH_LIMIT) break;
        if (actor.role === Role.agent && r.agentUserId !== actor.id) continue;
        if (!tickets.has(r.callId)) tickets.set(r.callId, await ports.ticketOfCall(actor, r.callId));
        const ticket = tickets.get(r.callId) ?? null;
        if (!center && (!ticket || ticket.confidential)) continue;
        const text = center ? r.text : maskSpokenNumbers(r.text);
        hits.push({
          callId: r.callId, ticketId: ticket?.id ?? null, ticketNumber: ticket?.number ?? null, at: r.offeredAt, party: r.party,
          snippet: highlight(text, words), startMs: r.startMs,
        });
      }
      return hits;
    },

    /** The engine's health and the counters (GET /speech/status, /healthz): the console says "no transcript: …" from it. */
    async status(): Promise<SpeechStatus> {
      let h: SpeechEngineHealth;
      try {
        h = await engine.health();
      } catch (err) {
        h = { engine: engine.kind, ok: false, detail: { code: 'SPEECH_ENGINE_UNHEALTHY', zh: `语音转写引擎状态未知：${(err as Error).message}`, en: `speech engine health unknown: ${(err as Error).message}` } };
      }
      return { ...h, stats: { ...stats } };
    },

    stats: () => ({ ...stats }),

    /** Ends every stream (their last segments delivered), then the engine. */
    async close(): Promise<void> {
      await Promise.all([...streams.values()].map((s) => finish(s)));
      streams.clear();
      stats.activeStreams = 0;
      await engine.close();
    },
  };
}

export type SpeechService = ReturnType<typeof createSpeechService>;
