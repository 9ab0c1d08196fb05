import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createBuiltinSipEdge, type SipEdge } from '../telephony';
import { freeUdpPort, runSipp, sipPeersMissing, SIPP, type SippResult } from '../tests/helpers/sip-peers';
import { fmt, timeIt, type BenchResult } from './harness';

/** sipp `-sn uas` answering on a free port: the baseline peer (sipp to sipp on the same machine). */
async function startSippUas(): Promise<{ target: string; stop(): Promise<void> }> {
  const port = await freeUdpPort();
  const dir = mkdtempSync(join(tmpdir(), 'sipp-uas-'));
  const child = spawn(SIPP, ['-sn', 'uas', '-i', '127.0.0.1', '-p', String(port), '-nostdin'], { cwd: dir, stdio: 'ignore' });
  // sipp binds synchronously at start; one short wait for the process to be up is enough here.
  await new Promise((r) => setTimeout(r, 300));
  return {
    target: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => { rmSync(dir, { recursive: true, force: true }); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}

async function startEdge(dir: string): Promise<{ edge: SipEdge & { sipPort: number }; target: string; peak: () => number; resetPeak: () => void }> {
  const edge = createBuiltinSipEdge({
    host: '127.0.0.1', port: 0, logger: pino({ level: 'error' }), credentials: { ha1: async () => null },
    recordingsDir: join(dir, 'rec'), rtpPorts: { min: 20000, max: 29999 }, mediaTimeoutMs: 0,
    // A benchmark is a flood from one source by design.
    inviteRatePerSecond: 1_000_000, inviteBurst: 1_000_000,
  }) as SipEdge & { sipPort: number };
  let active = 0;
  let peak = 0;
  await edge.start((e) => {
    if (e.type === 'call.offered') void edge.answer(e.call.callId);
    else if (e.type === 'call.answered') peak = Math.max(peak, ++active);
    else if (e.type === 'call.ended') active--;
  });
  return { edge, target: `127.0.0.1:${edge.sipPort}`, peak: () => peak, resetPeak: () => { peak = active; } };
}

async function timedSipp(target: string, o: { calls: number; rate: number; limit: number; holdMs: number }): Promise<{ ms: number; r: SippResult }> {
  let r!: SippResult;
  const ms = await timeIt(async () => {
    r = await runSipp({ scenario: { builtin: 'uac' }, target, calls: o.calls, rate: o.rate, limit: o.limit, args: ['-d', String(o.holdMs)], timeoutSeconds: 120 }).done;
  });
  return { ms, r };
}

/**
 * Calls through the built-in SIP edge, against sipp calling sipp (`-sn uas`) on the same machine:
 * - setups: `calls` short calls (INVITE → 100 → 200 with our SDP and an RTP port → ACK → BYE → 200,
 *   the call's events and its recording file) at up to `rate` per second, as completed calls per second;
 * - concurrency: `concurrent` calls held for `holdMs` at once (each with an RTP socket and an open
 *   recording), all answered before the first hangs up; reports the peak held and the failures.
 */
export async function benchTelephony(o: { calls: number; rate: number; concurrent: number; holdMs: number }): Promise<BenchResult> {
  const missing = sipPeersMissing();
  if (missing) return { name: 'telephony.builtin_edge', skipped: missing };
  const dir = mkdtempSync(join(tmpdir(), 'bench-edge-'));
  const uas = await startSippUas();
  const ours = await startEdge(dir);
  try {
    const baseSetup = await timedSipp(uas.target, { calls: o.calls, rate: o.rate, limit: o.rate, holdMs: 0 });
    const ourSetup = await timedSipp(ours.target, { calls: o.calls, rate: o.rate, limit: o.rate, holdMs: 0 });
    const long = { calls: o.concurrent, rate: Math.max(o.concurrent, 100), limit: o.concurrent, holdMs: o.holdMs };
    const baseHold = await timedSipp(uas.target, long);
    ours.resetPeak();
    const ourHold = await timedSipp(ours.target, long);
    const perSec = (x: { ms: number; r: SippResult }) => x.r.successful / (x.ms / 1000);
    return {
      name: 'telephony.builtin_edge',
      calls: o.calls, offeredRate: o.rate,
      oursSetupsPerSec: fmt(perSec(ourSetup), 0), baselineSetupsPerSec: fmt(perSec(baseSetup), 0),
      setupRatio: fmt(perSec(ourSetup) / perSec(baseSetup), 3),
      setupFailures: { ours: ourSetup.r.failed + (o.calls - ourSetup.r.successful - ourSetup.r.failed), baseline: baseSetup.r.failed },
      concurrent: o.concurrent, holdMs: o.holdMs,
      oursPeakConcurrent: ours.peak(), oursHeldOk: ourHold.r.successful, baselineHeldOk: baseHold.r.successful,
      holdWallRatio: fmt(baseHold.ms / ourHold.ms, 3),
      note: 'sipp -sn uac at the offered rate against the built-in edge (auto-answer, RTP port + recording per call) vs against sipp -sn uas; ratio = ours / baseline (1 = as fast as sipp itself)',
    };
  } finally {
    await ours.edge.stop();
    await uas.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
