/**
 * The `sherpa` engine: sherpa-onnx-node on this server (离线部署, no audio leaves the network), with a
 * streaming model (zipformer transducer or paraformer) from a directory in config. Models are 16 kHz:
 * 8 kHz telephone audio is resampled with sherpa's own LinearResampler. Decoding runs on the event
 * loop in small steps (setImmediate between chunks), so RTP keeps flowing; a stream whose audio waits
 * more than two seconds undecoded asks its writer to wait (backpressure).
 *
 * A missing or incomplete model directory is a clear AppError at `open` and in `health()` (shown in
 * /healthz and the console), never a crash of the native loader: a file that is not an ONNX model
 * makes onnxruntime throw a C++ exception sherpa-onnx-node does not catch (std::terminate: the whole
 * process aborts, every call with it), so the model is first loaded once in a throw-away child
 * process ({@link probeSherpaModel}) and only loaded here when that succeeded.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { AppError } from '../../core';
import type { AudioStreamInfo, RecognitionStream, SpeechEngine, SpeechEngineHealth, SpeechSegment } from '../ports';

type Sherpa = typeof import('sherpa-onnx-node');
type Segment = Omit<SpeechSegment, 'callId' | 'party'>;

export interface SherpaSpeechEngineOptions {
  /** A streaming model directory: tokens.txt and encoder/decoder(/joiner) .onnx files. */
  modelDir: string | null;
  numThreads?: number;
  /** Undecoded audio (ms) a stream may hold before `write` asks to wait; default 2000. */
  maxBacklogMs?: number;
}

const MODEL_RATE = 16000;

export interface SherpaModelFiles {
  kind: 'transducer' | 'paraformer';
  tokens: string;
  encoder: string;
  decoder: string;
  joiner?: string;
}

/** The model files in a directory (int8 preferred), or an AppError saying what is missing. */
export function findSherpaModel(dir: string | null): SherpaModelFiles {
  if (!dir) {
    throw new AppError('SPEECH_MODEL_MISSING', 503, 'SPEECH_ENGINE=sherpa needs SHERPA_MODEL_DIR (a streaming zipformer or paraformer model directory)', '未配置语音识别模型目录（SHERPA_MODEL_DIR）');
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AppError('SPEECH_MODEL_MISSING', 503, `speech model directory ${dir} does not exist`, `语音识别模型目录不存在：${dir}`, { dir });
  }
  const files = readdirSync(dir);
  const pick = (part: string) => {
    const all = files.filter((f) => f.endsWith('.onnx') && f.startsWith(part));
    return all.find((f) => f.includes('int8')) ?? all[0];
  };
  const tokens = files.includes('tokens.txt') ? 'tokens.txt' : undefined;
  const encoder = pick('encoder');
  const decoder = pick('decoder');
  const joiner = pick('joiner');
  const missing = [!tokens && 'tokens.txt', !encoder && 'encoder*.onnx', !decoder && 'decoder*.onnx'].filter(Boolean) as string[];
  if (missing.length) {
    throw new AppError('SPEECH_MODEL_INVALID', 503, `speech model directory ${dir} lacks ${missing.join(', ')}`, `语音识别模型不完整（${dir}），缺少：${missing.join('、')}`, { dir, missing });
  }
  return {
    kind: joiner ? 'transducer' : 'paraformer',
    tokens: join(dir, tokens!), encoder: join(dir, encoder!), decoder: join(dir, decoder!), ...(joiner ? { joiner: join(dir, joiner) } : {}),
  };
}

/** sherpa-onnx-node, loaded once (a native addon: a broken install is an AppError, not a crash at import). */
let sherpaModule: Sherpa | null = null;
export function loadSherpa(): Sherpa {
  if (sherpaModule) return sherpaModule;
  try {
    sherpaModule = createRequire(__filename)('sherpa-onnx-node') as Sherpa;
    return sherpaModule;
  } catch (err) {
    throw new AppError('SPEECH_ENGINE_UNAVAILABLE', 503, `sherpa-onnx-node cannot be loaded: ${(err as Error).message}`, `sherpa-onnx-node 无法加载：${(err as Error).message}`);
  }
}

/** 16-bit PCM as the float samples sherpa takes, resampled to the model's 16 kHz when needed. */
export function toModelSamples(pcm: Int16Array, resampler: InstanceType<Sherpa['LinearResampler']> | null): Float32Array {
  const f = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) f[i] = pcm[i] / 32768;
  return resampler ? resampler.resample(f) : f;
}

/**
 * Loads the model in a child process and says whether it loads: null when it does, else the loader's
 * own words (e.g. onnxruntime's "Load model from …/decoder.onnx failed: … does not have a graph").
 */
export function probeSherpaModel(config: Record<string, unknown>, timeoutMs = 120_000): Promise<string | null> {
  const addon = createRequire(__filename).resolve('sherpa-onnx-node');
  const script = `const s = require(${JSON.stringify(addon)}); new s.OnlineRecognizer(JSON.parse(process.argv[1]));`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script, JSON.stringify(config)], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, _out, stderr) => {
      if (!err) return resolve(null);
      const said = String(stderr).split('\n').map((l) => l.trim()).filter(Boolean);
      const what = said.find((l) => l.startsWith('what():'))?.slice(7).trim() ?? said.at(-1) ?? err.message;
      resolve(what.slice(0, 500));
    });
  });
}

