/**
 * Wiring of the `browser` speech engine (浏览器端转写): its configuration, the model directory
 * served at /speech-models/ for the console's vosk-browser worker, the console's model look-up
 * (`GET /api/v1/speech/browser-model`) and the engine itself over the live feed. The speech service
 * (SPEECH_ENGINE=browser) takes the engine from {@link browserSpeechEngineOf}. See docs/speech-console.md.
 */
import { isAbsolute, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../core/http';
import type { LiveService } from '../live';
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { browserModelProblem, createBrowserSpeechEngine } from '../speech/engines/browser';
import type { SpeechEngine } from '../speech/ports';

/** Where the console's worker fetches the model from (same origin: the console's CSP allows only 'self'). */
export const SPEECH_MODELS_PREFIX = '/speech-models/';

export interface SpeechBrowserConfig {
  /** SPEECH_BROWSER_MODEL_DIR: a directory holding the Vosk model archive; null: not configured. */
  modelDir: string | null;
  /** SPEECH_BROWSER_MODEL_FILE: the archive's file name in it (a Vosk model folder as .tar.gz). */
  modelFile: string;
}

const Env = z.object({
  SPEECH_BROWSER_MODEL_DIR: z.string().trim().min(1).optional(),
  SPEECH_BROWSER_MODEL_FILE: z
    .string()
    .trim()
    .regex(/^[\w.-]+\.(tar\.gz|tgz)$/, 'SPEECH_BROWSER_MODEL_FILE must be a file name ending in .tar.gz or .tgz (no directory) / 模型文件名须以 .tar.gz 或 .tgz 结尾，且不含目录')
    .default('model.tar.gz'),
});

/** Reads the browser engine's settings; throws with the variable named when one is malformed. */
export function speechBrowserConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SpeechBrowserConfig {
  const r = Env.safeParse(env);
  if (!r.success) throw new Error(`speech (browser engine) configuration: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const dir = r.data.SPEECH_BROWSER_MODEL_DIR;
  return { modelDir: dir ? (isAbsolute(dir) ? dir : resolve(dir)) : null, modelFile: r.data.SPEECH_BROWSER_MODEL_FILE };
}

/**
 * The agent a call is offered to (whose console recognises it), from the call record of the calls
 * part; the newest when two cities share a gateway id.
 */
function agentOfCall(db: Kysely<DB>) {
  return async (callId: string) => {
    const row = await db.selectFrom('calls').select(['city_id', 'agent_user_id']).where('call_id', '=', callId).orderBy('offered_at', 'desc').executeTakeFirst();
    return row?.agent_user_id ? { cityId: row.city_id, userId: row.agent_user_id } : null;
  };
}

/** The `browser` engine over this node's live feed (SPEECH_ENGINE=browser). */
export function browserSpeechEngineOf(ctx: { live: LiveService; database: { db: Kysely<DB> } }, config = speechBrowserConfigFromEnv()): SpeechEngine {
  return createBrowserSpeechEngine({
    agentOf: agentOfCall(ctx.database.db),
    send: (cityId, userId, frame) => ctx.live.sendToUser(cityId, userId, frame),
    modelDir: config.modelDir,
    modelFile: config.modelFile,
  });
}

const BrowserModelView = z.object({
  configured: z.boolean().describe('SPEECH_BROWSER_MODEL_DIR is set'),
  available: z.boolean().describe('the model archive is in it'),
  url: z.string().nullable().describe('where the console loads it from (same origin)'),
  detail: z.object({ code: z.string(), zh: z.string(), en: z.string() }).nullable(),
});

/** Serves the model directory at /speech-models/ (no directory listing). Outside /api: a model is no citizen's data. */
export async function registerSpeechModels(app: FastifyInstance, config = speechBrowserConfigFromEnv()) {
  if (!config.modelDir) return;
  await app.register(fastifyStatic, {
    root: config.modelDir,
    prefix: SPEECH_MODELS_PREFIX,
    decorateReply: false,
    index: false,
    list: false,
    // Tens of megabytes: cached, revalidated by its ETag when the deployment replaces it.
    cacheControl: true,
    maxAge: '1d',
  });
}

/** `GET /speech/browser-model` inside the API scope: where the console's recognizer finds its model. */
export async function speechBrowserRoutes(app: FastifyInstance, opts: { config?: SpeechBrowserConfig }) {
  const config = opts.config ?? speechBrowserConfigFromEnv();
  app.withTypeProvider<ZodTypeProvider>().get('/speech/browser-model', {
    schema: { tags: ['speech'], summary: 'The browser speech engine\'s model for the console (浏览器端转写模型)', response: { 200: BrowserModelView, ...errorResponses } },
  }, async () => {
    const problem = browserModelProblem(config.modelDir, config.modelFile);
    return {
      configured: config.modelDir !== null,
      available: problem === null,
      url: config.modelDir ? `${SPEECH_MODELS_PREFIX}${config.modelFile}` : null,
      detail: problem,
    };
  });
}
