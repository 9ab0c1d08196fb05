/**
 * Speech wiring (语音转写): which engine runs (SPEECH_ENGINE), the speech service over the calls,
 * intake and telephony parts' public services, the built-in edge's media tap, and transcripts
 * deleted with recordings. See docs/speech.md.
 */
import type { Logger } from 'pino';
import { isAppError, systemActor, type Actor } from '../core';
import type { CallService } from '../calls';
import type { DirectoryService } from '../directory';
import type { IntakeService } from '../intake';
import { normalizeText, words } from '../routing';
import {
  createAwsSpeechEngine, createNoSpeechEngine, createSherpaSpeechEngine, createSpeechService, type SpeechEngine,
} from '../speech';
import type { LiveService } from '../live';
import type { Telephony } from './telephony';
import { browserSpeechEngineOf } from './speech-browser';
import type { AppConfig } from './config';

export interface SpeechParts {
  calls: CallService;
  intake: IntakeService;
  directory: DirectoryService;
  telephony: Telephony;
  live: LiveService;
  logger?: Logger;
  /** Tests give their own engine (e.g. aws against a local endpoint); default: the one SPEECH_ENGINE names. */
  engine?: SpeechEngine;
}

/** The engine SPEECH_ENGINE names, built from config (config validation has checked what each needs). */
export function speechEngineFromConfig(config: AppConfig, browser: () => SpeechEngine): SpeechEngine {
  const s = config.speech;
  switch (s.engine) {
    case 'aws':
      return createAwsSpeechEngine({ region: s.aws.region!, endpoint: s.aws.endpoint, credentials: s.aws.credentials });
    case 'sherpa':
      return createSherpaSpeechEngine({ modelDir: s.sherpa.modelDir, numThreads: s.sherpa.numThreads });
    case 'browser':
      // The console recognises (vosk-browser) and posts the segments back; see docs/speech-console.md.
      return browser();
    default:
      return createNoSpeechEngine();
  }
}

export function createSpeech(config: AppConfig, p: SpeechParts) {
  const logger = p.logger?.child({ part: 'speech' });
  let cityId: string | null = config.telephony.cityId;
  // The city whose calls this node's edge carries (as telephony decides it).
  const cityOfCalls = async () => (cityId ??= (await p.directory.listCities())[0]?.id ?? null);
  const engine = p.engine ?? speechEngineFromConfig(config, () => browserSpeechEngineOf({ live: p.live, calls: p.calls, cityOfCalls }));
  const service = createSpeechService({
    engine,
    logger,
    language: config.speech.language,
    maxQueuedFrames: config.speech.maxQueuedFrames,
    cityId: cityOfCalls,
    ports: {
      calls: {
        record: (ctx, e) => p.calls.record(ctx, e),
        callFacts: (city, callId) => p.calls.callFacts(city, callId),
        searchSegments: (city, ws, limit) => p.calls.searchSegments(city, ws, limit),
      },
      async ticketOfCall(actor: Actor, callId: string) {
        // The call record (话单) holds the ticket the call was linked to; else the ticket registered
        // from the call (a gateway's calls have no record). The viewer must be able to read it.
        const rec = await p.telephony.service.getRecord(systemActor(actor.cityId, 'speech'), callId).catch(nullIfAppError);
        const t = rec?.ticketId ? await p.intake.getTicket(actor, rec.ticketId).catch(nullIfAppError) : await p.intake.findTicketOfCall(actor, callId);
        return t ? { id: t.id, number: t.number, confidential: t.confidential } : null;
      },
      tokenize: (text) => words(normalizeText(text)),
    },
  });
  // The built-in edge forks each party's audio here; with no engine nothing is forked.
  if (engine.kind !== 'none') p.telephony.edge?.setMediaTap?.(service.tap);

  return {
    service,
    /** Told by the recording retention job: the call's transcript goes with its recording. */
    async recordingDeleted(call: { cityId: string; callId: string }) {
      await p.calls.deleteTranscript({ actor: systemActor(call.cityId, 'speech') }, call.callId, 'retention');
    },
    async close() {
      p.telephony.edge?.setMediaTap?.(null);
      await service.close();
    },
  };
}

export type Speech = ReturnType<typeof createSpeech>;

function nullIfAppError(err: unknown): null {
  if (isAppError(err)) return null;
  throw err;
}
