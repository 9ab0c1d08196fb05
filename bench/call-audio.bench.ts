import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';
import { createContext } from '../app/context';
import { buildServer } from '../app/server';
import { testConfig } from '../app/config';
import { importCityFromDir } from '../app/city-preset';
import { FixedClock, systemActor } from '../core';
import { createBrowserSpeechEngine, encodeAudioFrame } from '../speech/engines/browser';
import { benchDatabase, fmt, type BenchResult } from './harness';

/**
 * Call audio to the consoles (the `browser` speech engine): 20 ms frames of 8 kHz PCM written
 * through the engine (framing, the live feed's direct path, the app's WebSocket stack, its
 * backpressure) to `consoles` open consoles of one agent, as fast as backpressure lets, against a
 * bare `ws` server sending the same frames to the same number of sockets with the same
 * bufferedAmount check. One call is 100 frames a second to its agent (two parties): frames per
 * second / 100 is the calls one node's audio path carries, before the recognizers (in the browsers).
 */
const WATER_MARK = 64 * 1024;

function counter() {
  let n = 0;
  let waiter: { expected: number; resolve: () => void } | null = null;
  return {
    onFrame(isBinary: boolean) {
      if (!isBinary) return;
      n++;
      if (waiter && n >= waiter.expected) {
        const w = waiter;
        waiter = null;
        w.resolve();
      }
    },
    get count() {
      return n;
    },
    reached(expected: number, timeoutMs: number): Promise<void> {
      if (n >= expected) return Promise.resolve();
      return new Promise((resolve) => {
        const t = setTimeout(resolve, timeoutMs); // frames dropped under pressure never arrive
        waiter = { expected, resolve: () => (clearTimeout(t), resolve()) };
      });
    },
    reset() {
      n = 0;
    },
  };
}

async function open(url: string, headers: Record<string, string>, onFrame: (b: boolean) => void, waitHello: boolean): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (raw, isBinary) => {
      if (!isBinary && waitHello && JSON.parse(raw.toString()).type === 'synced') resolve();
      onFrame(isBinary);
    });
    if (!waitHello) ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

export async function benchCallAudio(opts: { consoles: number; frames: number }): Promise<BenchResult> {
  const pcm = Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin((i * 2 * Math.PI * 400) / 8000)));
  const c = counter();

  // ---- The engine over the real app's live feed.
  const database = await benchDatabase('sqlite');
  const ctx = await createContext(testConfig(), { database, clock: new FixedClock(new Date('2025-10-09T02:00:00Z')) });
  let engineResult: { framesPerSec: number; delivered: number; refusals: number };
  try {
    await importCityFromDir(ctx, 'cities/demo', { actor: systemActor('demo', 'bench') });
    const agent = (await ctx.identity.listUsers('demo')).find((u) => u.username === 'agent1')!;
    const cookie = `hotline_session=${(await ctx.identity.login('agent1', 'demo12345')).token}`;
    const app = await buildServer(ctx);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    try {
      const sockets: WebSocket[] = [];
      for (let i = 0; i < opts.consoles; i++) sockets.push(await open(`ws://127.0.0.1:${port}/api/v1/live`, { cookie }, c.onFrame, true));
      const engine = createBrowserSpeechEngine({
        agentOf: async () => ({ cityId: 'demo', userId: agent.id }),
        send: (cityId, userId, frame) => ctx.live.sendToUser(cityId, userId, frame),
        modelDir: null,
        highWaterBytes: WATER_MARK,
      });
      const run = async (frames: number) => {
        c.reset();
        const stream = await engine.open({ callId: 'bench-call', party: 'caller', sampleRate: 8000, language: 'zh-CN' });
        let drain: (() => void) | null = null;
        stream.onDrain(() => drain?.());
        let refusals = 0;
        const t0 = performance.now();
        for (let i = 0; i < frames; i++) {
          if (!stream.write(pcm)) {
            refusals++;
            await new Promise<void>((r) => (drain = r));
          }
        }
        await c.reached(frames * opts.consoles, 10_000);
        const ms = performance.now() - t0;
        await stream.end();
        return { framesPerSec: fmt((c.count / ms) * 1000, 0), delivered: c.count, refusals };
      };
      await run(Math.min(500, opts.frames)); // warm-up
      engineResult = await run(opts.frames);
      for (const s of sockets) s.terminate();
    } finally {
      await app.close();
    }
  } finally {
    await ctx.close();
    await database.dispose();
  }

  // ---- The baseline: a bare ws server sending the same frames, waiting on the same water mark.
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  const server: WebSocket[] = [];
  wss.on('connection', (ws) => server.push(ws));
  const port = (wss.address() as AddressInfo).port;
  const clients: WebSocket[] = [];
  for (let i = 0; i < opts.consoles; i++) clients.push(await open(`ws://127.0.0.1:${port}`, {}, c.onFrame, false));
  while (server.length < opts.consoles) await new Promise((r) => setTimeout(r, 5));
  const runRaw = async (frames: number) => {
    c.reset();
    const t0 = performance.now();
    for (let i = 0; i < frames; i++) {
      while (server.some((s) => s.bufferedAmount > WATER_MARK)) await new Promise((r) => setTimeout(r, 1));
      for (const s of server) s.send(encodeAudioFrame('bench-call', 'caller', i * 160, pcm), { binary: true });
      if (i % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    await c.reached(frames * opts.consoles, 10_000);
    return fmt((c.count / (performance.now() - t0)) * 1000, 0);
  };
  await runRaw(Math.min(500, opts.frames));
  const rawFramesPerSec = await runRaw(opts.frames);
  for (const s of clients) s.terminate();
  await new Promise((r) => wss.close(r));

  return {
    name: 'call audio to consoles (browser speech engine)',
    consoles: opts.consoles,
    frames: opts.frames,
    framesPerSec: engineResult.framesPerSec,
    delivered: engineResult.delivered,
    dropped: opts.frames * opts.consoles - engineResult.delivered,
    refusals: engineResult.refusals,
    // Deliveries a second over 100 frames a second per call (clients in the same process: a lower bound).
    callsPerNode: fmt(engineResult.framesPerSec / 100, 0),
    baselineFramesPerSec: rawFramesPerSec,
    ratio: fmt(engineResult.framesPerSec / rawFramesPerSec, 2),
  };
}

// `npx tsx bench/call-audio.bench.ts` runs this one alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  process.stdout.write(JSON.stringify(await benchCallAudio({ consoles: Math.max(1, Math.round(20 * scale)), frames: Math.max(100, Math.round(5000 * scale)) })) + '\n');
}
