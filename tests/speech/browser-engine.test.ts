/**
 * The `browser` speech engine's server piece: a party's PCM reaches the console of the agent the call
 * is offered to, and nobody else, as direct live messages that are never stored (live_events is
 * durable), are not queued for an agent who is not connected, respect the socket's backlog, and
 * cross nodes through Redis. The model directory: its health, the console's look-up, the file served,
 * the configuration checked. Real app, real database, real WebSockets, real Redis (skipped when none).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { TEST_REDIS_URL, deleteKeysUnder, redisSkipReason, uniquePrefix } from '../jobs/redis';
import { demoIds, listen, LiveClient, sleep, type DemoIds } from '../live/live-client';
import { createContext, type AppContext } from '../../app/context';
import { buildServer } from '../../app/server';
import { testConfig } from '../../app/config';
import { openDatabase, type Database } from '../../db';
import { decodeDirect, encodeDirect } from '../../live';
import { browserSpeechEngineOf, speechBrowserConfigFromEnv, type SpeechBrowserConfig } from '../../app/speech-browser';
import { createBrowserSpeechEngine, decodeAudioFrame, encodeAudioFrame, HANDOVER_SEQ_STEP } from '../../speech/engines/browser';
import type { AudioStreamInfo } from '../../speech/ports';

const modelDir = mkdtempSync(join(tmpdir(), 'speech-models-'));
process.env.SPEECH_BROWSER_MODEL_DIR = modelDir;
const config: SpeechBrowserConfig = { modelDir, modelFile: 'model.tar.gz' };

let t: TestApp;
let base: string;
let ids: DemoIds;
let gatewayKey: string;
const clients: LiveClient[] = [];

const connect = async (b: string, username: string) => {
  const c = await LiveClient.ready(b, { cookie: await t.login(username) });
  clients.push(c);
  return c;
};
const offer = async (callId: string, agentUsername: string) => {
  const res = await t.app.inject({
    method: 'POST', url: '/api/v1/calls/events', headers: { 'x-api-key': gatewayKey },
    payload: { type: 'offered', callId, callerPhone: '13812345678', dialledNumber: '12345', agentUsername },
  });
  expect(res.statusCode).toBe(200);
};
const info = (callId: string, party: AudioStreamInfo['party'] = 'caller'): AudioStreamInfo => ({ callId, party, sampleRate: 8000, language: 'zh-CN' });
/** 20 ms of a 400 Hz tone at 8 kHz, so every frame's samples differ. */
const tone = (from: number, n = 160) => Int16Array.from({ length: n }, (_, i) => Math.round(8000 * Math.sin(((from + i) * 2 * Math.PI * 400) / 8000)));
const liveRows = async () => Number((await t.ctx.database.db.selectFrom('live_events').select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

beforeAll(async () => {
  t = await startTestApp();
  base = await listen(t.app);
  ids = await demoIds(t, ['agent1', 'agent2', 'admin']);
  const res = await t.app.inject({
    method: 'POST', url: '/api/v1/api-keys', headers: { cookie: await t.login('admin') }, payload: { name: 'telephony gateway', role: 'agent', scopes: ['calls:write'] },
  });
  gatewayKey = res.json().key;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t?.close();
});

describe('the audio frame', () => {
  it('round-trips call id, party, first sample and PCM, with the PCM at an even offset', () => {
    for (const callId of ['a', 'ab', '01JABCDEFGHJKMNPQRSTVWXYZ0', '通话-7']) {
      const pcm = tone(0, 7);
      const f = encodeAudioFrame(callId, 'agent', 4_000_000_000, pcm);
      const head = f.length - pcm.length * 2;
      expect(head % 2).toBe(0);
      expect(new Int16Array(f.buffer.slice(head))).toEqual(pcm);
      expect(decodeAudioFrame(f)).toEqual({ callId, party: 'agent', firstSample: 4_000_000_000, pcm });
    }
    expect(decodeAudioFrame(Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0))).toBeNull();
  });

  it('crosses Redis binary-safe, text or bytes', () => {
    const bytes = encodeAudioFrame('c1', 'caller', 0, tone(0));
    expect(decodeDirect(encodeDirect({ origin: 'n1', cityId: 'demo', userId: 'u1', frame: bytes }))).toEqual({ origin: 'n1', cityId: 'demo', userId: 'u1', frame: bytes });
    expect(decodeDirect(encodeDirect({ origin: 'n1', cityId: 'demo', userId: 'u1', frame: '{"type":"x"}' }))).toEqual({ origin: 'n1', cityId: 'demo', userId: 'u1', frame: '{"type":"x"}' });
    expect(decodeDirect(Buffer.from([9, 1, 2]))).toBeNull();
  });
});

describe('streaming a party to the agent', () => {
  it("sends start, the PCM frames in order and end to the offered agent's console only, and stores nothing", async () => {
    const [agent1, agent2] = [await connect(base, 'agent1'), await connect(base, 'agent2')];
    await offer('sp-call-1', 'agent1');
    await agent1.waitFor((m) => m.type === 'call.offered', 'call.offered');
    const before = await liveRows();
    const engine = browserSpeechEngineOf({ live: t.ctx.live, calls: t.ctx.calls, cityOfCalls: async () => 'demo' }, config);
    const stream = await engine.open(info('sp-call-1'));
    const sent = [tone(0), tone(160), tone(320)];
    for (const pcm of sent) expect(stream.write(pcm)).toBe(true);
    await stream.end();
    await agent1.waitFor((m) => m.type === 'call.audio.end', 'call.audio.end');
    const frames = (await agent1.waitForBinary(3)).map((b) => decodeAudioFrame(b)!);
    expect(frames.map((f) => [f.callId, f.party, f.firstSample])).toEqual([['sp-call-1', 'caller', 0], ['sp-call-1', 'caller', 160], ['sp-call-1', 'caller', 320]]);
    expect(frames.map((f) => f.pcm)).toEqual(sent);
    expect(agent1.messages.find((m) => m.type === 'call.audio.start')).toEqual({ type: 'call.audio.start', callId: 'sp-call-1', party: 'caller', sampleRate: 8000, language: 'zh-CN' });
    // No number: a direct message is not an event and is never caught up.
    expect(agent1.messages.filter((m) => String(m.type).startsWith('call.audio')).every((m) => m.seq === undefined)).toBe(true);
    await sleep(100);
    expect(agent2.binary).toHaveLength(0);
    expect(agent2.messages.some((m) => String(m.type).startsWith('call.audio'))).toBe(false);
    expect(await liveRows()).toBe(before);
    await Promise.all([agent1.close(), agent2.close()]);
  });

  it('queues nothing for an agent with no console open: a console opened later gets no old audio', async () => {
    await offer('sp-call-2', 'agent2');
    const stream = await browserSpeechEngineOf({ live: t.ctx.live, calls: t.ctx.calls, cityOfCalls: async () => 'demo' }, config).open(info('sp-call-2', 'agent'));
    expect(stream.write(tone(0))).toBe(true);
    const r = await t.ctx.live.sendToUser('demo', ids.user.agent2, encodeAudioFrame('sp-call-2', 'agent', 160, tone(160)));
    expect(r).toEqual({ sent: 0, dropped: 0, bufferedBytes: 0 });
    const later = await connect(base, 'agent2');
    expect(stream.write(tone(320))).toBe(true);
    await later.waitForBinary(1);
    await sleep(100);
    // The stream counts its own samples: its second write starts at 160.
    expect(later.binary.map((b) => decodeAudioFrame(b)!.firstSample)).toEqual([160]);
    await stream.end();
    await later.close();
  });

  it('follows a call re-offered to another agent (the first did not answer): the first console’s audio ends, the new one’s starts with the sample index running on and a seq base of its own', async () => {
    const [agent1, agent2] = [await connect(base, 'agent1'), await connect(base, 'agent2')];
    await offer('sp-call-4', 'agent1');
    await agent1.waitFor((m) => m.type === 'call.offered' && m.data?.call?.callId === 'sp-call-4', 'the offer to agent1');
    // Asked again at every write (production: every second), as the app wires it.
    const engine = browserSpeechEngineOf({ live: t.ctx.live, calls: t.ctx.calls, cityOfCalls: async () => 'demo', agentRecheckMs: 0 }, config);
    const stream = await engine.open(info('sp-call-4'));
    expect(stream.write(tone(0))).toBe(true);
    await agent1.waitForBinary(1);

    // Ringing timed out at agent1; the ACD re-offers the call to agent2 (the calls part withdraws agent1's pop-up).
    await offer('sp-call-4', 'agent2');
    await agent1.waitFor((m) => m.type === 'call.withdrawn', 'the pop-up withdrawn from agent1');
    let n = 160;
    // The call goes on: frames keep coming until the stream has looked up the call's agent again.
    for (const deadline = Date.now() + 10_000; !agent2.binary.length && Date.now() < deadline;) {
      stream.write(tone(n));
      n += 160;
      await sleep(10);
    }
    await agent2.waitForBinary(1);
    // agent1's console was told its stream is over, and got no frame after that.
    const end1 = agent1.messages.find((m) => m.type === 'call.audio.end' && m.callId === 'sp-call-4');
    expect(end1).toEqual({ type: 'call.audio.end', callId: 'sp-call-4', party: 'caller', aborted: true });
    const framesAtAgent1 = agent1.binary.length;
    expect(agent2.messages.find((m) => m.type === 'call.audio.start')).toEqual({
      type: 'call.audio.start', callId: 'sp-call-4', party: 'caller', sampleRate: 8000, language: 'zh-CN', seqBase: HANDOVER_SEQ_STEP,
    });
    for (let i = 0; i < 3; i++) {
      stream.write(tone(n));
      n += 160;
    }
    await stream.end();
    await agent2.waitFor((m) => m.type === 'call.audio.end', 'the end at agent2');
    const at2 = agent2.binary.map((b) => decodeAudioFrame(b)!);
    // The sample index runs on across the hand-over: agent2's times stay on the stream's axis.
    expect(at2[0].firstSample).toBeGreaterThan(0);
    expect(at2.map((f) => f.firstSample)).toEqual(at2.map((_, i) => at2[0].firstSample + i * 160));
    expect(at2.at(-1)!.firstSample).toBe(n - 160);
    expect(agent1.binary.length).toBe(framesAtAgent1);
    const at1 = agent1.binary.map((b) => decodeAudioFrame(b)!);
    expect(Math.max(...at1.map((f) => f.firstSample))).toBeLessThan(at2[0].firstSample);
    await Promise.all([agent1.close(), agent2.close()]);
  });

  it('refuses a call no agent has, with a clear error', async () => {
    await expect(browserSpeechEngineOf({ live: t.ctx.live, calls: t.ctx.calls, cityOfCalls: async () => 'demo' }, config).open(info('sp-nobody'))).rejects.toMatchObject({ code: 'SPEECH_NO_AGENT', messageZh: expect.stringContaining('尚未分配坐席') });
  });

  it('asks the writer to wait while the agent\'s socket is behind, drops what the socket cannot take, and drains once it reads again', async () => {
    await offer('sp-call-3', 'agent1');
    const agent1 = await connect(base, 'agent1');
    const engine = createBrowserSpeechEngine({
      agentOf: async () => ({ cityId: 'demo', userId: ids.user.agent1 }),
      send: (c, u, f) => t.ctx.live.sendToUser(c, u, f),
      modelDir: null,
      highWaterBytes: 64 * 1024,
    });
    const stream = await engine.open({ callId: 'sp-call-3', party: 'caller', sampleRate: 16000, language: 'zh-CN' });
    let drained = 0;
    stream.onDrain(() => drained++);
    // The console stops reading: the kernel buffers fill, then the socket's own buffer.
    (agent1.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const big = new Int16Array(16_000); // 1 s at 16 kHz: 32 kB a frame
    let refused = 0;
    let written = 0;
    for (let i = 0; i < 2000 && refused === 0; i++) {
      written++;
      if (!stream.write(big)) refused++;
      await new Promise((r) => setImmediate(r));
    }
    expect(refused).toBe(1);
    // A sender that does not wait: past the socket's direct limit frames are dropped, not queued.
    let r = { sent: 0, dropped: 0, bufferedBytes: 0 };
    for (let i = 0; i < 2000 && r.dropped === 0; i++) {
      r = await t.ctx.live.sendToUser('demo', ids.user.agent1, encodeAudioFrame('sp-call-3', 'caller', 0, big));
      written++;
      await new Promise((res) => setImmediate(res));
    }
    expect(r).toMatchObject({ sent: 0, dropped: 1 });
    expect(r.bufferedBytes).toBeGreaterThan(256 * 1024);
    expect(r.bufferedBytes).toBeLessThan(256 * 1024 + 2 * 32_768);
    (agent1.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const deadline = Date.now() + 5000;
    while (drained === 0 && Date.now() < deadline) await sleep(10);
    expect(drained).toBe(1);
    expect(stream.write(new Int16Array(160))).toBe(true);
    await stream.end();
    expect(agent1.binary.length).toBeLessThan(written + 2);
    await agent1.close();
  });
});

describe('the model', () => {
  it('is reported missing, by path, until the archive is in the directory; then served to the console', async () => {
    const engine = browserSpeechEngineOf({ live: t.ctx.live, calls: t.ctx.calls, cityOfCalls: async () => 'demo' }, config);
    expect(await engine.health()).toEqual({
      engine: 'browser', ok: false,
      detail: { code: 'SPEECH_BROWSER_MODEL_MISSING', zh: expect.stringContaining(join(modelDir, 'model.tar.gz')), en: expect.stringContaining('missing') },
    });
    const cookie = await t.login('agent1');
    let res = await t.app.inject({ method: 'GET', url: '/api/v1/speech/browser-model', headers: { cookie } });
    expect(res.json()).toMatchObject({ configured: true, available: false, url: '/speech-models/model.tar.gz', detail: { code: 'SPEECH_BROWSER_MODEL_MISSING' } });
    expect((await t.app.inject({ method: 'GET', url: '/speech-models/model.tar.gz' })).statusCode).toBe(404);

    writeFileSync(join(modelDir, 'model.tar.gz'), Buffer.from('not really a model'));
    expect(await engine.health()).toEqual({ engine: 'browser', ok: true });
    res = await t.app.inject({ method: 'GET', url: '/api/v1/speech/browser-model', headers: { cookie } });
    expect(res.json()).toEqual({ configured: true, available: true, url: '/speech-models/model.tar.gz', detail: null });
    const file = await t.app.inject({ method: 'GET', url: '/speech-models/model.tar.gz' });
    expect(file.statusCode).toBe(200);
    expect(file.body).toBe('not really a model');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/speech/browser-model' })).statusCode).toBe(401);
  });

  it("serves vosk-browser's worker from our origin under a policy of its own; the console page keeps no eval", async () => {
    const worker = await t.app.inject({ method: 'GET', url: '/speech-worker/vosk-worker.js' });
    expect(worker.statusCode).toBe(200);
    expect(worker.headers['content-type']).toContain('application/javascript');
    expect(worker.headers['content-security-policy']).toBe("default-src 'none'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; connect-src 'self'");
    expect(worker.body).toContain('RecognizerWorker');
    expect(worker.body.length).toBeGreaterThan(1_000_000); // the WebAssembly Kaldi runtime is in it
    const page = await t.app.inject({ method: 'GET', url: '/agent' });
    const csp = String(page.headers['content-security-policy'] ?? '');
    if (csp) expect(csp).not.toContain('unsafe-eval');
  });

  it('says plainly when no directory is configured, and refuses a malformed file name', async () => {
    const none = createBrowserSpeechEngine({ agentOf: async () => null, send: async () => ({ sent: 0, dropped: 0, bufferedBytes: 0 }), modelDir: null });
    expect(await none.health()).toMatchObject({ ok: false, detail: { code: 'SPEECH_BROWSER_MODEL_DIR_UNSET', zh: expect.stringContaining('SPEECH_BROWSER_MODEL_DIR') } });
    expect(speechBrowserConfigFromEnv({})).toEqual({ modelDir: null, modelFile: 'model.tar.gz' });
    expect(speechBrowserConfigFromEnv({ SPEECH_BROWSER_MODEL_DIR: '/srv/m', SPEECH_BROWSER_MODEL_FILE: 'vosk-cn-0.22.tgz' })).toEqual({ modelDir: '/srv/m', modelFile: 'vosk-cn-0.22.tgz' });
    expect(() => speechBrowserConfigFromEnv({ SPEECH_BROWSER_MODEL_DIR: '/srv/m', SPEECH_BROWSER_MODEL_FILE: '../etc/passwd' })).toThrow(/SPEECH_BROWSER_MODEL_FILE/);
  });
});

const skip = await redisSkipReason('speech browser-engine two nodes');

describe.skipIf(skip !== null)('two nodes on one Redis', () => {
  const prefix = uniquePrefix();
  let a: TestApp;
  let b: { ctx: AppContext; app: FastifyInstance; database: Database };
  let baseA: string;
  let baseB: string;

  beforeAll(async () => {
    const cfg = { redisUrl: TEST_REDIS_URL, redisPrefix: prefix };
    a = await startTestApp({ config: cfg });
    baseA = await listen(a.app);
    const database: Database = testDialect === 'mysql' ? await openDatabase(a.database.url, { poolSize: 5 }) : { ...a.database, close: async () => {} };
    const ctx = await createContext(testConfig(cfg), { database, clock: a.ctx.clock });
    const app = await buildServer(ctx);
    await app.ready();
    baseB = await listen(app);
    b = { ctx, app, database };
  });

  afterAll(async () => {
    if (b) {
      await b.app.close();
      await b.ctx.close();
    }
    if (a) {
      await a.ctx.live.close();
      await a.ctx.jobs.stop();
      await a.ctx.identity.close();
      await a.close();
    }
    await deleteKeysUnder(prefix);
  });

  it("carries the audio to the agent's console on the other node, once, and to the sender's own node once", async () => {
    const login = async (app: TestApp, u: string) => a.login(u);
    const onB = await LiveClient.ready(baseB, { cookie: await login(a, 'agent1') });
    const onA = await LiveClient.ready(baseA, { cookie: await login(a, 'agent1') });
    clients.push(onA, onB);
    const agent1 = (await a.ctx.identity.listUsers('demo')).find((u) => u.username === 'agent1')!.id;
    const frame = encodeAudioFrame('sp-two', 'caller', 0, tone(0));
    await a.ctx.live.sendToUser('demo', agent1, frame);
    await a.ctx.live.sendToUser('demo', agent1, JSON.stringify({ type: 'call.audio.end', callId: 'sp-two', party: 'caller' }));
    await onB.waitFor((m) => m.type === 'call.audio.end', 'end on node B');
    await onA.waitFor((m) => m.type === 'call.audio.end', 'end on node A');
    await sleep(150);
    for (const c of [onA, onB]) {
      expect(c.binary.map((x) => decodeAudioFrame(x)!.pcm)).toEqual([tone(0)]);
      expect(c.messages.filter((m) => m.type === 'call.audio.end')).toHaveLength(1);
    }
    await Promise.all([onA.close(), onB.close()]);
  });
});
