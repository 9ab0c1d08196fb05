/**
 * A real rtpengine (Debian's rtpengine-daemon, user-space forwarding: `--table=-1`) run as the
 * current user in a temporary directory, on free loopback ports, for the drachtio edge's media tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './until';

export interface RunningRtpengine {
  ngPort: number;
  dtmfPort: number;
  recordingDir: string;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function freeTcpPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** `interfaces`: rtpengine's --interface values (default one, 127.0.0.1). */
export async function startRtpengine(opts: { interfaces?: string[]; extraArgs?: string[] } = {}): Promise<RunningRtpengine> {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-rtpengine-'));
  const recordingDir = join(dir, 'recordings');
  const ngPort = await freeUdpPort();
  const dtmfPort = await freeUdpPort();
  // Its CLI listens on TCP 2224 unless told otherwise: two rtpengines at once would collide.
  const cliPort = await freeTcpPort();
  // A media port range of its own per run: two test files may run rtpengines at once.
  const portMin = 30_000 + Math.floor(Math.random() * 300) * 100;
  const child: ChildProcess = spawn('rtpengine', [
    // Not Debian's /etc/rtpengine/rtpengine.conf (it opens fixed HTTP/CLI ports).
    '--config-file=none', '--table=-1', ...(opts.interfaces ?? ['127.0.0.1']).map((i) => `--interface=${i}`), `--listen-ng=127.0.0.1:${ngPort}`, `--listen-cli=127.0.0.1:${cliPort}`, `--port-min=${portMin}`, `--port-max=${portMin + 99}`,
    '--recording-method=pcap', `--recording-dir=${recordingDir}`, `--dtmf-log-dest=127.0.0.1:${dtmfPort}`,
    `--pidfile=${join(dir, 'rtpengine.pid')}`, '--foreground', '--log-stderr', '--log-level=6', '--no-log-timestamps', '--delete-delay=0', ...(opts.extraArgs ?? []),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (b) => (log += String(b)));
  child.stderr!.on('data', (b) => (log += String(b)));
  let exited = false;
  child.on('exit', () => (exited = true));
  await until(() => exited || log.includes('Startup complete'), 'rtpengine to start', 15_000);
  if (exited) throw new Error(`rtpengine did not start:\n${log}`);
  return {
    ngPort, dtmfPort, recordingDir, dir,
    log: () => log,
    stop: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        await until(() => exited, 'rtpengine to exit', 10_000).catch(() => child.kill('SIGKILL'));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An RTP endpoint on loopback: sends G.711 frames at 20 ms and counts what it receives. */
export async function rtpPeer(): Promise<{ port: number; received: Buffer[]; sendTo(port: number, frames: Buffer[], opts?: { payloadType?: number; ssrc?: number }): Promise<void>; sendDtmf(port: number, digit: number): Promise<void>; close(): void }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const received: Buffer[] = [];
  sock.on('message', (m) => received.push(m));
  let seq = 0;
  let ts = 0;
  const ssrcDefault = Math.floor(Math.random() * 0xffffffff);
  const packet = (pt: number, ssrc: number, payload: Buffer, marker = false, timestamp = ts) => {
    const h = Buffer.alloc(12);
    h[0] = 0x80;
    h[1] = pt | (marker ? 0x80 : 0);
    h.writeUInt16BE(seq++ & 0xffff, 2);
    h.writeUInt32BE(timestamp >>> 0, 4);
    h.writeUInt32BE(ssrc >>> 0, 8);
    return Buffer.concat([h, payload]);
  };
  return {
    port: sock.address().port,
    received,
    async sendTo(port, frames, opts = {}) {
      for (const f of frames) {
        sock.send(packet(opts.payloadType ?? 0, opts.ssrc ?? ssrcDefault, f), port, '127.0.0.1');
        ts += f.length;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async sendDtmf(port, digit) {
      // RFC 4733: the same event timestamp, growing duration, three end packets.
      const start = ts;
      for (let i = 1; i <= 8; i++) {
        const end = i >= 6;
        const ev = Buffer.from([digit, (end ? 0x80 : 0) | 10, 0, 0]);
        ev.writeUInt16BE(i * 160, 2);
        sock.send(packet(101, ssrcDefault, ev, i === 1, start), port, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 20));
      }
      ts += 8 * 160;
    },
    close: () => sock.close(),
  };
}

/** `n` 20 ms frames of a 400 Hz μ-law tone (loud enough to tell from silence). */
export function ulawTone(n: number, amplitude = 8000): Buffer[] {
  const enc = (s: number) => {
    const BIAS = 0x84;
    const sign = s < 0 ? 0x80 : 0;
    let x = Math.min(Math.abs(s), 32635) + BIAS;
    let exp = 7;
    for (let mask = 0x4000; (x & mask) === 0 && exp > 0; exp--, mask >>= 1);
    const mant = (x >> (exp + 3)) & 0x0f;
    return ~(sign | (exp << 4) | mant) & 0xff;
  };
  let t = 0;
  return Array.from({ length: n }, () => Buffer.from(Array.from({ length: 160 }, () => enc(Math.round(amplitude * Math.sin((2 * Math.PI * 400 * t++) / 8000))))));
}

/** μ-law digital silence. */
export const ulawSilence = (n: number) => Array.from({ length: n }, () => Buffer.alloc(160, 0xff));
