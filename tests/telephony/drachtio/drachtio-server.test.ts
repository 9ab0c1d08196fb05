/**
 * The drachtio edge against a REAL drachtio-server, driven by sipp. drachtio-server is on neither
 * npm nor Debian, so this runs only where one is reachable: set DRACHTIO_HOST, DRACHTIO_PORT and
 * DRACHTIO_SECRET (its admin socket) and, when its SIP side is not DRACHTIO_HOST:5060,
 * DRACHTIO_SIP_ADDRESS (host:port sipp sends to). rtpengine is started here (Debian's), so sipp,
 * drachtio-server and this machine must reach each other on the addresses in the SDP (loopback
 * when drachtio-server runs on this machine). docs/telephony-production.md says how to run one.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDrachtioSipEdge, type EdgeEvent, type SipEdge } from '../../../telephony';
import { ha1Of } from '../../../telephony/edges/drachtio/digest';
import { startRtpengine, type RunningRtpengine } from '../../helpers/rtpengine';
import { until } from '../../helpers/until';
import { readWav } from './wav';

const env = process.env;
const configured = Boolean(env.DRACHTIO_HOST && env.DRACHTIO_PORT && env.DRACHTIO_SECRET);
const SKIP_REASON = 'skipped: no drachtio-server configured (set DRACHTIO_HOST, DRACHTIO_PORT, DRACHTIO_SECRET; see docs/telephony-production.md)';
if (!configured) console.info(`drachtio-server integration tests ${SKIP_REASON}`);

const REALM = 'hotline.test';
const AGENT = { username: '1001', password: 'agent-1001-secret' };
const scenario = (name: string) => fileURLToPath(new URL(`./scenarios/${name}`, import.meta.url));
const sipTarget = env.DRACHTIO_SIP_ADDRESS ?? `${env.DRACHTIO_HOST}:5060`;

/** Runs sipp to completion (-m calls), from a directory where the stock `pcap/…` paths resolve. */
function sipp(args: string[], timeoutMs = 40_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('sipp', [sipTarget, '-i', '127.0.0.1', '-p', '0', '-nostdin', ...args], { cwd: sippDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b) => (output += String(b)));
    child.stderr.on('data', (b) => (output += String(b)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

let rtp: RunningRtpengine;
let work: string;
let sippDir: string;
let edge: SipEdge;
const events: EdgeEvent[] = [];
const of = <T extends EdgeEvent['type']>(type: T) => events.filter((e): e is Extract<EdgeEvent, { type: T }> => e.type === type);
/** What the test's stand-in ACD does with each offered call. */
let onOffered: (callId: string) => Promise<void> = async () => {};

describe.skipIf(!configured)(`drachtio edge on a real drachtio-server (${configured ? `${env.DRACHTIO_HOST}:${env.DRACHTIO_PORT}` : SKIP_REASON})`, () => {
  beforeAll(async () => {
    rtp = await startRtpengine();
    work = mkdtempSync(join(tmpdir(), 'hotline-drachtio-it-'));
    sippDir = join(work, 'sipp');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(sippDir);
    symlinkSync('/usr/share/sip-tester', join(sippDir, 'pcap'));
    edge = createDrachtioSipEdge({
      drachtio: { host: env.DRACHTIO_HOST!, port: Number(env.DRACHTIO_PORT), secret: env.DRACHTIO_SECRET! },
      rtpengine: { host: '127.0.0.1', port: rtp.ngPort },
      dtmfListen: { host: '127.0.0.1', port: rtp.dtmfPort },
      rtpengineRecordingDir: rtp.recordingDir,
      recordingsDir: join(work, 'wav'),
      realm: REALM,
      credentials: { ha1: async (u, realm) => (u === AGENT.username ? ha1Of(u, realm, AGENT.password) : null) },
      // sipp sends every call from one address: a flood limit fit for a carrier trunk.
      inviteLimit: { perSecond: 100, burst: 100 },
    });
    await edge.start((e) => {
      events.push(e);
      if (e.type === 'call.offered') void onOffered(e.call.callId).catch((err) => console.error('test ACD failed', err));
    });
    expect((await edge.health()).ok).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await edge?.stop();
    await rtp?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('answers a sipp call with rtpengine media, hears its G.711 and DTMF, and records the caller as a stereo WAV', async () => {
    events.length = 0;
    onOffered = async (callId) => { await edge.ring(callId); await edge.answer(callId); };
    const run = await sipp(['-sn', 'uac_pcap', '-s', '12345', '-m', '1']);
    expect(run.code, run.output).toBe(0);
    expect(of('call.offered')[0].call).toMatchObject({ dialledNumber: '12345', callerNumber: 'sipp', codec: 'PCMA' });
    await until(() => of('call.ended').length, 'call.ended');
    expect(of('call.ended')[0]).toMatchObject({ cause: 'caller_hangup' });
    expect(of('call.dtmf').map((e) => e.digit)).toContain('1');
    const ready = await until(() => of('recording.ready')[0], 'recording.ready', 15_000);
    expect(readWav(ready.file.path).rms[0]).toBeGreaterThan(100);
  }, 60_000);

  it('registers an agent phone with digest auth and bridges a caller to it (B2BUA through rtpengine)', async () => {
    events.length = 0;
    const agent = sipp(['-sf', scenario('agent-phone.xml'), '-s', AGENT.username, '-au', AGENT.username, '-ap', AGENT.password, '-m', '1', '-mp', '0'], 60_000);
    await until(() => of('endpoint.registered')[0], 'the agent phone registered', 15_000);
    onOffered = async (callId) => {
      await edge.answer(callId);
      await edge.offerToAgent(callId, { username: AGENT.username }, { ringTimeoutMs: 10_000 });
    };
    const caller = await sipp(['-sn', 'uac_pcap', '-s', '12345', '-m', '1']);
    expect(caller.code, caller.output).toBe(0);
    const agentRun = await agent;
    expect(agentRun.code, agentRun.output).toBe(0);
    expect(of('agent.ringing')).toHaveLength(1);
    expect(of('agent.answered')).toHaveLength(1);
    expect(of('call.ended')[0]).toMatchObject({ cause: 'caller_hangup' });
    const ready = await until(() => of('recording.ready')[0], 'recording.ready', 15_000);
    const wav = readWav(ready.file.path);
    expect(wav.rms[0]).toBeGreaterThan(100);
    expect(wav.rms[1]).toBeGreaterThan(100); // the agent phone played its pcap too
  }, 90_000);

  it('refuses a REGISTER with the wrong password', async () => {
    events.length = 0;
    const run = await sipp(['-sf', scenario('agent-phone.xml'), '-s', AGENT.username, '-au', AGENT.username, '-ap', 'wrong', '-m', '1', '-timeout', '10s']);
    expect(run.code).not.toBe(0);
    expect(of('endpoint.registered')).toHaveLength(0);
  }, 30_000);

  it('answers a BYE for an unknown dialog with 481', async () => {
    const run = await sipp(['-sf', scenario('stray-bye.xml'), '-s', '12345', '-m', '1']);
    expect(run.code, run.output).toBe(0);
  }, 30_000);
});
