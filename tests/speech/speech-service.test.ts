/**
 * The speech service above any engine, over the real aws engine and the local Transcribe endpoint
 * (the calls part is a port that keeps what it is handed): an engine error mid-call reopens the
 * stream with the call's time axis and numbering kept; a slow engine makes frames queue, bounded,
 * the oldest dropped and counted, and the time axis skips the gap; `none` opens nothing and the
 * console's segments are refused unless the engine is `browser`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, systemActor, Role, type CommandContext } from '../../core';
import type { CallEvent } from '../../calls';
import {
  createAwsSpeechEngine, createNoSpeechEngine, createSpeechService, PartyTimeline, type RecognitionStream, type SpeechEngine, type SpeechServiceDeps,
} from '../../speech';
import { until } from '../helpers/until';
import { startTranscribeEndpoint, type TranscribeEndpoint } from './transcribe-endpoint';

type Transcript = Extract<CallEvent, { type: 'transcript' }>;

/** One second of a 300 Hz tone at 8 kHz in 20 ms frames (loud enough for the endpoint to "hear"). */
const second = (): Int16Array[] =>
  Array.from({ length: 50 }, (_, f) => Int16Array.from({ length: 160 }, (_, i) => Math.round(4000 * Math.sin((2 * Math.PI * 300 * (f * 160 + i)) / 8000))));

function recordingCalls() {
  const events: Transcript[] = [];
  const ports: SpeechServiceDeps['ports'] = {
    calls: {
      record: async (_ctx: CommandContext, e) => void events.push(e),
      callFacts: async (_city, callId) => ({ callId, agentUserId: 'agent-1', endedAt: null }),
      searchSegments: async () => [],
    },
    ticketOfCall: async () => null,
    tokenize: (text) => text.split(/\s+/).filter((w) => w.length > 1),
  };
  return { events, ports };
}

