/**
 * The `aws` engine: AWS Transcribe streaming (实时语音识别, zh-CN) through
 * @aws-sdk/client-transcribe-streaming. One StartStreamTranscription per party's stream over HTTP/2;
 * PCM16LE goes up as AudioEvents, TranscriptEvents come back. Region, endpoint (a VPC endpoint, or a
 * local one in tests) and credentials come from config; without explicit keys the SDK's default
 * chain is used (instance role, environment, profile).
 */
import {
  TranscribeStreamingClient, StartStreamTranscriptionCommand, type AudioStream, type LanguageCode, type TranscriptResultStream,
} from '@aws-sdk/client-transcribe-streaming';
import { AppError } from '../../core';
import type { AudioStreamInfo, RecognitionStream, SpeechEngine, SpeechEngineHealth, SpeechSegment } from '../ports';

export interface AwsSpeechEngineOptions {
  region: string;
  /** e.g. https://transcribestreaming.cn-north-1.amazonaws.com.cn; unset: the region's default. */
  endpoint?: string | null;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
  /** Audio chunks (≈20 ms each) the engine holds before `write` asks to wait; default 50 (1 s). */
  highWaterChunks?: number;
  /** Builds the SDK client (tests pass their own HTTP/2 settings); default: a client from the options. */
  client?: TranscribeStreamingClient;
}

type Segment = Omit<SpeechSegment, 'callId' | 'party'>;

const AWS_LANGUAGES = new Set(['zh-CN', 'zh-HK', 'zh-TW', 'en-US', 'en-GB']);

export function createAwsSpeechEngine(o: AwsSpeechEngineOptions): SpeechEngine {
  const client = o.client ?? new TranscribeStreamingClient({
    region: o.region,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
  });
  const highWater = o.highWaterChunks ?? 50;
  const open = new Set<RecognitionStream>();
  let lastError: { at: Date; message: string } | null = null;

  return {
    kind: 'aws',
    async open(info: AudioStreamInfo): Promise<RecognitionStream> {
      if (!AWS_LANGUAGES.has(info.language)) {
        throw new AppError('SPEECH_LANGUAGE_UNSUPPORTED', 422, `AWS Transcribe here is set up for ${[...AWS_LANGUAGES].join(', ')}, not ${info.language}`, `语音转写不支持该语言：${info.language}`);
      }
      const chunks: Uint8Array[] = [];
      let wake: (() => void) | null = null;
      let ending = false;
      let paused = false;
      const abort = new AbortController();
      const drainListeners: (() => void)[] = [];
      const segmentListeners: ((s: Segment) => void)[] = [];
      const errorListeners: ((e: Error) => void)[] = [];
      let failed = false;
      const fail = (err: Error) => {
        if (failed || abort.signal.aborted) return;
        failed = true;
        lastError = { at: new Date(), message: err.message };
        for (const l of errorListeners) l(err);
      };

      async function* audio(): AsyncGenerator<AudioStream> {
        for (;;) {
          while (chunks.length) {
            const chunk = chunks.shift()!;
            if (paused && chunks.length <= highWater / 2) {
              paused = false;
              for (const l of drainListeners) l();
            }
            yield { AudioEvent: { AudioChunk: chunk } };
          }
          if (ending || abort.signal.aborted) return;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      }

      // A result keeps its ResultId from its first partial to its final: that is its seq.
      const seqOf = new Map<string, number>();
      let nextSeq = 0;
      const handle = (events: AsyncIterable<TranscriptResultStream>) => (async () => {
        for await (const ev of events) {
          lastError = null;
          const results = ev.TranscriptEvent?.Transcript?.Results ?? [];
          for (const r of results) {
            const alt = r.Alternatives?.[0];
            const text = alt?.Transcript?.trim() ?? '';
            if (!r.ResultId || !text) continue;
            let seq = seqOf.get(r.ResultId);
            if (seq === undefined) seqOf.set(r.ResultId, (seq = nextSeq++));
            const conf = (alt?.Items ?? []).map((i) => i.Confidence).filter((c): c is number => typeof c === 'number');
            const seg: Segment = {
              seq, text, final: !r.IsPartial,
              startMs: Math.round((r.StartTime ?? 0) * 1000), endMs: Math.round((r.EndTime ?? r.StartTime ?? 0) * 1000),
              confidence: conf.length ? conf.reduce((a, b) => a + b, 0) / conf.length : null,
            };
            if (seg.final) seqOf.delete(r.ResultId);
            for (const l of segmentListeners) l(seg);
          }
          const ex = ev.BadRequestException ?? ev.LimitExceededException ?? ev.InternalFailureException ?? ev.ConflictException ?? ev.ServiceUnavailableException;
          if (ex) throw new Error(`AWS Transcribe: ${ex.Message ?? 'stream error'}`);
        }
      })();

      const response = client
        .send(new StartStreamTranscriptionCommand({
          LanguageCode: info.language as LanguageCode,
          MediaEncoding: 'pcm',
          MediaSampleRateHertz: info.sampleRate,
          AudioStream: audio(),
        }), { abortSignal: abort.signal })
        .then((res) => {
          if (!res.TranscriptResultStream) throw new Error('AWS Transcribe answered without a result stream');
          return handle(res.TranscriptResultStream);
        });
      const done = response.catch((err: Error) => {
        if (!abort.signal.aborted) fail(err);
      });

      const stream: RecognitionStream = {
        write(pcm) {
          if (ending || failed || abort.signal.aborted) return true;
          chunks.push(new Uint8Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength)));
          wake?.();
          if (chunks.length >= highWater) paused = true;
          return !paused;
        },
        onDrain: (l) => void drainListeners.push(l),
        onSegment: (l) => void segmentListeners.push(l),
        onError: (l) => void errorListeners.push(l),
        async end() {
          ending = true;
          wake?.();
          await done;
          open.delete(stream);
        },
        abort() {
          abort.abort();
          wake?.();
          open.delete(stream);
        },
      };
      open.add(stream);
      return stream;
    },
    async health(): Promise<SpeechEngineHealth> {
      // Credentials are checked by AWS when a stream opens: an error since the last success is shown.
      if (lastError) {
        return {
          engine: 'aws', ok: false,
          detail: { code: 'SPEECH_ENGINE_ERROR', zh: `AWS语音转写出错（${lastError.at.toISOString()}）：${lastError.message}`, en: `AWS Transcribe failed at ${lastError.at.toISOString()}: ${lastError.message}` },
        };
      }
      return { engine: 'aws', ok: true };
    },
    async close() {
      for (const s of [...open]) s.abort();
      client.destroy();
    },
  };
}
