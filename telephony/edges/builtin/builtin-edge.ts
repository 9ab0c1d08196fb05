/**
 * The built-in SIP edge (内置SIP边缘): a back-to-back user agent on UDP in this process. The caller's
 * dialog is answered here (UAS), each agent's phone is called from here (UAC), and the RTP of both
 * legs passes through Node: prompts to the caller, the caller↔agent relay (transcoding PCMU↔PCMA when
 * the legs chose differently), DTMF, and the stereo recording.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import * as sip from 'sip';
import type { SipMessage } from 'sip';
import { AppError } from '../../../core';
import {
  AgentLegFailure, EndCause, type Codec, type EdgeEvent, type Prompt, type SipCredentials, type SipEdge, type SipEdgeHealth,
} from '../../ports';
import { buildSdp, chooseCodec, parseSdp, type SdpAudio } from './sdp';
import { PortPool, RtpLeg, type PortRange } from './rtp-leg';
import { CallRecorder } from './recorder';
import { readMonoWavFile } from './wav';
import { Registrar } from './registrar';
import { TokenBuckets } from './rate-limit';
import { SipTransport, newBranch, newTag, type EdgeLogger, type Remote } from './transport';
import type { Socket } from 'node:dgram';
import type { MediaTap } from '../../../speech/ports';

/** The digest realm agent phones are configured with unless the city sets its own. */
export const DEFAULT_SIP_REALM = 'hotline';
export const DEFAULT_SIP_PORT = 5070;

export interface BuiltinSipEdgeOptions {
  /** Address to bind SIP and RTP to (default 0.0.0.0). */
  host?: string;
  /** SIP UDP port (default 5070; 0 picks a free one, for tests). */
  port?: number;
  /** The address phones and carriers reach us at, written into Via, Contact and SDP. */
  publicAddress?: string;
  /** Digest realm for REGISTER (default `hotline`). */
  realm?: string;
  credentials: SipCredentials;
  logger: EdgeLogger;
  /** RTP ports (default 20000-20999); each leg takes one even port. */
  rtpPorts?: PortRange;
  /** Accept RTP from wherever the peer's first packet comes from (symmetric RTP, phones behind NAT). */
  rtpLatch?: boolean;
  /** No RTP from an answered caller for this long ends the call with `media_timeout` (default 60 s; 0 = never). */
  mediaTimeoutMs?: number;
  /** Where stereo recordings go (default ./data/recordings); null = do not record. */
  recordingsDir?: string | null;
  /** INVITE flood guard per source address (default 10/s with a burst of 30). */
  inviteRatePerSecond?: number;
  inviteBurst?: number;
  /** Digest nonce lifetime (default 5 min). */
  nonceLifetimeMs?: number;
  minRegisterExpiresSeconds?: number;
  maxRegisterExpiresSeconds?: number;
  /** Timer B/F for our own requests (default 32 s). */
  transactionTimeoutMs?: number;
}

type CallPhase = 'offered' | 'answered' | 'ended';

interface PlayingPrompt {
  id: string;
  samples: Int16Array;
  pos: number;
  loop: boolean;
  nextAt: number;
}

interface AgentLeg {
  id: string;
  callId: string;
  username: string;
  phase: 'calling' | 'ringing' | 'answered' | 'ended';
  invite: SipMessage;
  target: Remote;
  sipCallId: string;
  localTag: string;
  remoteTag: string | null;
  remoteTarget: string | null;
  cseq: number;
  socket: Socket;
  port: number;
  media: RtpLeg | null;
  ringTimer: NodeJS.Timeout | null;
  closed: boolean;
}

interface Call {
  id: string;
  phase: CallPhase;
  sipCallId: string;
  invite: SipMessage;
  /** The INVITE (first or re-) whose 2xx is being resent until ACK. */
  pendingAck: SipMessage | null;
  ackTimer: NodeJS.Timeout | null;
  source: Remote;
  localTag: string;
  localCseq: number;
  offer: SdpAudio;
  codec: Codec;
  answerSdp: string;
  sdpVersion: number;
  caller: RtpLeg;
  prompt: PlayingPrompt | null;
  recorder: CallRecorder | null;
  legs: Map<string, AgentLeg>;
  bridged: AgentLeg | null;
  answeredAt: number | null;
  rangAt: number | null;
  /** The parties whose audio goes to the media tap (caller from answer, agent from the bridge). */
  tapped?: { caller: boolean; agent: boolean };
}

const RFC_REASON: Record<number, string> = {
  180: 'Ringing', 200: 'OK', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist', 486: 'Busy Here', 487: 'Request Terminated', 488: 'Not Acceptable Here',
  500: 'Server Internal Error', 501: 'Not Implemented', 503: 'Service Unavailable', 600: 'Busy Everywhere', 603: 'Decline',
};
const reasonOf = (status: number) => RFC_REASON[status] ?? (status < 300 ? 'OK' : 'Error');

const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER';
const TELEPHONE_EVENT_PT = 101;
const FRAME = 160; // 20 ms at 8 kHz

const callUnknown = (callId: string) =>
  new AppError('CALL_NOT_FOUND', 404, `no active call ${callId} on this edge`, `该呼叫不存在或已结束：${callId}`);

