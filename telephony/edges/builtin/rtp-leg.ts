/**
 * One RTP leg: a UDP socket from the edge's port range facing one peer (the caller or an agent's
 * phone), sending and receiving G.711 and RFC 4733 DTMF.
 *
 * Only packets from the address the peer's SDP named are taken; anything else is dropped and counted
 * (RTP injection from a stranger). With `latch` (symmetric RTP, for phones behind NAT whose SDP names
 * a private address) the first packet's source becomes the peer, once, and then only it is taken.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import type { Codec } from '../../ports';
import { decodeG711, encodeG711, G711_PAYLOAD_TYPE } from './g711';
import { buildRtp, dtmfDigit, parseRtp, parseTelephoneEvent } from './rtp';

export interface PortRange {
  min: number;
  max: number;
}

/** Hands out even UDP ports from a range, round-robin, skipping ports someone else holds. */
export class PortPool {
  private next: number;
  private readonly inUse = new Set<number>();
  constructor(private readonly range: PortRange, private readonly host: string) {
    if (range.min < 1024 || range.max > 65535 || range.min > range.max) throw new Error(`bad RTP port range ${range.min}-${range.max}`);
    this.next = range.min + (range.min % 2);
  }

  /** A bound socket on a free even port; throws when the whole range is taken. */
  async bind(): Promise<{ socket: Socket; port: number }> {
    const span = Math.floor((this.range.max - this.range.min) / 2) + 1;
    for (let i = 0; i < span; i++) {
      const port = this.next;
      this.next += 2;
      if (this.next > this.range.max) this.next = this.range.min + (this.range.min % 2);
      if (this.inUse.has(port)) continue;
      const socket = createSocket('udp4');
      const ok = await new Promise<boolean>((resolve) => {
        socket.once('error', () => resolve(false));
        socket.bind(port, this.host, () => resolve(true));
      });
      if (ok) {
        this.inUse.add(port);
        return { socket, port };
      }
      socket.close();
    }
    throw new Error(`no free RTP port in ${this.range.min}-${this.range.max}`);
  }

  release(port: number): void {
    this.inUse.delete(port);
  }

  get used(): number {
    return this.inUse.size;
  }
}

export interface RtpLegEvents {
  /** Decoded audio from the peer (16-bit linear), one packet's worth. */
  onAudio(pcm: Int16Array): void;
  onDtmf(digit: string): void;
  onUnexpectedSource(from: string, dropped: number): void;
}

export class RtpLeg {
  remote: { address: string; port: number } | null;
  lastPacketAt = 0;
  droppedFromUnexpectedSource = 0;
  packetsIn = 0;
  packetsOut = 0;
  private latched = false;
  private readonly ssrc = randomInt(1, 0xffffffff);
  private seq = randomInt(0, 0xffff);
  private ts = randomInt(0, 0xffffffff);
  private lastDtmfTimestamp: number | null = null;
  private closed = false;
  private marker = true;

  constructor(
    private readonly socket: Socket,
    readonly localPort: number,
    private readonly pool: PortPool,
    readonly codec: Codec,
    readonly telephoneEvent: number | null,
    remote: { address: string; port: number },
    private readonly latch: boolean,
    private readonly events: RtpLegEvents,
  ) {
    // 0.0.0.0 (or port 0) in SDP means "no media to send yet": only a latch can learn the address.
    this.remote = remote.address === '0.0.0.0' || remote.port === 0 ? null : remote;
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo.address, rinfo.port));
    socket.on('error', () => undefined);
  }

  private receive(msg: Buffer, address: string, port: number): void {
    const fromPeer = this.remote !== null && this.remote.address === address && this.remote.port === port;
    if (!fromPeer) {
      if (this.latch && !this.latched) {
        this.remote = { address, port };
        this.latched = true;
      } else {
        this.droppedFromUnexpectedSource++;
        this.events.onUnexpectedSource(`${address}:${port}`, this.droppedFromUnexpectedSource);
        return;
      }
    }
    if (this.latch) this.latched = true;
    const p = parseRtp(msg);
    if (!p) return;
    this.packetsIn++;
    this.lastPacketAt = Date.now();
    if (this.telephoneEvent !== null && p.payloadType === this.telephoneEvent) {
      const ev = parseTelephoneEvent(p.payload);
      // The end packet is sent three times with the event's timestamp: report the digit once.
      if (ev?.end && p.timestamp !== this.lastDtmfTimestamp) {
        this.lastDtmfTimestamp = p.timestamp;
        const digit = dtmfDigit(ev.event);
        if (digit) this.events.onDtmf(digit);
      }
      return;
    }
    if (p.payloadType !== G711_PAYLOAD_TYPE[this.codec]) return;
    this.events.onAudio(decodeG711(this.codec, p.payload));
  }

  /** Sends 16-bit linear audio as one RTP packet in this leg's codec (the timestamp moves by its length). */
  sendAudio(pcm: Int16Array): void {
    if (this.closed || !this.remote) return;
    const packet = buildRtp({
      payloadType: G711_PAYLOAD_TYPE[this.codec],
      marker: this.marker,
      sequence: this.seq,
      timestamp: this.ts,
      ssrc: this.ssrc,
      payload: encodeG711(this.codec, pcm),
    });
    this.marker = false;
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + pcm.length) >>> 0;
    this.packetsOut++;
    this.socket.send(packet, this.remote.port, this.remote.address);
  }

  /** A new peer address after a re-INVITE. */
  retarget(remote: { address: string; port: number }): void {
    if (remote.address === '0.0.0.0' || remote.port === 0) return;
    if (!this.latched) this.remote = remote;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pool.release(this.localPort);
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
