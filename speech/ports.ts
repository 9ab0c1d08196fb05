/**
 * Speech (语音转写): the one port every recognition engine sits behind. PCM in, one stream per party
 * (so the speaker is known), partial and final segments out. Backpressure, reconnect and the
 * hand-off of segments to the call (`calls` part: stored, pushed live to the agent's console) are
 * done once, above the engines, in the speech service; an engine only recognises.
 *
 * Engines (chosen per deployment by `SPEECH_ENGINE`; none configured → no transcript, said plainly):
 * - `aws`: AWS Transcribe streaming (zh-CN) through @aws-sdk/client-transcribe-streaming.
 * - `sherpa`: sherpa-onnx-node on the server, a streaming model directory from config.
 * - `browser`: vosk-browser in the agent's console: the server streams the call's audio to the
 *   console over the live WebSocket and the console posts the segments back.
 *
 * CONTRACT shared by the speech-server and speech-console work: change only by agreement.
 */

/** Who spoke: the caller's leg or the agent's leg of a call (the same words as `calls`' Speaker). */
export type Party = 'caller' | 'agent';

/** The sample rates an engine is fed with (G.711 calls are 8 kHz; wideband phones 16 kHz). */
export type SampleRate = 8000 | 16000;

/** One party's audio of one call, as the media fork delivers it. */
export interface AudioStreamInfo {
  /** The edge's call id (as in `calls` and the call record). */
  callId: string;
  party: Party;
  sampleRate: SampleRate;
  /** BCP-47, e.g. `zh-CN` (the default); a dialect/foreign-language queue may ask for another. */
  language: string;
  /**
   * Where this stream starts on the call's time axis (ms after the call's first stream started;
   * default 0). The caller's audio starts when the hotline answers, the agent's at the bridge: the
   * service adds this to the agent's startMs/endMs so both parties' segments share one axis and
   * interleave in the order spoken. (Added by the speech-server work; optional, so engines ignore it.)
   */
  offsetMs?: number;
}

/** A recognised piece of speech. Partials may be revised; a final one is stored with the call. */
export interface SpeechSegment {
  callId: string;
  party: Party;
  /** Per call and party, increasing; a final segment keeps the number its partials had. */
  seq: number;
  text: string;
  final: boolean;
  /** Milliseconds from the start of this party's stream. */
  startMs: number;
  endMs: number;
  /** 0..1, or null when the engine does not say. */
  confidence: number | null;
}

/**
 * A running recognition of one party's audio. `write` takes 16-bit little-endian mono PCM at the
 * stream's sample rate and returns false when the engine wants the caller to wait for `drain`
 * (backpressure); `end` flushes the last final segment and resolves when the engine is done.
 */
export interface RecognitionStream {
  write(pcm: Int16Array): boolean;
  onDrain(listener: () => void): void;
  onSegment(listener: (s: Omit<SpeechSegment, 'callId' | 'party'>) => void): void;
  /** A failure of the engine (network, credentials, model). The service decides whether to reconnect. */
  onError(listener: (err: Error) => void): void;
  end(): Promise<void>;
  /** Stops now, dropping what is not yet recognised (the call was torn down). */
  abort(): void;
}

export interface SpeechEngineHealth {
  engine: SpeechEngineKind;
  ok: boolean;
  /** A sentence for /healthz and the console when not ok, Chinese and English, e.g. the missing model path. */
  detail?: { code: string; zh: string; en: string };
}

export type SpeechEngineKind = 'aws' | 'sherpa' | 'browser' | 'none';

export interface SpeechEngine {
  readonly kind: SpeechEngineKind;
  /** Opens one party's stream. Rejects with an AppError when the engine cannot (missing model, bad credentials). */
  open(stream: AudioStreamInfo): Promise<RecognitionStream>;
  health(): Promise<SpeechEngineHealth>;
  close(): Promise<void>;
}

/**
 * The media fork (媒体分流): where an edge hands each party's decoded audio. The built-in edge calls it
 * from its RTP path; in production rtpengine forks both legs to the app's media receiver, which
 * calls it the same way. `frame` is 16-bit PCM at `sampleRate`, ~20 ms per call.
 */
export interface MediaTap {
  streamStarted(info: AudioStreamInfo): void;
  frame(callId: string, party: Party, pcm: Int16Array): void;
  streamEnded(callId: string, party: Party): void;
}

/**
 * Live messages of the `browser` engine over the console's live WebSocket (`GET /api/v1/live`),
 * only to the agent the call is offered to, as direct messages (`LiveService.sendToUser`): never
 * stored in live_events, no `seq`, no catch-up, carried across nodes by the Redis broker, dropped
 * when the agent has no console open or the socket's bufferedAmount is over the limit (audio late is
 * audio lost; `write` returns false while the socket is behind).
 * - server → console, text: `{ type: 'call.audio.start', callId, party, sampleRate, language, seqBase? }`,
 *   then binary frames, then `{ type: 'call.audio.end', callId, party, aborted? }`. The audio follows
 *   the call's current agent: re-offered to another agent, the first console gets `call.audio.end`
 *   (aborted) and the new one a `call.audio.start` with `seqBase` (its segments number from there, so
 *   they never collide with the first console's) and frames whose sample index runs on.
 * - server → console, binary (one per `write`, ~20 ms):
 *   `[u8 1 = audio][u8 party: 0 caller, 1 agent][u8 n = callId byte length][u8 0]`
 *   `[u32 LE: index of the frame's first sample since the stream started]`
 *   `[callId, n bytes UTF-8][u8 0 when n is odd][PCM 16-bit LE mono at sampleRate]`
 *   The PCM starts at the even offset 8 + n + n % 2 (read in place as an Int16Array); the sample
 *   index keeps segment times right when frames were dropped.
 * - console → server: `POST /api/v1/calls/:callId/transcript/segments` with `{ segments: SpeechSegment[] }`
 *   (without callId in each), idempotent per (callId, party, seq, final); the console sends an
 *   `Idempotency-Key` header per batch and retries a failed batch with the same key.
 * Segments from any engine reach the console as the existing `call.transcript` live event,
 * extended with `startMs`, `endMs`, `confidence`. Encoder/decoder: speech/engines/browser.ts.
 */
export type BrowserEngineFraming = 'see speech/engines/browser';

/** Search over stored transcripts (jieba-segmented), center roles; units never see other units' calls. */
export interface TranscriptSearchHit {
  callId: string;
  ticketId: string | null;
  ticketNumber: string | null;
  at: string;
  party: Party;
  /** The matching segment's text with the matched words wrapped in 【】, masked for the viewer's role. */
  snippet: string;
  startMs: number;
}