describe('speech service', () => {
  let endpoint: TranscribeEndpoint;
  const aws = () => createAwsSpeechEngine({ region: 'cn-north-1', endpoint: endpoint.url, credentials: { accessKeyId: 'AKIDSERVICETEST01', secretAccessKey: 'service-test-secret' } });

  beforeAll(async () => {
    endpoint = await startTranscribeEndpoint();
  });
  afterAll(async () => endpoint?.close());

  it('reopens the engine stream after an error mid-call, keeping seq increasing and startMs on the call\'s time axis', async () => {
    const { events, ports } = recordingCalls();
    const service = createSpeechService({ engine: aws(), ports, cityId: async () => 'demo', reconnectDelayMs: 20 });
    const before = endpoint.requests.length;
    endpoint.cutAfterSeconds(2); // the first stream breaks after two seconds of audio
    service.tap.streamStarted({ callId: 'c-reconnect', party: 'caller', sampleRate: 8000, language: 'zh-CN' });
    await until(() => service.stats().activeStreams === 1, 'stream open');
    // Two seconds, then the cut; the call's next three seconds go to the reopened stream.
    for (let s = 0; s < 2; s++) for (const f of second()) service.tap.frame('c-reconnect', 'caller', f);
    await until(() => service.stats().reconnects === 1 && endpoint.requests.length - before === 2, 'the stream reopened', 20_000);
    for (let s = 0; s < 3; s++) for (const f of second()) service.tap.frame('c-reconnect', 'caller', f);
    service.tap.streamEnded('c-reconnect', 'caller');
    await until(() => service.stats().activeStreams === 0, 'stream finished', 20_000);
    expect(endpoint.requests.length - before).toBe(2); // the cut stream and the reopened one
    expect(service.stats()).toMatchObject({ engineErrors: 1, reconnects: 1 });
    const finals = events.filter((e) => e.final);
    // Seconds 1–2 from the first stream, then the reopened stream's: numbered on, and timed from the call's start.
    for (let i = 1; i < finals.length; i++) {
      expect(finals[i].seq).toBeGreaterThan(finals[i - 1].seq);
      expect(finals[i].startMs!).toBeGreaterThanOrEqual(finals[i - 1].endMs!);
    }
    expect(finals[0]).toMatchObject({ seq: 0, startMs: 0, endMs: 1000, speaker: 'caller', confidence: 0.8 });
    // The reopened stream's results are timed on the call's axis (its own clock restarted at 0).
    expect(endpoint.requests[before + 1].audioBytes).toBe(3 * 16_000);
    const afterCut = finals.filter((e) => e.startMs! >= 2000);
    expect(afterCut.map((e) => [e.startMs, e.endMs])).toEqual([[2000, 3000], [3000, 4000], [4000, 5000]]);
    await service.close();
  });

  it('keeps a bounded queue while the engine holds back: the oldest frames are dropped and counted, and the time axis skips them', async () => {
    // An engine that takes nothing until told: write() says wait; its segments are in its own (engine) time.
    let release: (() => void) | null = null;
    const written: number[] = [];
    let emit: ((s: { seq: number; text: string; final: boolean; startMs: number; endMs: number; confidence: number | null }) => void) | null = null;
    const slow: SpeechEngine = {
      kind: 'aws',
      async open() {
        let drain: (() => void) | null = null;
        let blocked = true;
        release = () => {
          blocked = false;
          drain?.();
        };
        const rs: RecognitionStream = {
          write: (pcm) => (written.push(pcm.length), !blocked),
          onDrain: (l) => void (drain = l),
          onSegment: (l) => void (emit = l),
          onError: () => undefined,
          end: async () => undefined,
          abort: () => undefined,
        };
        return rs;
      },
      health: async () => ({ engine: 'aws', ok: true }),
      close: async () => undefined,
    };
    const { events, ports } = recordingCalls();
    const service = createSpeechService({ engine: slow, ports, cityId: async () => 'demo', maxQueuedFrames: 50 });
    service.tap.streamStarted({ callId: 'c-slow', party: 'agent', sampleRate: 8000, language: 'zh-CN', offsetMs: 3000 });
    await until(() => release !== null, 'engine stream open');
    for (let s = 0; s < 4; s++) for (const f of second()) service.tap.frame('c-slow', 'agent', f); // 4 s while the engine waits
    // One frame went in before the engine said wait; of the 199 queued, only the newest 50 are kept.
    expect(written).toHaveLength(1);
    expect(service.stats()).toMatchObject({ framesIn: 200, framesDropped: 149 });
    release!();
    expect(written).toHaveLength(51);
    // The engine heard 20 ms, then (after the 2.98 s gap) the last second: its 0.02 s is the call's 3.0 s + the agent's offset.
    emit!({ seq: 0, text: '最后一秒', final: true, startMs: 20, endMs: 1020, confidence: null });
    service.tap.streamEnded('c-slow', 'agent');
    await until(() => events.length === 1, 'segment delivered');
    expect(events[0]).toMatchObject({ speaker: 'agent', startMs: 3000 + 3000, endMs: 3000 + 4000 });
    await service.close();
  });

  it('lets a party go untranscribed, without retrying, when the engine refuses its stream (no model)', async () => {
    const { events, ports } = recordingCalls();
    let opens = 0;
    const refusing: SpeechEngine = {
      kind: 'sherpa',
      async open() {
        opens++;
        throw new AppError('SPEECH_MODEL_MISSING', 503, 'no model', '无模型');
      },
      health: async () => ({ engine: 'sherpa', ok: false }),
      close: async () => undefined,
    };
    const service = createSpeechService({ engine: refusing, ports, cityId: async () => 'demo', reconnectDelayMs: 5 });
    service.tap.streamStarted({ callId: 'c-refused', party: 'caller', sampleRate: 8000, language: 'zh-CN' });
    await until(() => service.stats().engineErrors === 1, 'refused');
    for (const f of second()) service.tap.frame('c-refused', 'caller', f);
    await new Promise((r) => setTimeout(r, 50));
    expect(opens).toBe(1);
    expect(service.stats()).toMatchObject({ reconnects: 0, framesIn: 0, activeStreams: 1 });
    service.tap.streamEnded('c-refused', 'caller');
    expect(service.stats().activeStreams).toBe(0);
    expect(events).toEqual([]);
  });

  it('maps engine time across reconnects and gaps (PartyTimeline)', () => {
    const t = new PartyTimeline(8000);
    t.wrote(8000); // 1 s heard
    t.dropped(4000); // 0.5 s lost
    t.wrote(8000);
    expect(t.streamMs(500)).toBe(500);
    expect(t.streamMs(1000)).toBe(1500);
    expect(t.streamMs(2000)).toBe(2500);
    t.restart(40_000); // reopened at 5 s of the stream
    expect(t.streamMs(0)).toBe(5000);
  });

  it('with no engine opens no stream, says so, and refuses the console\'s segments', async () => {
    const { events, ports } = recordingCalls();
    const service = createSpeechService({ engine: createNoSpeechEngine(), ports, cityId: async () => 'demo' });
    service.tap.streamStarted({ callId: 'c-none', party: 'caller', sampleRate: 8000, language: 'zh-CN' });
    for (const f of second()) service.tap.frame('c-none', 'caller', f);
    expect(service.stats()).toMatchObject({ activeStreams: 0, framesIn: 0 });
    expect(await service.status()).toMatchObject({ engine: 'none', ok: false, detail: { code: 'SPEECH_ENGINE_NONE' } });
    const agent = { ...systemActor('demo', 'x'), kind: 'user' as const, id: 'agent-1', role: Role.agent };
    await expect(service.acceptSegments(agent, 'c-none', [{ party: 'caller', seq: 0, text: '假的', final: true, startMs: 0, endMs: 10, confidence: null }]))
      .rejects.toMatchObject({ code: 'SPEECH_ENGINE_NOT_BROWSER', status: 409 });
    expect(events).toEqual([]);
  });
});
