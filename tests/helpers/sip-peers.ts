/**
 * Real SIP peers for the telephony tests, on loopback: sipp (Debian `sip-tester`) as callers and
 * carriers, baresip as an agent's desk phone (registers with digest auth, answers automatically,
 * plays a WAV through its `aufile` source). Each gets free ports and its own temp folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

export const SIPP = '/usr/bin/sipp';
export const BARESIP = '/usr/bin/baresip';
/** Where Debian's sip-tester keeps the pcap files its built-in `uac_pcap` scenario plays. */
export const SIPP_PCAP_DIR = '/usr/share/sip-tester';

/** Null when sipp and baresip are installed; else why not (the tests skip with it). */
export function sipPeersMissing(): string | null {
  const missing = [SIPP, BARESIP].filter((p) => {
    try { accessSync(p, constants.X_OK); return false; } catch { return true; }
  });
  return missing.length ? `missing ${missing.join(', ')}: apt-get install sip-tester baresip` : null;
}

/** A UDP port nobody holds right now (bound and released). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Free even UDP ports for RTP: `count` ports spaced by 2 starting at an even port. */
export async function freeRtpRange(span = 200): Promise<{ min: number; max: number }> {
  // A random window in 40000-59999: each test file gets its own, collisions just skip a port.
  const min = 40000 + 2 * Math.floor(Math.random() * ((20000 - span) / 2));
  return { min, max: min + span - 1 };
}

export interface SippResult {
  code: number | null;
  output: string;
  successful: number;
  failed: number;
}

export interface SippOptions {
  /** A built-in scenario (`-sn`) or an XML file (`-sf`). */
  scenario: { builtin: string } | { file: string };
  target: string;
  calls?: number;
  rate?: number;
  /** Rate period in ms (`-rp`). */
  ratePeriodMs?: number;
  /** Simultaneous calls at most (`-l`). */
  limit?: number;
  /** Extra arguments (e.g. `-d 2000` for the call length, `-au`/`-ap`). */
  args?: string[];
  timeoutSeconds?: number;
}

/** Runs sipp to completion; resolves with its exit code and the final counts. */
export function runSipp(o: SippOptions): { done: Promise<SippResult>; child: ChildProcess } {
  // Own signalling and media ports below the ephemeral range: sipp's defaults (5060, 6000) collide with
  // any other sipp running here.
  const sipPort = 10000 + Math.floor(Math.random() * 5000);
  const mediaPort = 15000 + 4 * Math.floor(Math.random() * 1200);
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  // The built-in uac_pcap scenario names `pcap/g711a.pcap` relative to the working directory.
  symlinkSync(SIPP_PCAP_DIR, join(dir, 'pcap'));
  const scenario = 'builtin' in o.scenario ? ['-sn', o.scenario.builtin] : ['-sf', o.scenario.file];
  const args = [
    ...scenario, o.target, '-i', '127.0.0.1', '-p', String(sipPort), '-mp', String(mediaPort),
    '-m', String(o.calls ?? 1), '-nostdin', '-trace_screen',
    '-timeout', `${o.timeoutSeconds ?? 30}s`, '-timeout_error',
    ...(o.rate ? ['-r', String(o.rate)] : []),
    ...(o.ratePeriodMs ? ['-rp', String(o.ratePeriodMs)] : []),
    ...(o.limit ? ['-l', String(o.limit)] : []),
    ...(o.args ?? []),
  ];
  const child = spawn(SIPP, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (b) => (output += String(b)));
  child.stderr!.on('data', (b) => (output += String(b)));
  const done = new Promise<SippResult>((resolve) => {
    child.on('exit', (code) => {
      let screen = '';
      try {
        screen = readdirSync(dir).filter((f) => f.endsWith('_screen.log')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
      } catch {
        // no screen file
      }
      const text = screen || output;
      const count = (label: string) => {
        const rows = [...text.matchAll(new RegExp(`${label}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`, 'g'))];
        return rows.length ? Number(rows[rows.length - 1][1]) : 0;
      };
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output: text + output, successful: count('Successful call'), failed: count('Failed call') });
    });
  });
  return { done, child };
}

export interface Baresip {
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts baresip as `username` registered to the edge at `registrar` (host:port) with `password`,
 * answering every call at once and sending `wavFile` (8 kHz mono) as its microphone.
 */
export function startBaresip(o: {
  username: string; password: string; registrar: string; wavFile: string; sipPort: number; rtpRange: { min: number; max: number };
  /** `auto` answers at once; `manual` lets it ring (a phone nobody picks up). */
  answerMode?: 'auto' | 'manual';
  /** A TCP port for baresip's ctrl_tcp module, to send it commands (`hangup`) with {@link baresipCommand}. */
  controlPort?: number;
}): Baresip {
  const dir = mkdtempSync(join(tmpdir(), 'baresip-'));
  writeFileSync(join(dir, 'config'), [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${o.sipPort}`,
    'sip_trans_def udp',
    `audio_source aufile,${o.wavFile}`,
    'audio_player aufile,/dev/null',
    'audio_alert aufile,/dev/null',
    `rtp_ports ${o.rtpRange.min}-${o.rtpRange.max}`,
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module aufile.so',
    'module_app account.so',
    'module_app menu.so',
    ...(o.controlPort ? ['module_app ctrl_tcp.so', `ctrl_tcp_listen 127.0.0.1:${o.controlPort}`] : []),
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'accounts'),
    `<sip:${o.username}@${o.registrar};transport=udp>;auth_user=${o.username};auth_pass=${o.password};answermode=${o.answerMode ?? 'auto'};regint=120;audio_codecs=PCMU,PCMA;\n`);
  writeFileSync(join(dir, 'contacts'), '');
  const child = spawn(BARESIP, ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b) => (out += String(b)));
  child.stderr!.on('data', (b) => (out += String(b)));
  return {
    process: child,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          rmSync(dir, { recursive: true, force: true });
          return resolve();
        }
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/** Sends one command to baresip's ctrl_tcp module (a netstring of JSON) and resolves with its reply. */
export function baresipCommand(port: number, command: string, params = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const json = JSON.stringify({ command, params, token: 't1' });
    const socket = connect(port, '127.0.0.1', () => socket.write(`${Buffer.byteLength(json)}:${json},`));
    let reply = '';
    socket.on('data', (b) => {
      reply += String(b);
      if (reply.includes('"response"')) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(reply);
    }, 3000).unref();
  });
}

/** A free TCP port (for ctrl_tcp). */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
