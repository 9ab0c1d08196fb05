/**
 * The app-side media receiver (媒体接收): for production, where rtpengine anchors the media and the
 * app never sees it, rtpengine is asked to forward each party's RTP to this node. One UDP port per
 * party's stream (so the port says whose audio it is), G.711 decoded to 16-bit PCM and handed to the
 * same {@link MediaTap} the built-in edge feeds. Only packets from the first source seen (or the
 * expected one) are taken; RTP sequence numbers drop duplicates and late packets.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { decodeG711, G711_PAYLOAD_TYPE, parseRtp } from '../../telephony';
import type { AudioStreamInfo, MediaTap, Party } from '../ports';

export interface RtpMediaReceiverOptions {
  tap: MediaTap;
  /** Address to bind (default 0.0.0.0) and the one rtpengine should send to (default: the bound one). */
  host?: string;
  publicAddress?: string;
  /** Ports to bind from (default 0: any free port). */
  portRange?: { min: number; max: number } | null;
  logger?: { warn(o: object, msg?: string): void };
}

export interface RtpMediaReceiver {
  /** Opens a port for one party's forwarded audio; the tap's stream starts. Returns where rtpengine should send it. */
  open(info: AudioStreamInfo & { source?: { address: string; port?: number } }): Promise<{ address: string; port: number }>;
  /** The party's forwarded audio is over: the port closes, the tap's stream ends. */
  close(callId: string, party: Party): void;
  readonly stats: { packets: number; decoded: number; duplicates: number; strangers: number; other: number };
  stop(): Promise<void>;
}

interface Open {
  socket: Socket;
  info: AudioStreamInfo;
  source: { address: string; port?: number } | null;
  lastSeq: number | null;
}

export function createRtpMediaReceiver(o: RtpMediaReceiverOptions): RtpMediaReceiver {
  const host = o.host ?? '0.0.0.0';
  const streams = new Map<string, Open>();
  const stats = { packets: 0, decoded: 0, duplicates: 0, strangers: 0, other: 0 };
  let nextPort = o.portRange?.min ?? 0;
  const key = (callId: string, party: Party) => `${callId}\u0000${party}`;

  async function bind(): Promise<Socket> {
    const range = o.portRange;
    const span = range ? range.max - range.min + 1 : 1;
    for (let i = 0; i < span; i++) {
      const port = range ? nextPort : 0;
      if (range) nextPort = nextPort >= range.max ? range.min : nextPort + 1;
      const socket = createSocket('udp4');
      const ok = await new Promise<boolean>((resolve) => {
        socket.once('error', () => resolve(false));
        socket.bind(port, host, () => resolve(true));
      });
      if (ok) return socket;
      socket.close();
    }
    throw new Error(`media receiver: no free UDP port in ${range?.min}-${range?.max}`);
  }

  function receive(s: Open, msg: Buffer, from: { address: string; port: number }): void {
    stats.packets++;
    if (s.source && (s.source.address !== from.address || (s.source.port !== undefined && s.source.port !== from.port))) {
      stats.strangers++;
      return;
    }
    s.source ??= { address: from.address, port: from.port }; // latched: only this sender from now on
    const p = parseRtp(msg);
    const law = p?.payloadType === G711_PAYLOAD_TYPE.PCMU ? 'PCMU' : p?.payloadType === G711_PAYLOAD_TYPE.PCMA ? 'PCMA' : null;
    if (!p || !law) {
      stats.other++; // DTMF, comfort noise, RTCP on the same port
      return;
    }
    if (s.lastSeq !== null) {
      const ahead = (p.sequence - s.lastSeq) & 0xffff;
      if (ahead === 0 || ahead > 0x8000) {
        stats.duplicates++;
        return;
      }
    }
    s.lastSeq = p.sequence;
    stats.decoded++;
    o.tap.frame(s.info.callId, s.info.party, decodeG711(law, p.payload));
  }

  return {
    stats,
    async open(info) {
      const k = key(info.callId, info.party);
      const existing = streams.get(k);
      const address = o.publicAddress ?? host;
      if (existing) return { address, port: (existing.socket.address() as AddressInfo).port };
      const socket = await bind();
      const s: Open = { socket, info: { callId: info.callId, party: info.party, sampleRate: 8000, language: info.language, offsetMs: info.offsetMs }, source: info.source ?? null, lastSeq: null };
      streams.set(k, s);
      socket.on('message', (msg, rinfo) => receive(s, msg, rinfo));
      socket.on('error', (err) => o.logger?.warn({ err, callId: info.callId, party: info.party }, 'media receiver: socket error'));
      o.tap.streamStarted(s.info);
      return { address, port: (socket.address() as AddressInfo).port };
    },
    close(callId, party) {
      const k = key(callId, party);
      const s = streams.get(k);
      if (!s) return;
      streams.delete(k);
      s.socket.close();
      o.tap.streamEnded(callId, party);
    },
    async stop() {
      for (const s of [...streams.values()]) this.close(s.info.callId, s.info.party);
    },
  };
}
