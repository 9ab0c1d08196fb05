import { performance } from 'node:perf_hooks';
import { createSpeechService, type RecognitionStream, type SpeechEngine } from '../speech';
import { fmt } from './harness';

/**
 * The speech service's cost per audio frame: `streams` party streams (two per call) of 20 ms frames
 * fed through the media tap, the bounded queue and the time axis into an engine that takes each
 * frame at once (it only counts samples), against the baseline of writing the same frames straight
 * into the same engine streams. The ratio is what the service adds on the RTP path; frames per
 * second over 50 per stream is how many concurrent streams one core could carry before recognition.
 */
export async function benchSpeechService(o: { streams: number; secondsOfAudio: number }) {
  let samples = 0;
  const engine: SpeechEngine = {
    kind: 'aws',
    async open() {
      const rs: RecognitionStream = {
        write: (pcm) => ((samples += pcm.length), true),
        onDrain: () => undefined,
        onSegment: () => undefined,
        onError: () => undefined,
        end: async () => undefined,
        abort: () => undefined,
      };
      return rs;
    },
    health: async () => ({ engine: 'aws', ok: true }),
    close: async () => undefined,
  };
  const frame = Int16Array.from({ length: 160 }, (_, i) => Math.round(3000 * Math.sin(i / 3)));
  const frames = o.secondsOfAudio * 50;

  // Baseline: the engine streams written directly.
  const direct = await Promise.all(Array.from({ length: o.streams }, () => engine.open({ callId: 'x', party: 'caller', sampleRate: 8000, language: 'zh-CN' })));
  let t0 = performance.now();
  for (let f = 0; f < frames; f++) for (const s of direct) s.write(frame);
  const baselineMs = performance.now() - t0;

  const service = createSpeechService({
    engine,
    cityId: async () => 'bench',
    ports: {
      calls: { record: async () => undefined, callFacts: async () => null, searchSegments: async () => [] },
      ticketOfCall: async () => null,
      tokenize: () => [],
    },
  });
  for (let i = 0; i < o.streams; i++) service.tap.streamStarted({ callId: `call-${i >> 1}`, party: i % 2 ? 'agent' : 'caller', sampleRate: 8000, language: 'zh-CN' });
  while (service.stats().activeStreams < o.streams) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 20)); // every engine stream open
  samples = 0;
  t0 = performance.now();
  for (let f = 0; f < frames; f++) for (let i = 0; i < o.streams; i++) service.tap.frame(`call-${i >> 1}`, i % 2 ? 'agent' : 'caller', frame);
  const serviceMs = performance.now() - t0;
  const delivered = samples / 160;
  await service.close();
  const total = frames * o.streams;
  return {
    name: `speech service: ${o.streams} party streams × ${o.secondsOfAudio} s of 20 ms frames through the tap vs written straight to the engine`,
    frames: total,
    delivered,
    serviceFramesPerSec: fmt((total / serviceMs) * 1000, 0),
    baselineFramesPerSec: fmt((total / baselineMs) * 1000, 0),
    // How many times longer the service takes per frame than a bare engine write.
    ratio: fmt(serviceMs / baselineMs, 2),
    // Concurrent party streams (50 frames/s each) one core could feed, before recognition.
    streamsPerCore: fmt((total / serviceMs) * 1000 / 50, 0),
  };
}
