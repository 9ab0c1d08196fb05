/**
 * Speech (语音转写): live transcripts of calls behind one engine port (ports.ts). The media fork
 * (the built-in edge's tap, or the RTP receiver rtpengine forwards to) feeds the service's
 * {@link MediaTap}; the service streams each party to the configured engine and hands segments to
 * the calls part (stored, pushed live to the agent). Transcripts are searchable (jieba), masked
 * outside the center, and deleted with the recording. See docs/speech.md.
 */
export * from './ports';
export {
  /** The service over an engine and the calls/intake ports: `tap`, `acceptSegments`, `search`, `status`, `close`. */
  createSpeechService,
  type SpeechService,
  type SpeechServiceDeps,
  type SpeechPorts,
  type SpeechStatus,
  type SpeechStats,
  type SpeechLogger,
  type PostedSegment,
} from './speech.service';
/** The fastify plugin: segments from the console, transcript search, the engine's status; options `{ speech }`. */
export { speechRoutes, type SpeechRoutesOptions } from './speech.routes';
/** AWS Transcribe streaming (zh-CN) through @aws-sdk/client-transcribe-streaming. */
export { createAwsSpeechEngine, type AwsSpeechEngineOptions } from './engines/aws';
/** sherpa-onnx-node on the server with a streaming model directory. */
export { createSherpaSpeechEngine, findSherpaModel, loadSherpa, probeSherpaModel, toModelSamples, type SherpaSpeechEngineOptions, type SherpaModelFiles } from './engines/sherpa';
/** No engine: no transcript, said plainly; and an engine not available in this build. */
export { createNoSpeechEngine, createUnavailableSpeechEngine, NO_SPEECH_ENGINE } from './engines/none';
/** vosk-browser in the agent's console: the call's audio over the live feed, segments posted back. */
export { createBrowserSpeechEngine, browserModelProblem, type BrowserEngineOptions } from './engines/browser';
/** The app-side media receiver for rtpengine's forwarded RTP (production media fork). */
export { createRtpMediaReceiver, type RtpMediaReceiver, type RtpMediaReceiverOptions } from './media/rtp-receiver';
export { PartyTimeline } from './domain/party-timeline';
