/**
 * Wiring of the `browser` speech engine (浏览器端转写): its configuration, the model directory
 * served at /speech-models/ for the console's vosk-browser worker, the console's model look-up
 * (`GET /api/v1/speech/browser-model`) and the engine itself over the live feed. The speech service
 * (SPEECH_ENGINE=browser) takes the engine from {@link browserSpeechEngineOf}. See docs/speech-console.md.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../core/http';
import type { LiveService } from '../live';
import type { CallService } from '../calls';
import { browserModelProblem, createBrowserSpeechEngine, type SpeechEngine } from '../speech';

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
 * The `browser` engine over this node's live feed (SPEECH_ENGINE=browser): the call's audio goes to
 * the console of the agent the calls part says it is offered to now (asked again while it streams:
 * a call re-offered after no answer follows its new agent), in the city this node's edge serves.
 */
export function browserSpeechEngineOf(
  ctx: { live: LiveService; calls: Pick<CallService, 'callFacts'>; cityOfCalls: () => Promise<string | null>; agentRecheckMs?: number },
  config = speechBrowserConfigFromEnv(),
): SpeechEngine {
  return createBrowserSpeechEngine({
    async agentOf(callId) {
      const cityId = await ctx.cityOfCalls();
      const facts = cityId ? await ctx.calls.callFacts(cityId, callId) : null;
      return cityId && facts?.agentUserId ? { cityId, userId: facts.agentUserId } : null;
    },
    send: (cityId, userId, frame) => ctx.live.sendToUser(cityId, userId, frame),
    modelDir: config.modelDir,
    modelFile: config.modelFile,
    agentRecheckMs: ctx.agentRecheckMs,
  });
}

const BrowserModelView = z.object({
  configured: z.boolean().describe('SPEECH_BROWSER_MODEL_DIR is set'),
  available: z.boolean().describe('the model archive is in it'),
  url: z.string().nullable().describe('where the console loads it from (same origin)'),
  detail: z.object({ code: z.string(), zh: z.string(), en: z.string() }).nullable(),
});

/** Where the console starts vosk-browser's recognizer worker. */
export const SPEECH_WORKER_PATH = '/speech-worker/vosk-worker.js';

/**
 * The recognizer worker's own policy. Its Kaldi runtime (Emscripten + embind) builds functions
 * from strings and compiles WebAssembly: allowed here, in the worker only. The console page keeps
 * its strict policy (no eval): a worker loaded from a URL runs under the policy of its own response.
 */
const WORKER_CSP = "default-src 'none'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; connect-src 'self'";

let workerSource: string | null = null;
/**
 * vosk-browser's worker, as the installed package ships it: its bundle carries the worker as a
 * base64 string and starts it from a blob: URL, which would run under the page's policy (no eval).
 * Served from our origin instead, the worker gets {@link WORKER_CSP}. Read once.
 */
export function voskWorkerSource(): string {
  if (workerSource) return workerSource;
  const bundle = readFileSync(createRequire(import.meta.url).resolve('vosk-browser/dist/vosk.js'), 'utf8');
  const m = bundle.match(/createBase64WorkerFactory\('([A-Za-z0-9+/=]+)'/);
  if (!m) throw new Error('speech: the installed vosk-browser has no embedded worker (the package changed: check its version)');
  const source = Buffer.from(m[1], 'base64').toString('utf8');
  // The package drops the first line (a bundler comment) the same way.
  workerSource = source.slice(source.indexOf('\n', 10) + 1);
  return workerSource;
}

/**
 * Serves the model directory at /speech-models/ (no directory listing) and vosk-browser's worker at
 * {@link SPEECH_WORKER_PATH}. Outside /api: neither holds a citizen's data.
 */
export async function registerSpeechModels(app: FastifyInstance, config = speechBrowserConfigFromEnv()) {
  app.get(SPEECH_WORKER_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('application/javascript; charset=utf-8')
      .header('content-security-policy', WORKER_CSP)
      .header('cache-control', 'public, max-age=86400')
      .send(voskWorkerSource()),
  );
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
