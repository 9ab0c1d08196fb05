/** SPEECH_* and AWS settings are validated at start: a bad combination stops the process with what to set. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config';

const env = (e: Record<string, string>) => ({ LOG_LEVEL: 'silent', ...e }) as NodeJS.ProcessEnv;

describe('speech configuration', () => {
  it('defaults to no engine', () => {
    expect(loadConfig(env({})).speech).toMatchObject({ engine: 'none', language: 'zh-CN', maxQueuedFrames: 500, aws: { region: null, credentials: null }, sherpa: { modelDir: null } });
  });

  it('takes aws with region, endpoint and both keys', () => {
    const c = loadConfig(env({ SPEECH_ENGINE: 'aws', AWS_REGION: 'cn-north-1', TRANSCRIBE_ENDPOINT: 'https://transcribe.vpce.example.cn', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE000001', AWS_SECRET_ACCESS_KEY: 'secret-secret-secret' }));
    expect(c.speech).toMatchObject({ engine: 'aws', aws: { region: 'cn-north-1', endpoint: 'https://transcribe.vpce.example.cn', credentials: { accessKeyId: 'AKIAEXAMPLE000001' } } });
    // Keys may be left to the default chain (instance role); empty values count as unset.
    expect(loadConfig(env({ SPEECH_ENGINE: 'aws', AWS_REGION: 'ap-east-1', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' })).speech.aws.credentials).toBeNull();
  });

  it('refuses aws without a region, half a key pair, a bad region or endpoint, sherpa without a model, an unknown engine', () => {
    expect(() => loadConfig(env({ SPEECH_ENGINE: 'aws' }))).toThrow(/AWS_REGION: SPEECH_ENGINE=aws: set AWS_REGION/);
    expect(() => loadConfig(env({ SPEECH_ENGINE: 'aws', AWS_REGION: 'cn-north-1', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE000001' }))).toThrow(/set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    expect(() => loadConfig(env({ SPEECH_ENGINE: 'aws', AWS_REGION: 'China North' }))).toThrow(/AWS_REGION: an AWS region/);
    expect(() => loadConfig(env({ SPEECH_ENGINE: 'aws', AWS_REGION: 'cn-north-1', TRANSCRIBE_ENDPOINT: 'not a url' }))).toThrow(/TRANSCRIBE_ENDPOINT/);
    expect(() => loadConfig(env({ SPEECH_ENGINE: 'sherpa' }))).toThrow(/SHERPA_MODEL_DIR: SPEECH_ENGINE=sherpa: set SHERPA_MODEL_DIR/);
    expect(() => loadConfig(env({ SPEECH_ENGINE: 'whisper' }))).toThrow(/SPEECH_ENGINE/);
    expect(() => loadConfig(env({ SPEECH_MAX_QUEUED_FRAMES: '5' }))).toThrow(/SPEECH_MAX_QUEUED_FRAMES/);
  });

  it('takes sherpa with a model directory and browser as is', () => {
    expect(loadConfig(env({ SPEECH_ENGINE: 'sherpa', SHERPA_MODEL_DIR: '/models/zipformer-zh', SHERPA_NUM_THREADS: '2' })).speech.sherpa).toEqual({ modelDir: '/models/zipformer-zh', numThreads: 2 });
    expect(loadConfig(env({ SPEECH_ENGINE: 'browser' })).speech.engine).toBe('browser');
  });
});
