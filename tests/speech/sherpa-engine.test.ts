/**
 * The `sherpa` engine with the real sherpa-onnx-node addon (1.13, loaded in this process): its
 * LinearResampler takes 8 kHz telephone audio to the model's 16 kHz; a missing or incomplete model
 * directory is a clear AppError at `open` and in health, shown in /healthz and /speech/status (the
 * console's "no transcript: …"), never a crash of the native loader.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../app/config';
import { createSherpaSpeechEngine, findSherpaModel, loadSherpa, probeSherpaModel, toModelSamples } from '../../speech';
import { startTestApp, json, type TestApp } from '../helpers/app';

describe('sherpa-onnx engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sherpa-model-'));
  let t: TestApp | null = null;
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the native addon and resamples telephone audio to the model rate with it', () => {
    const sherpa = loadSherpa();
    expect(sherpa.version).toMatch(/^1\.13\./);
    const tone = Int16Array.from({ length: 1600 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 400 * i) / 8000)));
    const out = toModelSamples(tone, new sherpa.LinearResampler(8000, 16000));
    // 0.2 s at 16 kHz, less the few samples the filter holds back until the next chunk.
    expect(out.length).toBeGreaterThan(3200 - 32);
    expect(out.length).toBeLessThanOrEqual(3200);
    const peak = out.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(peak).toBeGreaterThan(0.2);
    expect(peak).toBeLessThanOrEqual(1);
  });

  it('names a missing directory and the files an incomplete one lacks', async () => {
    expect(() => findSherpaModel(null)).toThrow(expect.objectContaining({ code: 'SPEECH_MODEL_MISSING' }));
    expect(() => findSherpaModel(join(dir, 'nope'))).toThrow(expect.objectContaining({ code: 'SPEECH_MODEL_MISSING', messageZh: expect.stringContaining('模型目录不存在') }));
    writeFileSync(join(dir, 'tokens.txt'), '<blk> 0\n');
    writeFileSync(join(dir, 'decoder-epoch-99.onnx'), 'x');
    expect(() => findSherpaModel(dir)).toThrow(expect.objectContaining({ code: 'SPEECH_MODEL_INVALID', details: expect.objectContaining({ missing: ['encoder*.onnx'] }) }));
    writeFileSync(join(dir, 'encoder-epoch-99.onnx'), 'x');
    writeFileSync(join(dir, 'encoder-epoch-99.int8.onnx'), 'x');
    writeFileSync(join(dir, 'joiner-epoch-99.onnx'), 'x');
    expect(findSherpaModel(dir)).toMatchObject({ kind: 'transducer', encoder: join(dir, 'encoder-epoch-99.int8.onnx'), joiner: join(dir, 'joiner-epoch-99.onnx') });

    const engine = createSherpaSpeechEngine({ modelDir: join(dir, 'nope') });
    await expect(engine.open({ callId: 'c', party: 'caller', sampleRate: 8000, language: 'zh-CN' })).rejects.toMatchObject({ code: 'SPEECH_MODEL_MISSING', status: 503 });
    expect(await engine.health()).toMatchObject({ engine: 'sherpa', ok: false, detail: { code: 'SPEECH_MODEL_MISSING', zh: expect.stringContaining(join(dir, 'nope')) } });
  });

  it('refuses model files that are not ONNX models with SPEECH_MODEL_INVALID and the loader’s words, the process living on (the native abort stays in the probe process)', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'sherpa-bad-model-'));
    try {
      writeFileSync(join(bad, 'tokens.txt'), '<blk> 0\n');
      for (const f of ['encoder.onnx', 'decoder.onnx', 'joiner.onnx']) writeFileSync(join(bad, f), 'not a model');
      const engine = createSherpaSpeechEngine({ modelDir: bad });
      // Loaded in this process, such a file ends it (std::terminate from onnxruntime); here it is an error.
      await expect(engine.open({ callId: 'c', party: 'caller', sampleRate: 8000, language: 'zh-CN' })).rejects.toMatchObject({
        code: 'SPEECH_MODEL_INVALID', status: 503, message: expect.stringMatching(/Load model from .*\.onnx failed/), messageZh: expect.stringContaining('语音识别模型无法加载'),
      });
      expect(await engine.health()).toMatchObject({ engine: 'sherpa', ok: false, detail: { code: 'SPEECH_MODEL_INVALID', en: expect.stringContaining(bad) } });
      expect(await probeSherpaModel({ modelConfig: { tokens: join(bad, 'tokens.txt') } })).not.toBeNull();
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  }, 60_000);

  it('shows the missing model in /healthz and /speech/status', async () => {
    const base = testConfig();
    t = await startTestApp({ config: { speech: { ...base.speech, engine: 'sherpa', sherpa: { modelDir: join(dir, 'absent-model'), numThreads: 1 } } } });
    const health = json(await t.app.inject({ method: 'GET', url: '/healthz' }));
    expect(health.status).toBe('ok'); // the hotline still takes calls
    expect(health.speech).toMatchObject({ engine: 'sherpa', ok: false, detail: { code: 'SPEECH_MODEL_MISSING' } });
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/speech/status', headers: { cookie: await t.login('agent1') } });
    expect(json(res)).toMatchObject({ engine: 'sherpa', ok: false, detail: { code: 'SPEECH_MODEL_MISSING', en: expect.stringContaining('does not exist') } });
  }, 90_000); // a fresh app on MariaDB: 14 s alone, over 30 s on a loaded machine
});