/** Reads the user part (digits as sent) of a name-addr or URI; null when there is none. */
function userPart(value: string | undefined | null): string | null {
  if (!value) return null;
  const m = /(?:sips?|tel):([^@;>?\s]+)/i.exec(value);
  return m ? decodeURIComponent(m[1]) : null;
}
function displayName(value: string | undefined | null): string | null {
  if (!value) return null;
  const q = /^\s*"((?:[^"\\]|\\.)*)"/.exec(value);
  if (q) return q[1] || null;
  const t = /^\s*([^<"]+?)\s*</.exec(value);
  return t ? t[1] : null;
}
const copy = <T>(o: T): T => JSON.parse(JSON.stringify(o));

export function createBuiltinSipEdge(opts: BuiltinSipEdgeOptions): SipEdge {
  return new BuiltinSipEdge(opts);
}

export class BuiltinSipEdge implements SipEdge {
  readonly kind = 'builtin' as const;
  private readonly log: EdgeLogger;
  private readonly host: string;
  private readonly publicAddress: string;
  private readonly realm: string;
  private readonly transport: SipTransport;
  private readonly registrar: Registrar;
  private readonly pool: PortPool;
  private readonly flood: TokenBuckets;
  private readonly calls = new Map<string, Call>();
  private readonly bySipCallId = new Map<string, Call>();
  private readonly legsBySipCallId = new Map<string, AgentLeg>();
  private readonly promptCache = new Map<string, Int16Array>();
  /** Calls ended in the last minute: hanging one up again is a no-op, not an error (the port's idempotence). */
  private readonly recentlyEnded = new Map<string, number>();
  private emit: (e: EdgeEvent) => void = () => undefined;
  private mediaTap: MediaTap | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private tick = 0;
  private started = false;
  private listening = '';
  /** Counters for health and tests. */
  readonly stats = { floodRejected: 0, rtpDroppedFromUnexpectedSource: 0, unknownDialog: 0, codecRejected: 0 };

  constructor(private readonly o: BuiltinSipEdgeOptions) {
    this.log = o.logger;
    this.host = o.host ?? '0.0.0.0';
    this.publicAddress = o.publicAddress ?? (this.host === '0.0.0.0' ? '127.0.0.1' : this.host);
    this.realm = o.realm ?? DEFAULT_SIP_REALM;
    this.pool = new PortPool(o.rtpPorts ?? { min: 20000, max: 20999 }, this.host);
    this.flood = new TokenBuckets(o.inviteRatePerSecond ?? 10, o.inviteBurst ?? 30);
    this.transport = new SipTransport({
      host: this.host,
      port: o.port ?? DEFAULT_SIP_PORT,
      publicAddress: this.publicAddress,
      logger: this.log,
      transactionTimeoutMs: o.transactionTimeoutMs ?? 32_000,
      onRequest: (rq, remote) => this.guard(() => this.onRequest(rq, remote)),
      onStray2xx: (rs) => this.guard(() => this.onStray2xx(rs)),
    });
    this.registrar = new Registrar({
      realm: this.realm,
      credentials: o.credentials,
      logger: this.log,
      nonceLifetimeMs: o.nonceLifetimeMs ?? 300_000,
      minExpiresSeconds: o.minRegisterExpiresSeconds ?? 60,
      maxExpiresSeconds: o.maxRegisterExpiresSeconds ?? 3600,
      onRegistered: (r) => this.fire({ type: 'endpoint.registered', username: r.username, contact: r.contact, expiresAt: r.expiresAt }),
      onUnregistered: (username) => this.fire({ type: 'endpoint.unregistered', username, at: new Date() }),
    });
  }

  /** The SIP port actually bound (after `start`). */
  get sipPort(): number {
    return this.transport.port;
  }

  private guard(fn: () => unknown): void {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((err) => this.log.error({ err }, 'sip: handler failed'));
    } catch (err) {
      this.log.error({ err }, 'sip: handler failed');
    }
  }

  private fire(e: EdgeEvent): void {
    try {
      this.emit(e);
    } catch (err) {
      this.log.error({ err, event: e.type }, 'sip edge: event handler threw');
    }
  }

  async start(onEvent: (e: EdgeEvent) => void): Promise<void> {
    if (this.started) throw new Error('SIP edge already started');
    this.emit = onEvent;
    const at = await this.transport.listen();
    this.listening = `udp ${at.address}:${at.port}`;
    if (this.o.recordingsDir !== null) mkdirSync(this.recordingsDir(), { recursive: true });
    this.ticker = setInterval(() => this.onTick(), 20);
    this.started = true;
    this.log.info({ listening: this.listening, publicAddress: this.publicAddress }, 'sip edge: listening');
  }

  private recordingsDir(): string {
    return this.o.recordingsDir ?? join(process.cwd(), 'data', 'recordings');
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    for (const call of [...this.calls.values()]) {
      if (call.phase === 'offered') this.respond(call.invite, 480, { toTag: call.localTag });
      this.end(call, EndCause.systemHangup, call.phase === 'offered' ? 480 : null, true);
    }
    this.registrar.clear();
    if (this.ticker) clearInterval(this.ticker);
    // Withdrawn legs linger a few seconds for a racing 200; on shutdown their sockets go now.
    for (const leg of this.legsBySipCallId.values()) this.closeLeg(leg);
    // Give the BYEs/CANCELs just sent a moment on the wire before the socket closes.
    await new Promise((r) => setTimeout(r, 50));
    this.transport.close();
    this.started = false;
  }

  // ───────────────────────────── inbound SIP ─────────────────────────────

  private respond(rq: SipMessage, status: number, extra: { headers?: Record<string, unknown>; content?: string; toTag?: string } = {}): void {
    const rs = sip.makeResponse(rq, status, reasonOf(status));
    rs.headers.to = copy(rq.headers.to!);
    if (extra.toTag && !rs.headers.to.params.tag) rs.headers.to.params.tag = extra.toTag;
    // 100 Trying carries no To tag; every other response needs one to form a dialog.
    else if (status > 100 && !rs.headers.to.params.tag) rs.headers.to.params.tag = newTag();
    rs.headers.server = 'hotline-builtin-edge';
    if (extra.headers) Object.assign(rs.headers, extra.headers);
    if (extra.content) {
      rs.headers['content-type'] = 'application/sdp';
      rs.content = extra.content;
    }
    this.transport.respond(rq, rs);
  }

  private onRequest(rq: SipMessage, remote: Remote): void | Promise<void> {
    switch (rq.method) {
      case 'INVITE':
        return rq.headers.to!.params.tag ? this.onReInvite(rq) : this.onInvite(rq, remote);
      case 'ACK':
        return this.onAck(rq);
      case 'BYE':
        return this.onBye(rq);
      case 'CANCEL':
        return this.onCancel(rq);
      case 'OPTIONS':
        return this.respond(rq, 200, { headers: { allow: ALLOW, accept: 'application/sdp' } });
      case 'REGISTER':
        return this.onRegister(rq, remote);
      default:
        return this.respond(rq, 501, { headers: { allow: ALLOW } });
    }
  }

  private async onInvite(rq: SipMessage, remote: Remote): Promise<void> {
    const source = `${remote.address}:${remote.port}`;
    if (!this.flood.take(remote.address)) {
      this.stats.floodRejected++;
      const retry = this.flood.retryAfterSeconds(remote.address);
      this.log.warn({ from: source, retryAfter: retry }, 'sip: INVITE flood from one source, 503');
      this.respond(rq, 503, { headers: { 'retry-after': String(retry) } });
      return;
    }
    const sipCallId = rq.headers['call-id']!;
    if (this.bySipCallId.has(sipCallId)) return; // the same call again under a new branch: ignore
    this.respond(rq, 100);
    const offer = rq.content ? parseSdp(rq.content) : null;
    if (!offer) {
      // A delayed offer (no SDP) is legal SIP, but a hotline trunk always sends one.
      this.stats.codecRejected++;
      this.log.warn({ from: source, sipCallId }, 'sip: INVITE without a usable SDP offer, 488');
      this.respond(rq, 488, { headers: this.acceptHeaders() });
      return;
    }
    const codec = chooseCodec(offer);
    if (!codec) {
      this.stats.codecRejected++;
      this.log.warn({ from: source, sipCallId, offered: [...offer.encodings.values()] }, 'sip: no supported codec offered, 488');
      this.respond(rq, 488, { headers: this.acceptHeaders() });
      return;
    }
    let bound: { socket: Socket; port: number };
    try {
      bound = await this.pool.bind();
    } catch (err) {
      this.log.error({ err, from: source }, 'sip: no RTP port left, 503');
      this.respond(rq, 503, { headers: { 'retry-after': '5' } });
      return;
    }
    const id = randomUUID();
    const caller = this.newRtpLeg(id, 'caller', bound, codec, offer.telephoneEvent, offer);
    const call: Call = {
      id, phase: 'offered', sipCallId, invite: rq, pendingAck: null, ackTimer: null, source: remote, localTag: newTag(), localCseq: 1, offer, codec,
      answerSdp: '', sdpVersion: 1, caller, prompt: null, recorder: null, legs: new Map(), bridged: null, answeredAt: null, rangAt: null,
    };
    call.answerSdp = this.sdpFor(call.caller.localPort, [codec], offer.telephoneEvent, call.sdpVersion);
    this.calls.set(id, call);
    this.bySipCallId.set(sipCallId, call);
    const pai = typeof rq.headers['p-asserted-identity'] === 'string' ? (rq.headers['p-asserted-identity'] as string) : null;
    const fromUri = sip.stringifyUri(rq.headers.from!.uri);
    const callerNumber = userPart(pai) ?? userPart(fromUri) ?? '';
    const fromName = rq.headers.from!.name ? rq.headers.from!.name.replace(/^"(.*)"$/, '$1') : null;
    const requestUri = sip.parseUri(rq.uri!);
    this.log.info({ callId: id, sipCallId, from: source, callerNumber, codec }, 'sip: call offered');
    this.fire({
      type: 'call.offered',
      call: {
        callId: id,
        callerNumber,
        callerName: (pai ? displayName(pai) : null) ?? fromName,
        dialledNumber: requestUri?.user ? decodeURIComponent(requestUri.user) : '',
        source,
        codec,
        at: new Date(),
      },
    });
  }

  private acceptHeaders(): Record<string, unknown> {
    return { warning: `305 ${this.publicAddress} "Incompatible media format: only PCMU and PCMA (G.711) are supported"`, accept: 'application/sdp' };
  }

  private sdpFor(port: number, codecs: Codec[], telephoneEvent: number | null, version: number): string {
    return buildSdp({ address: this.publicAddress, port, codecs, telephoneEvent, sessionId: 1, sessionVersion: version });
  }

  private onReInvite(rq: SipMessage): void {
    const sipCallId = rq.headers['call-id']!;
    const call = this.bySipCallId.get(sipCallId);
    const leg = this.legsBySipCallId.get(sipCallId);
    if (call && call.phase === 'answered') {
      const offer = rq.content ? parseSdp(rq.content) : null;
      if (offer) call.caller.retarget({ address: offer.address, port: offer.port });
      call.pendingAck = rq;
      this.respond(rq, 200, { toTag: call.localTag, content: call.answerSdp, headers: { contact: this.contact() } });
      return;
    }
    if (leg && leg.phase === 'answered' && leg.media) {
      const offer = rq.content ? parseSdp(rq.content) : null;
      if (offer) leg.media.retarget({ address: offer.address, port: offer.port });
      this.respond(rq, 200, { content: this.sdpFor(leg.port, [leg.media.codec], TELEPHONE_EVENT_PT, 2), headers: { contact: this.contact() } });
      return;
    }
    this.unknownDialog(rq);
  }

  private unknownDialog(rq: SipMessage): void {
    this.stats.unknownDialog++;
    this.log.warn({ method: rq.method, sipCallId: rq.headers['call-id'] }, 'sip: request for an unknown dialog, 481');
    this.respond(rq, 481);
  }

  private onAck(rq: SipMessage): void {
    const call = this.bySipCallId.get(rq.headers['call-id']!);
    if (call?.pendingAck && rq.headers.cseq!.seq === call.pendingAck.headers.cseq!.seq) {
      this.transport.stopResending(call.pendingAck);
      call.pendingAck = null;
      if (call.ackTimer) clearTimeout(call.ackTimer);
      call.ackTimer = null;
    }
  }

  private onBye(rq: SipMessage): void {
    const sipCallId = rq.headers['call-id']!;
    const call = this.bySipCallId.get(sipCallId);
    if (call && call.phase !== 'ended') {
      this.respond(rq, 200);
      this.log.info({ callId: call.id }, 'sip: caller hung up');
      this.end(call, EndCause.callerHangup, null, false);
      return;
    }
    const leg = this.legsBySipCallId.get(sipCallId);
    if (leg && leg.phase === 'answered') {
      this.respond(rq, 200);
      leg.phase = 'ended';
      const c = this.calls.get(leg.callId);
      this.log.info({ callId: leg.callId, legId: leg.id }, 'sip: agent hung up');
      if (c) this.end(c, EndCause.agentHangup, null, true);
      else this.closeLeg(leg);
      return;
    }
    this.unknownDialog(rq);
  }

  private onCancel(rq: SipMessage): void {
    const call = this.bySipCallId.get(rq.headers['call-id']!);
    if (!call || call.phase === 'ended') return this.unknownDialog(rq);
    this.respond(rq, 200);
    if (call.phase !== 'offered') return; // already answered: the CANCEL has no effect (RFC 3261 §9.2)
    this.respond(call.invite, 487, { toTag: call.localTag });
    this.log.info({ callId: call.id }, 'sip: caller cancelled before answer');
    this.end(call, EndCause.callerCancelled, 487, false);
  }

  private async onRegister(rq: SipMessage, remote: Remote): Promise<void> {
    const reply = await this.registrar.register(rq, remote);
    this.respond(rq, reply.status, { headers: { ...(reply.headers ?? {}), date: new Date().toUTCString() } });
  }

  private onStray2xx(rs: SipMessage): void {
    // Our ACK to an agent's 200 was lost and the phone resends the 200: ACK it again.
    const leg = this.legsBySipCallId.get(rs.headers['call-id']!);
    if (leg) this.sendAck(leg, rs);
  }

  private contact() {
    return [{ uri: `sip:hotline@${this.publicAddress}:${this.transport.port}`, params: {} }];
  }

  // ───────────────────────────── media ─────────────────────────────

  private newRtpLeg(callId: string, side: 'caller' | 'agent', bound: { socket: Socket; port: number }, codec: Codec, te: number | null, remote: SdpAudio): RtpLeg {
    return new RtpLeg(bound.socket, bound.port, this.pool, codec, te, { address: remote.address, port: remote.port }, this.o.rtpLatch ?? false, {
      onAudio: (pcm) => {
        const call = this.calls.get(callId);
        if (!call || call.phase === 'ended') return;
        if (side === 'caller') {
          call.recorder?.caller(pcm);
          if (call.bridged?.media) call.bridged.media.sendAudio(pcm);
          if (call.tapped?.caller) this.tapFrame(call, 'caller', pcm);
        } else if (call.bridged?.media) {
          call.recorder?.hotline(pcm);
          call.caller.sendAudio(pcm);
          if (call.tapped?.agent) this.tapFrame(call, 'agent', pcm);
        }
      },
      onDtmf: (digit) => {
        if (side !== 'caller') return;
        this.fire({ type: 'call.dtmf', callId, digit, at: new Date() });
      },
      onUnexpectedSource: (from, dropped) => {
        this.stats.rtpDroppedFromUnexpectedSource++;
        // Log the first and then every 500th, not every packet of a stream.
        if (dropped === 1 || dropped % 500 === 0) this.log.warn({ callId, side, from, dropped }, 'rtp: packet from an unexpected address dropped');
      },
    });
  }

  /** Sets the media fork: each party's decoded audio for live transcripts (see {@link SipEdge.setMediaTap}). */
  setMediaTap(tap: MediaTap | null): void {
    this.mediaTap = tap;
  }

  private tapStart(call: Call, party: 'caller' | 'agent'): void {
    if (!this.mediaTap) return;
    call.tapped ??= { caller: false, agent: false };
    if (call.tapped[party]) return;
    call.tapped[party] = true;
    const offsetMs = party === 'agent' && call.answeredAt !== null ? Math.max(0, Date.now() - call.answeredAt) : 0;
    try {
      this.mediaTap.streamStarted({ callId: call.id, party, sampleRate: 8000, language: 'zh-CN', offsetMs });
    } catch (err) {
      this.log.error({ err, callId: call.id, party }, 'media tap: streamStarted failed');
    }
  }

  private tapFrame(call: Call, party: 'caller' | 'agent', pcm: Int16Array): void {
    try {
      // A copy of its own: the tap may hold the frame in its queue for seconds.
      this.mediaTap?.frame(call.id, party, pcm.slice());
    } catch (err) {
      this.log.error({ err, callId: call.id, party }, 'media tap: frame failed');
    }
  }

  private tapEnd(call: Call): void {
    if (!call.tapped || !this.mediaTap) return;
    for (const party of ['caller', 'agent'] as const) {
      if (!call.tapped[party]) continue;
      call.tapped[party] = false;
      try {
        this.mediaTap.streamEnded(call.id, party);
      } catch (err) {
        this.log.error({ err, callId: call.id, party }, 'media tap: streamEnded failed');
      }
    }
  }

  private onTick(): void {
    this.tick++;
    const now = Date.now();
    for (const call of this.calls.values()) {
      if (call.phase === 'ended') continue;
      const p = call.prompt;
      if (p) {
        if (now - p.nextAt > 200) p.nextAt = now; // the event loop stalled: don't burst to catch up
        let sent = 0;
        while (p.nextAt <= now && sent < 5 && call.prompt === p) {
          const frame = new Int16Array(FRAME);
          frame.set(p.samples.subarray(p.pos, p.pos + FRAME));
          call.caller.sendAudio(frame);
          call.recorder?.hotline(frame);
          p.pos += FRAME;
          p.nextAt += 20;
          sent++;
          if (p.pos >= p.samples.length) {
            if (p.loop) p.pos = 0;
            else {
              call.prompt = null;
              this.fire({ type: 'prompt.finished', callId: call.id, promptId: p.id, at: new Date() });
            }
          }
        }
      }
      if (this.tick % 5 === 0) call.recorder?.flush();
      if (this.tick % 50 === 0 && call.phase === 'answered' && call.answeredAt !== null) {
        const timeout = this.o.mediaTimeoutMs ?? 60_000;
        const last = Math.max(call.caller.lastPacketAt, call.answeredAt);
        if (timeout > 0 && now - last > timeout) {
          this.log.warn({ callId: call.id, silentMs: now - last }, 'rtp: no media from the caller, ending the call');
          this.end(call, EndCause.mediaTimeout, null, true);
        }
      }
    }
    if (this.tick % 50 === 0) {
      this.registrar.sweep();
      this.flood.prune();
      for (const [id, at] of this.recentlyEnded) if (now - at > 60_000) this.recentlyEnded.delete(id);
    }
  }

  private loadPrompt(prompt: Prompt): Int16Array {
    const cached = this.promptCache.get(prompt.file);
    if (cached) return cached;
    let samples: Int16Array;
    try {
      samples = readMonoWavFile(prompt.file);
    } catch (err) {
      throw new AppError('PROMPT_UNREADABLE', 422, `prompt ${prompt.id} (${prompt.file}) is not a readable 8 kHz mono WAV: ${(err as Error).message}`, `提示音文件无法读取（须为8kHz单声道WAV）：${prompt.id}`);
    }
    if (samples.length === 0) throw new AppError('PROMPT_UNREADABLE', 422, `prompt ${prompt.id} is empty`, `提示音文件为空：${prompt.id}`);
    this.promptCache.set(prompt.file, samples);
    return samples;
  }

  // ───────────────────────────── commands ─────────────────────────────

  private live(callId: string): Call {
    const call = this.calls.get(callId);
    if (!call || call.phase === 'ended') throw callUnknown(callId);
    return call;
  }

  async ring(callId: string): Promise<void> {
    const call = this.live(callId);
    if (call.phase !== 'offered' || call.rangAt !== null) return;
    call.rangAt = Date.now();
    this.respond(call.invite, 180, { toTag: call.localTag, headers: { contact: this.contact() } });
  }

  async answer(callId: string): Promise<void> {
    const call = this.live(callId);
    if (call.phase !== 'offered') return;
    this.answerNow(call);
  }

  private answerNow(call: Call): void {
    call.phase = 'answered';
    call.answeredAt = Date.now();
    call.pendingAck = call.invite;
    // RFC 3261 §13.3.1.4: a 2xx never ACKed within 64×T1 means the dialog is dead; end it with a BYE.
    call.ackTimer = setTimeout(() => {
      if (call.phase !== 'answered' || !call.pendingAck) return;
      this.log.warn({ callId: call.id }, 'sip: caller never ACKed our 200, ending the call');
      this.end(call, EndCause.failed, null, true);
    }, this.o.transactionTimeoutMs ?? 32_000);
    call.ackTimer.unref();
    this.respond(call.invite, 200, { toTag: call.localTag, content: call.answerSdp, headers: { contact: this.contact(), allow: ALLOW } });
    if (this.o.recordingsDir !== null) {
      try {
        call.recorder = new CallRecorder(join(this.recordingsDir(), `${call.id}.wav`));
      } catch (err) {
        this.log.error({ err, callId: call.id }, 'recording: cannot open the file; the call goes on unrecorded');
      }
    }
    this.log.info({ callId: call.id }, 'sip: call answered');
    this.tapStart(call, 'caller');
    this.fire({ type: 'call.answered', callId: call.id, at: new Date() });
  }

  async reject(callId: string, sipStatus: number, opts?: { retryAfterSeconds?: number }): Promise<void> {
    const call = this.live(callId);
    if (call.phase !== 'offered') {
      throw new AppError('CALL_ALREADY_ANSWERED', 409, `call ${callId} is answered: hang it up instead`, `呼叫已接通，只能挂断`);
    }
    if (!Number.isInteger(sipStatus) || sipStatus < 400 || sipStatus > 699) {
      throw new AppError('SIP_STATUS_INVALID', 400, `a rejection needs a 4xx-6xx status, got ${sipStatus}`, `拒接须使用4xx-6xx状态码`);
    }
    const headers: Record<string, unknown> = {};
    if (opts?.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(0, Math.round(opts.retryAfterSeconds)));
    if (sipStatus === 488) Object.assign(headers, this.acceptHeaders());
    this.respond(call.invite, sipStatus, { toTag: call.localTag, headers });
    this.end(call, EndCause.rejected, sipStatus, false);
  }

  async playPrompt(callId: string, prompt: Prompt): Promise<void> {
    const call = this.live(callId);
    const samples = this.loadPrompt(prompt);
    call.prompt = { id: prompt.id, samples, pos: 0, loop: prompt.loop ?? false, nextAt: Date.now() };
  }

  async stopPrompt(callId: string): Promise<void> {
    this.live(callId).prompt = null;
  }

  async offerToAgent(callId: string, agent: { username: string }, opts: { ringTimeoutMs: number; callerDisplay?: string }): Promise<string> {
    const call = this.live(callId);
    const reg = this.registrar.lookup(agent.username);
    const legId = randomUUID();
    if (!reg) {
      // Reported like any other failure so the ACD's re-offer logic has one path.
      setImmediate(() => this.fire({ type: 'agent.failed', callId, legId, reason: AgentLegFailure.unreachable, sipStatus: null, at: new Date() }));
      return legId;
    }
    let bound: { socket: Socket; port: number };
    try {
      bound = await this.pool.bind();
    } catch (err) {
      this.log.error({ err, callId }, 'rtp: no port left for an agent leg');
      throw new AppError('RTP_PORTS_EXHAUSTED', 503, 'no RTP port left on this edge', '媒体端口已用尽，暂时无法转接坐席');
    }
    const sipCallId = `${randomUUID()}@${this.publicAddress}`;
    const callerNumber = (opts.callerDisplay ?? '').replace(/[^\w+*#.-]/g, '') || 'hotline';
    const invite: SipMessage = {
      method: 'INVITE',
      uri: reg.contact,
      version: '2.0',
      headers: {
        via: [this.transport.via()],
        'max-forwards': '70',
        to: { uri: reg.contact, params: {} },
        from: { name: opts.callerDisplay ? `"${opts.callerDisplay.replace(/["\\]/g, '')}"` : undefined, uri: `sip:${callerNumber}@${this.publicAddress}`, params: { tag: newTag() } },
        'call-id': sipCallId,
        cseq: { seq: 1, method: 'INVITE' },
        contact: this.contact(),
        allow: ALLOW,
        'content-type': 'application/sdp',
      },
      // The caller's codec first: no transcoding when the phone takes it.
      content: this.sdpFor(bound.port, call.codec === 'PCMU' ? ['PCMU', 'PCMA'] : ['PCMA', 'PCMU'], TELEPHONE_EVENT_PT, 1),
    };
    const leg: AgentLeg = {
      id: legId, callId, username: agent.username, phase: 'calling', invite, target: reg.source, sipCallId,
      localTag: invite.headers.from!.params.tag as string, remoteTag: null, remoteTarget: null, cseq: 1,
      socket: bound.socket, port: bound.port, media: null, ringTimer: null, closed: false,
    };
    call.legs.set(legId, leg);
    this.legsBySipCallId.set(sipCallId, leg);
    leg.ringTimer = setTimeout(() => this.abandonLeg(leg, AgentLegFailure.noAnswer), opts.ringTimeoutMs);
    this.log.info({ callId, legId, username: agent.username, contact: reg.contact }, 'sip: offering call to agent phone');
    this.transport.request(invite, reg.source, (rs) => this.guard(() => this.onAgentResponse(leg, rs)));
    return legId;
  }

  private onAgentResponse(leg: AgentLeg, rs: SipMessage): void {
    const status = rs.status!;
    const call = this.calls.get(leg.callId);
    if (status < 200) {
      if (status > 100 && leg.phase === 'calling') {
        leg.phase = 'ringing';
        this.fire({ type: 'agent.ringing', callId: leg.callId, legId: leg.id, at: new Date() });
      }
      return;
    }
    if (status < 300) {
      leg.remoteTag = (rs.headers.to!.params.tag as string) ?? null;
      const contact = rs.headers.contact;
      leg.remoteTarget = Array.isArray(contact) && contact[0] ? sip.stringifyUri(contact[0].uri) : sip.stringifyUri(leg.invite.uri!);
      this.sendAck(leg, rs);
      const answer = rs.content ? parseSdp(rs.content) : null;
      const codec = answer ? chooseCodec(answer) : null;
      if (leg.phase === 'ended' || !call || call.phase === 'ended' || !answer || !codec) {
        // Answered after we gave up on it (a race with CANCEL), or with nothing we can use: hang it up.
        if (leg.phase !== 'ended' && call && call.phase !== 'ended') {
          this.failLeg(leg, AgentLegFailure.unreachable, status);
          this.log.warn({ callId: leg.callId, legId: leg.id }, 'sip: agent phone answered without usable SDP');
        }
        this.sendBye(leg);
        this.closeLeg(leg);
        return;
      }
      if (leg.ringTimer) clearTimeout(leg.ringTimer);
      leg.phase = 'answered';
      leg.media = this.newRtpLeg(leg.callId, 'agent', { socket: leg.socket, port: leg.port }, codec, answer.telephoneEvent, answer);
      // One agent per call: any other leg still ringing is withdrawn.
      for (const other of call.legs.values()) if (other !== leg && other.phase !== 'ended' && other.phase !== 'answered') this.abandonLeg(other, AgentLegFailure.cancelled);
      if (call.phase === 'offered') this.answerNow(call);
      call.prompt = null;
      call.bridged = leg;
      this.tapStart(call, 'agent');
      this.log.info({ callId: call.id, legId: leg.id, callerCodec: call.codec, agentCodec: codec }, 'sip: agent answered, bridged');
      this.fire({ type: 'agent.answered', callId: call.id, legId: leg.id, at: new Date() });
      return;
    }
    if (leg.phase === 'ended') return; // the 487 to our CANCEL, already reported
    const reason =
      status === 486 || status === 600 ? AgentLegFailure.busy
        : status === 603 ? AgentLegFailure.declined
          : status === 487 ? AgentLegFailure.cancelled
            : AgentLegFailure.unreachable;
    this.failLeg(leg, reason, status);
    this.closeLeg(leg);
  }

  private failLeg(leg: AgentLeg, reason: AgentLegFailure, sipStatus: number | null): void {
    if (leg.ringTimer) clearTimeout(leg.ringTimer);
    leg.phase = 'ended';
    this.log.info({ callId: leg.callId, legId: leg.id, reason, sipStatus }, 'sip: agent leg failed');
    this.fire({ type: 'agent.failed', callId: leg.callId, legId: leg.id, reason, sipStatus, at: new Date() });
  }

  /** Withdraws a ringing leg: CANCEL to the phone, reported at once (the 487 that follows changes nothing). */
  private abandonLeg(leg: AgentLeg, reason: AgentLegFailure): void {
    if (leg.phase !== 'calling' && leg.phase !== 'ringing') return;
    const cancel: SipMessage = {
      method: 'CANCEL',
      uri: leg.invite.uri,
      version: '2.0',
      headers: {
        via: [leg.invite.headers.via![0]],
        to: leg.invite.headers.to,
        from: leg.invite.headers.from,
        'call-id': leg.sipCallId,
        cseq: { seq: leg.invite.headers.cseq!.seq, method: 'CANCEL' },
        'max-forwards': '70',
      },
    };
    this.transport.request(cancel, leg.target, () => undefined);
    this.failLeg(leg, reason, null);
    // Keep the leg until the INVITE transaction ends (a 200 racing the CANCEL gets ACK + BYE), then free the port.
    setTimeout(() => this.closeLeg(leg), 5000).unref();
  }

  async cancelAgentOffer(callId: string, legId: string): Promise<void> {
    const call = this.live(callId);
    const leg = call.legs.get(legId);
    if (!leg) throw new AppError('AGENT_LEG_NOT_FOUND', 404, `no agent leg ${legId} on call ${callId}`, `该坐席振铃不存在：${legId}`);
    this.abandonLeg(leg, AgentLegFailure.cancelled);
  }

  private sendAck(leg: AgentLeg, rs: SipMessage): void {
    const ack: SipMessage = {
      method: 'ACK',
      uri: leg.remoteTarget ?? leg.invite.uri,
      version: '2.0',
      headers: {
        via: [this.transport.via()],
        'max-forwards': '70',
        to: rs.headers.to,
        from: leg.invite.headers.from,
        'call-id': leg.sipCallId,
        cseq: { seq: leg.invite.headers.cseq!.seq, method: 'ACK' },
      },
    };
    this.transport.send(ack, leg.target);
  }

  private sendBye(leg: AgentLeg): void {
    leg.cseq++;
    const bye: SipMessage = {
      method: 'BYE',
      uri: leg.remoteTarget ?? leg.invite.uri,
      version: '2.0',
      headers: {
        via: [this.transport.via()],
        'max-forwards': '70',
        to: { ...leg.invite.headers.to!, params: { ...leg.invite.headers.to!.params, ...(leg.remoteTag ? { tag: leg.remoteTag } : {}) } },
        from: leg.invite.headers.from,
        'call-id': leg.sipCallId,
        cseq: { seq: leg.cseq, method: 'BYE' },
      },
    };
    this.transport.request(bye, leg.target, () => undefined);
  }

  private sendCallerBye(call: Call): void {
    const inv = call.invite;
    const contact = inv.headers.contact;
    const target = Array.isArray(contact) && contact[0] ? contact[0].uri : inv.headers.from!.uri;
    const bye: SipMessage = {
      method: 'BYE',
      uri: target,
      version: '2.0',
      headers: {
        via: [this.transport.via(newBranch())],
        'max-forwards': '70',
        from: { ...copy(inv.headers.to!), params: { ...inv.headers.to!.params, tag: call.localTag } },
        to: copy(inv.headers.from!),
        'call-id': call.sipCallId,
        cseq: { seq: ++call.localCseq, method: 'BYE' },
        ...(inv.headers['record-route']?.length ? { route: copy(inv.headers['record-route']) } : {}),
      },
    };
    // Sent to where the INVITE came from (the caller's NAT binding or trunk), whatever its Contact says.
    this.transport.request(bye, call.source, () => undefined);
  }

  async hangUp(callId: string, cause: EndCause): Promise<void> {
    const call = this.calls.get(callId);
    if (!call && this.recentlyEnded.has(callId)) return;
    if (!call) throw callUnknown(callId);
    if (call.phase === 'ended') return;
    if (call.phase === 'offered') {
      this.respond(call.invite, 480, { toTag: call.localTag });
      this.end(call, cause, 480, true);
      return;
    }
    this.end(call, cause, null, true);
  }

  /**
   * Ends a call once: withdraws ringing agent legs, BYEs the bridged agent and (when `byeCaller`) the
   * answered caller, closes media, reports `call.ended` and then the recording.
   */
  private end(call: Call, cause: EndCause, sipStatus: number | null, byeCaller: boolean): void {
    if (call.phase === 'ended') return;
    const wasAnswered = call.phase === 'answered';
    call.phase = 'ended';
    call.prompt = null;
    if (call.ackTimer) clearTimeout(call.ackTimer);
    for (const leg of call.legs.values()) {
      if (leg.phase === 'calling' || leg.phase === 'ringing') this.abandonLeg(leg, AgentLegFailure.cancelled);
      else if (leg.phase === 'answered') {
        leg.phase = 'ended';
        this.sendBye(leg);
        this.closeLeg(leg);
      }
    }
    if (byeCaller && wasAnswered) this.sendCallerBye(call);
    call.caller.close();
    this.tapEnd(call);
    this.calls.delete(call.id);
    this.recentlyEnded.set(call.id, Date.now());
    // The dialog stays findable for a while: a BYE/CANCEL retransmission must get its 200, not a 481.
    setTimeout(() => {
      if (this.bySipCallId.get(call.sipCallId) === call) this.bySipCallId.delete(call.sipCallId);
    }, 32_000).unref();
    this.log.info({ callId: call.id, cause, sipStatus }, 'sip: call ended');
    this.fire({ type: 'call.ended', callId: call.id, cause, sipStatus, at: new Date() });
    if (call.recorder) {
      try {
        const f = call.recorder.close();
        this.fire({
          type: 'recording.ready',
          callId: call.id,
          file: { path: f.path, format: 'wav', sampleRate: f.sampleRate, channels: 2, durationMs: f.durationMs, bytes: f.bytes },
          at: new Date(),
        });
      } catch (err) {
        this.log.error({ err, callId: call.id }, 'recording: could not finish the file');
      }
    }
  }

  private closeLeg(leg: AgentLeg): void {
    if (leg.ringTimer) clearTimeout(leg.ringTimer);
    if (leg.closed) return;
    leg.closed = true;
    if (leg.media) leg.media.close();
    else {
      try {
        leg.socket.close();
      } catch {
        // already closed
      }
      this.pool.release(leg.port);
    }
    setTimeout(() => {
      if (this.legsBySipCallId.get(leg.sipCallId) === leg) this.legsBySipCallId.delete(leg.sipCallId);
    }, 32_000).unref();
  }

  async registrations(): Promise<{ username: string; contact: string; expiresAt: Date }[]> {
    return this.registrar.list().map((r) => ({ username: r.username, contact: r.contact, expiresAt: r.expiresAt }));
  }

  async health(): Promise<SipEdgeHealth> {
    return {
      edge: 'builtin',
      ok: this.started,
      listening: this.listening || 'not started',
      activeCalls: this.calls.size,
      registeredEndpoints: this.registrar.list().length,
      detail: `rtp ports in use ${this.pool.used}; flood-rejected ${this.stats.floodRejected}; malformed ${this.transport.malformed}; rtp dropped ${this.stats.rtpDroppedFromUnexpectedSource}`,
    };
  }
}