export function createSherpaSpeechEngine(o: SherpaSpeechEngineOptions): SpeechEngine {
  let recognizer: InstanceType<Sherpa['OnlineRecognizer']> | null = null;
  let probed: Promise<string | null> | null = null;
  const maxBacklog = ((o.maxBacklogMs ?? 2000) * MODEL_RATE) / 1000;
  const open = new Set<RecognitionStream>();

  async function getRecognizer() {
    if (recognizer) return recognizer;
    const model = findSherpaModel(o.modelDir);
    const sherpa = loadSherpa();
    const modelConfig: Record<string, unknown> = { tokens: model.tokens, numThreads: o.numThreads ?? 1, provider: 'cpu', debug: 0 };
    if (model.kind === 'transducer') modelConfig.transducer = { encoder: model.encoder, decoder: model.decoder, joiner: model.joiner };
    else modelConfig.paraformer = { encoder: model.encoder, decoder: model.decoder };
    const config = {
      featConfig: { sampleRate: MODEL_RATE, featureDim: 80 },
      modelConfig,
      decodingMethod: 'greedy_search',
      enableEndpoint: 1,
      rule1MinTrailingSilence: 2.4,
      rule2MinTrailingSilence: 1.2,
      rule3MinUtteranceLength: 20,
    };
    const invalid = (why: string) =>
      new AppError('SPEECH_MODEL_INVALID', 503, `sherpa-onnx could not load the model in ${o.modelDir}: ${why}`, `语音识别模型无法加载（${o.modelDir}）：${why}`, { dir: o.modelDir });
    // Once per engine; a failed probe is asked again next time (the deployment may have fixed the files).
    const p = (probed ??= probeSherpaModel(config));
    const why = await p;
    if (why !== null) {
      if (probed === p) probed = null;
      throw invalid(why);
    }
    if (recognizer) return recognizer;
    try {
      recognizer = new sherpa.OnlineRecognizer(config);
    } catch (err) {
      throw invalid((err as Error).message);
    }
    return recognizer;
  }

  return {
    kind: 'sherpa',
    async open(info: AudioStreamInfo): Promise<RecognitionStream> {
      const rec = await getRecognizer();
      const sherpa = loadSherpa();
      const stream = rec.createStream();
      const resampler = info.sampleRate === MODEL_RATE ? null : new sherpa.LinearResampler(info.sampleRate, MODEL_RATE);
      const drainL: (() => void)[] = [];
      const segL: ((s: Segment) => void)[] = [];
      const errL: ((e: Error) => void)[] = [];
      let fed = 0; // model-rate samples given to sherpa
      let decodedTo = 0; // model-rate samples decoded
      let scheduled = false;
      let waiting = false;
      let closed = false;
      let seq = 0;
      let segStart = 0;
      let lastText = '';
      let finishing: (() => void) | null = null;
      const ms = (samples: number) => Math.round((samples * 1000) / MODEL_RATE);

      const emit = (final: boolean) => {
        const text = rec.getResult(stream).text.trim();
        if (!final && text === lastText) return;
        lastText = text;
        if (text) for (const l of segL) l({ seq, text, final, startMs: ms(segStart), endMs: ms(decodedTo), confidence: null });
        if (final) {
          if (text) seq++;
          rec.reset(stream);
          segStart = decodedTo;
          lastText = '';
        }
      };

      const step = () => {
        scheduled = false;
        if (closed) return;
        try {
          // A few decode steps per turn of the event loop: RTP and HTTP stay responsive.
          for (let i = 0; i < 8 && rec.isReady(stream); i++) rec.decode(stream);
          decodedTo = rec.isReady(stream) ? decodedTo : fed;
          emit(false);
          if (rec.isEndpoint(stream)) emit(true);
          if (rec.isReady(stream)) schedule();
          else {
            if (waiting) {
              waiting = false;
              for (const l of drainL) l();
            }
            if (finishing) {
              emit(true);
              const f = finishing;
              finishing = null;
              f();
            }
          }
        } catch (err) {
          for (const l of errL) l(err as Error);
        }
      };
      const schedule = () => {
        if (!scheduled) {
          scheduled = true;
          setImmediate(step);
        }
      };

      const rs: RecognitionStream = {
        write(pcm) {
          if (closed) return true;
          const samples = toModelSamples(pcm, resampler);
          stream.acceptWaveform({ samples, sampleRate: MODEL_RATE });
          fed += samples.length;
          schedule();
          if (fed - decodedTo > maxBacklog) waiting = true;
          return !waiting;
        },
        onDrain: (l) => void drainL.push(l),
        onSegment: (l) => void segL.push(l),
        onError: (l) => void errL.push(l),
        end() {
          if (closed) return Promise.resolve();
          // Trailing silence lets the model close the last word.
          stream.acceptWaveform({ samples: new Float32Array(MODEL_RATE / 2), sampleRate: MODEL_RATE });
          stream.inputFinished();
          return new Promise<void>((resolve) => {
            finishing = () => {
              closed = true;
              open.delete(rs);
              resolve();
            };
            schedule();
          });
        },
        abort() {
          closed = true;
          open.delete(rs);
        },
      };
      open.add(rs);
      return rs;
    },
    async health(): Promise<SpeechEngineHealth> {
      try {
        findSherpaModel(o.modelDir);
        const s = loadSherpa();
        if (!recognizer) await getRecognizer();
        return { engine: 'sherpa', ok: true, detail: { code: 'SPEECH_ENGINE_READY', zh: `sherpa-onnx ${s.version} 已加载模型`, en: `sherpa-onnx ${s.version}, model loaded` } };
      } catch (err) {
        const e = err as AppError;
        return { engine: 'sherpa', ok: false, detail: { code: e.code ?? 'SPEECH_ENGINE_UNAVAILABLE', zh: e.messageZh ?? e.message, en: e.message } };
      }
    },
    async close() {
      for (const s of [...open]) s.abort();
    },
  };
}
