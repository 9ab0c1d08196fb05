import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it, expect, afterAll } from 'vitest';
import { createBullmqJobQueue, type JobNames } from '../../jobs';
import { eventually, quietLogger, sleep } from './redis';

/**
 * A Redis that restarts empty (no persistence, as in the compose file) forgets BullMQ's repeatable
 * jobs. The sweeps that fire reminders and send texts are such jobs: without this, they stopped until
 * the app nodes were restarted (found by `npm run load -- --fault drop-redis`: two reminders never
 * fired). Runs its own redis-server on a free port, so the shared one is never touched.
 */
type Jobs = { 'workorders.sweep': Record<string, never> };
const jobNames: JobNames<Jobs> = { 'workorders.sweep': true };

const haveRedisServer = spawnSync('redis-server', ['--version']).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function startRedis(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
}

async function stopRedis(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

describe.skipIf(!haveRedisServer)('BullMQ: repeatable jobs after Redis restarts empty', () => {
  let redis: ChildProcess | undefined;
  afterAll(async () => {
    if (redis) await stopRedis(redis);
  });

  it('declares the schedules again on reconnect, so the sweep keeps running', async () => {
    const port = await freePort();
    redis = startRedis(port);
    const url = `redis://127.0.0.1:${port}`;
    await sleep(300);
    const q = await createBullmqJobQueue<Jobs>({ redisUrl: url, prefix: 'restart-test', jobNames, logger: quietLogger });
    let runs = 0;
    q.register('workorders.sweep', async () => {
      runs++;
    });
    try {
      await q.schedule('workorders.sweep', { everyMs: 200 }, {});
      await q.start();
      await eventually(() => runs >= 2, 'the sweep to run before the restart', 10_000);

      // Redis dies and comes back with nothing in it.
      await stopRedis(redis);
      await sleep(500);
      redis = startRedis(port);
      const before = runs;
      await eventually(() => runs >= before + 2, 'the sweep to run again after Redis came back empty', 20_000);
      expect(runs).toBeGreaterThanOrEqual(before + 2);
    } finally {
      await q.stop();
    }
  }, 60_000);
});
