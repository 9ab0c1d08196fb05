import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import Srf from 'drachtio-srf';
import type { Redis } from 'ioredis';
import { AppError, chinaDate, conflict, newId, notFound } from '../../../core';
import {
  AgentLegFailure, EndCause,
  type Codec, type EdgeEvent, type InboundCall, type MediaForkReceiver, type Prompt, type SipCredentials, type SipEdge, type SipEdgeHealth,
} from '../../ports';
import type { MediaTap } from '../../../speech/ports';
import { DigestAuth } from './digest';
import { FloodLimit } from './flood-limit';
import { pcapToStereoWav } from './pcap-to-wav';
import { memoryRegistrar, redisRegistrar, type Registrar } from './registrar';
import { RtpengineMedia, listenForDtmf, CALLER_TAG, type AnchoredCall, type ForkParty, type RtpengineOptions } from './rtpengine-media';
import { pickCodec, SUPPORTED_CODECS_WARNING } from './sdp';

/**
 * The production SIP edge (生产环境 SIP 边缘): drachtio-srf connected to a drachtio-server, which owns
 * the SIP transport and transactions (retransmissions, 481 for unknown dialogs, 487 after CANCEL),
 * and rtpengine anchoring the media of both legs (prompts, the caller↔agent bridge, pcap recording).
 *
 * Several app nodes may connect to one drachtio-server: it shares new INVITEs and REGISTERs among
 * them, each call then lives on the node that took it (its dialogs are that node's). Registrations
 * go to Redis when one is configured, so any node can ring any registered phone.
 */

export interface EdgeLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What of drachtio-srf the edge uses: `new Srf()` in production, a request/response double in tests. */
export interface SrfLike {
  connect(opts: { host: string; port: number; secret: string }): unknown;
  disconnect(): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
  invite(handler: (req: Srf.SrfRequest, res: Srf.SrfResponse) => void): void;
  use(method: string, handler: (req: Srf.SrfRequest, res: Srf.SrfResponse, next: () => void) => void): void;
  createUAS(req: Srf.SrfRequest, res: Srf.SrfResponse, opts: Srf.CreateUASOptions): Promise<Srf.Dialog>;
  createUAC(uri: string, opts: Srf.CreateUACOptions, progress: { cbRequest?: (req: Srf.SrfRequest) => void; cbProvisional?: (res: Srf.SrfResponse) => void }): Promise<Srf.Dialog>;
}

export interface DrachtioSipEdgeOptions {
  /** drachtio-server's admin (control) address and shared secret. */
  drachtio: { host: string; port: number; secret: string };
  /** rtpengine's ng control address (and its caller/agent interfaces when they differ). */
  rtpengine: RtpengineOptions;
  /** Where this node receives rtpengine's DTMF log (rtpengine's `--dtmf-log-dest`); null: no DTMF. */
  dtmfListen: { host: string; port: number } | null;
  /**
   * rtpengine's `--recording-dir` as this node sees it (a shared volume, read-only is enough); null:
   * calls are not recorded.
   */
  rtpengineRecordingDir: string | null;
  /** Where the stereo WAVs are written (one folder per day). */
  recordingsDir: string;
  /** The SIP realm of REGISTER digest auth (what phones are configured with). */
  realm: string;
  credentials: SipCredentials;
  /** Shared registrar for several app nodes; without it registrations live in this process. */
  redis?: { client: Redis; prefix: string } | null;
  /** INVITEs per second and burst per source IP; `exempt`: the carrier's SBC addresses. */
  inviteLimit?: { perSecond: number; burst: number; exempt?: string[] };
  /** Registration lifetimes phones may ask for (seconds). */
  registerExpires?: { min: number; max: number };
  /**
   * How often answered calls are checked against rtpengine, which drops a call after its `timeout`
   * seconds without RTP (set in rtpengine.conf): such a call ends with `media_timeout`.
   */
  mediaCheckIntervalMs?: number;
  /** How long start() waits for drachtio-server before carrying on (it keeps reconnecting). */
  connectTimeoutMs?: number;
  logger?: EdgeLogger;
  /**
   * The app's RTP receiver for the media fork (媒体分流), built over the tap `setMediaTap` is given:
   * rtpengine sends each party's RTP there (docs/speech.md). Unset: no call is forked, said at the tap.
   */
  mediaFork?: (tap: MediaTap) => MediaForkReceiver;
  /** Test seam: the Srf instance (default `new Srf()`). */
  createSrf?: () => SrfLike;
}

interface AgentLeg {
  id: string;
  username: string;
  state: 'ringing' | 'answered' | 'failed';
  req: Srf.SrfRequest | null;
  /** Set when we decided to stop ringing before drachtio handed us the request to cancel. */
  cancelPending: boolean;
  ringingSent: boolean;
  timer: NodeJS.Timeout | null;
  dialog: Srf.Dialog | null;
}

interface CallState {
  id: string;
  req: Srf.SrfRequest;
  res: Srf.SrfResponse;
  codec: Codec;
  state: 'offered' | 'answered' | 'ended';
  answering: Promise<void> | null;
  media: AnchoredCall | null;
  dialog: Srf.Dialog | null;
  legs: Map<string, AgentLeg>;
  bridged: AgentLeg | null;
  prompt: { id: string; timer: NodeJS.Timeout | null } | null;
  callerNumber: string;
  callerName: string | null;
  answeredAt: number | null;
  /** The parties rtpengine forks to the media receiver now (or is being asked to). */
  forks: Set<ForkParty>;
}

const RETRY_AFTER_FLOOD_DEFAULT = { perSecond: 5, burst: 20 };

/** The user part of a SIP/tel URI in a header value (`"Name" <sip:123@host>;tag=…` → `123`). */
export function userOf(header: string | undefined | null): string | null {
  if (!header) return null;
  // A sip: URI has a user part only before an '@' (sip:gw.example has none); a tel: URI is all number.
  const m = /(?:^|<|\s)(?:sips?:([^@;>?\s]+)@|tel:([^;>?\s]+))/i.exec(header);
  const user = m ? m[1] ?? m[2] : null;
  if (!user) return null;
  try { return decodeURIComponent(user); } catch { return user; }
}

function displayNameOf(header: string | undefined | null): string | null {
  if (!header) return null;
  const quoted = /^\s*"((?:[^"\\]|\\.)*)"\s*</.exec(header);
  if (quoted) return quoted[1].replace(/\\(.)/g, '$1') || null;
  const token = /^\s*([^<"]+?)\s*</.exec(header);
  return token ? token[1] : null;
}

function uriIn(header: string): string | null {
  const angle = /<([^>]+)>/.exec(header);
  if (angle) return angle[1];
  const bare = /^\s*(sips?:[^;\s]+)/i.exec(header);
  return bare ? bare[1] : null;
}

/** A number as a SIP URI user part (RFC 3261 §25.1 `user`: unreserved and user-unreserved characters kept). */
const sipUser = (s: string) => s.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) => encodeURIComponent(c));

const failureOf = (status: number | undefined): AgentLegFailure =>
  status === 486 || status === 600 ? AgentLegFailure.busy : status === 603 ? AgentLegFailure.declined : AgentLegFailure.unreachable;

export function createDrachtioSipEdge(opts: DrachtioSipEdgeOptions): SipEdge {
  const log: EdgeLogger = opts.logger ?? { info() {}, warn() {}, error() {} };
  const calls = new Map<string, CallState>();
  const media = new RtpengineMedia(opts.rtpengine);
  const registrar: Registrar = opts.redis ? redisRegistrar(opts.redis.client, opts.redis.prefix) : memoryRegistrar();
  const inviteLimit = new FloodLimit(opts.inviteLimit ?? RETRY_AFTER_FLOOD_DEFAULT);
  // Wrong passwords per source: a phone with a stale password retries a few times, a guesser is held off.
  const authFailures = new FloodLimit({ perSecond: 0.1, burst: 10 });
  const digest = new DigestAuth(opts.realm, `${opts.drachtio.secret}:${opts.realm}`);
  const expires = opts.registerExpires ?? { min: 60, max: 3600 };
  let srf: SrfLike | null = null;
  let onEvent: (e: EdgeEvent) => void = () => {};
  let connected = false;
  let connectedTo = '';
  let lastError: string | undefined;
  let dtmf: { close(): Promise<void> } | null = null;
  let mediaWatch: NodeJS.Timeout | null = null;

  const emit = (e: EdgeEvent) => {
    try { onEvent(e); } catch (err) { log.error({ err, event: e.type }, 'telephony edge event handler failed'); }
  };

  const live = (callId: string): CallState => {
    const call = calls.get(callId);
    if (!call) throw notFound('call_not_found', `No call ${callId} on this edge`, `此节点上没有呼叫 ${callId}`);
    return call;
  };
  const notEnded = (call: CallState) => {
    if (call.state === 'ended') throw conflict('call_ended', 'The call is already over', '呼叫已结束');
  };

  // --- inbound calls ------------------------------------------------------------------------

  function onInvite(req: Srf.SrfRequest, res: Srf.SrfResponse): void {
    const sourceIp = req.source_address;
    const source = `${sourceIp}:${req.source_port}`;
    if (!inviteLimit.take(sourceIp)) {
      const retry = inviteLimit.retryAfterSeconds(sourceIp);
      log.warn({ source, callId: req.get('Call-ID') }, 'INVITE flood: 503 with Retry-After');
      res.send(503, { headers: { 'Retry-After': String(retry) } });
      return;
    }
    // No SDP at all (a late-offer INVITE) is refused the same way: the edge needs the caller's offer to anchor media.
    const codec = pickCodec(req.body);
    if (!codec) {
      log.warn({ source, callId: req.get('Call-ID') }, 'INVITE without PCMU/PCMA: 488');
      res.send(488, {
        headers: { Warning: SUPPORTED_CODECS_WARNING, 'Content-Type': 'application/sdp' },
        body: 'v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 0 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n',
      });
      return;
    }
    const from = req.get('From');
    const pai = req.has('P-Asserted-Identity') ? req.get('P-Asserted-Identity') : null;
    const callerNumber = userOf(pai) ?? userOf(from) ?? 'anonymous';
    const callerName = displayNameOf(pai) ?? displayNameOf(from);
    const call: CallState = {
      id: newId(), req, res, codec, state: 'offered', answering: null, media: null, dialog: null,
      legs: new Map(), bridged: null, prompt: null, callerNumber, callerName, answeredAt: null, forks: new Set(),
    };
    calls.set(call.id, call);
    req.on('cancel', () => {
      // drachtio-server has answered the CANCEL with 200 and the INVITE with 487.
      if (call.state === 'offered') void finish(call, EndCause.callerCancelled, 487, { callerGone: true });
    });
    const offered: InboundCall = {
      callId: call.id, callerNumber, callerName, dialledNumber: userOf(req.uri) ?? '', source, codec, at: new Date(),
    };
    log.info({ callId: call.id, sipCallId: req.get('Call-ID'), source, dnis: offered.dialledNumber }, 'call offered');
    emit({ type: 'call.offered', call: offered });
  }

  async function doAnswer(call: CallState): Promise<void> {
    const anchored = await media.anchorCaller(call.id, call.req.body, { record: opts.rtpengineRecordingDir !== null });
    call.media = anchored;
    if (call.state === 'ended') { await media.delete(call.id); throw conflict('call_ended', 'The caller left before the answer', '应答前来电方已挂机'); }
    const dialog = await srf!.createUAS(call.req, call.res, { localSdp: anchored.sdpForCaller });
    call.dialog = dialog;
    // The caller may have cancelled while the 200 OK was on its way (re-read: the await let it change).
    if ((call.state as CallState['state']) === 'ended') { dialog.destroy(); return; }
    call.state = 'answered';
    call.answeredAt = Date.now();
    dialog.on('destroy', () => void finish(call, EndCause.callerHangup, null, { callerGone: true }));
    dialog.on('modify', (req, res) => {
      media.reofferFromCaller(call.id, req.body, call.bridged?.dialog?.remote.sdp ?? null).then(
        (sdp) => res.send(200, { body: sdp, headers: { 'Content-Type': 'application/sdp' } }),
        (err) => { log.warn({ err, callId: call.id }, 'caller re-INVITE refused'); res.send(488, { headers: { Warning: SUPPORTED_CODECS_WARNING } }); },
      );
    });
    emit({ type: 'call.answered', callId: call.id, at: new Date() });
    void startFork(call, 'caller');
  }

  // --- the media fork (媒体分流): each party's RTP to the app's receiver, for live transcripts ----

  let receiver: MediaForkReceiver | null = null;

  /** Has rtpengine fork a party of an answered call to the receiver; a failure costs the transcript, not the call. */
  async function startFork(call: CallState, party: ForkParty): Promise<void> {
    const to = receiver;
    if (!to || call.state !== 'answered' || call.forks.has(party)) return;
    call.forks.add(party);
    // The agent's stream starts at the bridge: its segments are placed after the caller's on one axis.
    const offsetMs = party === 'agent' && call.answeredAt !== null ? Math.max(0, Date.now() - call.answeredAt) : 0;
    try {
      await media.fork(call.id, party, (source) =>
        to.open({ callId: call.id, party, sampleRate: 8000, language: 'zh-CN', offsetMs, ...(source ? { source } : {}) }));
    } catch (err) {
      call.forks.delete(party);
      to.close(call.id, party);
      if (call.state === 'answered') log.error({ err, callId: call.id, party }, 'rtpengine media fork failed: no transcript of this party');
      return;
    }
    // The call ended, or the tap changed, while rtpengine was asked: whatever stopped it meanwhile may
    // have found the receiver's port not yet open, so this fork is undone here in full.
    if (call.state !== 'answered' || receiver !== to) {
      call.forks.delete(party);
      await media.unfork(call.id, party).catch(() => {});
      to.close(call.id, party);
    }
  }

  async function stopFork(call: CallState, party: ForkParty, from: MediaForkReceiver | null = receiver): Promise<void> {
    if (!call.forks.delete(party)) return;
    await media.unfork(call.id, party).catch((err) => log.warn({ err, callId: call.id, party }, 'rtpengine unsubscribe failed'));
    from?.close(call.id, party);
  }

  const stopForks = (call: CallState, from: MediaForkReceiver | null = receiver) =>
    Promise.all([...call.forks].map((party) => stopFork(call, party, from)));

  // --- the end of a call: one place, idempotent ---------------------------------------------

  async function finish(call: CallState, cause: EndCause, sipStatus: number | null, how: { callerGone?: boolean; agentGone?: AgentLeg; finalStatus?: number } = {}): Promise<void> {
    if (call.state === 'ended') return;
    const wasAnswered = call.state === 'answered';
    call.state = 'ended';
    if (call.prompt?.timer) clearTimeout(call.prompt.timer);
    call.prompt = null;
    for (const leg of call.legs.values()) {
      if (leg.state === 'ringing') stopRinging(call, leg, AgentLegFailure.cancelled);
      else if (leg.state === 'answered' && leg !== how.agentGone) leg.dialog?.destroy();
    }
    if (!how.callerGone) {
      if (wasAnswered) call.dialog?.destroy();
      else if (!call.res.finalResponseSent) call.res.send(how.finalStatus ?? 480);
    }
    // The forks first: no more of the call's audio reaches the receiver, the tap's streams end.
    if (call.forks.size) await stopForks(call);
    if (call.media) await media.delete(call.id).catch((err) => log.error({ err, callId: call.id }, 'rtpengine delete failed'));
    log.info({ callId: call.id, cause, sipStatus }, 'call ended');
    emit({ type: 'call.ended', callId: call.id, cause, sipStatus, at: new Date() });
    // Commands on an ended call stay answerable (idempotent hang-up) for a while, then it is forgotten.
    setTimeout(() => calls.delete(call.id), 60_000).unref();
    if (call.media && opts.rtpengineRecordingDir) void produceRecording(call.id, call.media.callerFacingPort);
  }

  async function produceRecording(callId: string, callerFacingPort: number): Promise<void> {
    const dir = opts.rtpengineRecordingDir!;
    try {
      // rtpengine moves the call's metadata file out of tmp/ once the pcap is closed.
      const deadline = Date.now() + 10_000;
      let pcap: string | undefined;
      for (;;) {
        const meta = (await readdir(join(dir, 'metadata')).catch(() => [] as string[])).some((f) => f.includes(`${callId}-`));
        pcap = (await readdir(join(dir, 'pcaps')).catch(() => [] as string[])).find((f) => f.startsWith(`${callId}-`) && f.endsWith('.pcap'));
        if ((meta && pcap) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!pcap) { log.warn({ callId }, 'no rtpengine recording found for the call'); return; }
      const day = chinaDate(new Date()); // the city's day (UTC+8), as the console shows it
      await mkdir(join(opts.recordingsDir, day), { recursive: true });
      const file = await pcapToStereoWav(join(dir, 'pcaps', pcap), join(opts.recordingsDir, day, `${callId}.wav`), { callerFacingPort });
      emit({ type: 'recording.ready', callId, file, at: new Date() });
    } catch (err) {
      log.error({ err, callId }, 'turning the rtpengine recording into a WAV failed');
    }
  }

  // --- agent legs (B2BUA) -------------------------------------------------------------------

  function stopRinging(call: CallState, leg: AgentLeg, reason: AgentLegFailure): void {
    if (leg.state !== 'ringing') return;
    leg.state = 'failed';
    if (leg.timer) clearTimeout(leg.timer);
    if (leg.req) { try { leg.req.cancel(() => {}); } catch (err) { log.warn({ err, legId: leg.id }, 'CANCEL to the agent phone failed'); } }
    else leg.cancelPending = true;
    emit({ type: 'agent.failed', callId: call.id, legId: leg.id, reason, sipStatus: null, at: new Date() });
  }

  async function onAgentAnswered(call: CallState, leg: AgentLeg, dialog: Srf.Dialog): Promise<void> {
    if (leg.timer) clearTimeout(leg.timer);
    // The 200 OK crossed our CANCEL, or another phone was quicker: this one is not wanted.
    if (leg.state !== 'ringing' || call.state !== 'answered' || call.bridged) {
      dialog.destroy();
      if (leg.state === 'ringing') {
        leg.state = 'failed';
        emit({ type: 'agent.failed', callId: call.id, legId: leg.id, reason: AgentLegFailure.cancelled, sipStatus: null, at: new Date() });
      }
      return;
    }
    // Claimed before any await: a second phone answering meanwhile is hung up, not bridged too.
    call.bridged = leg;
    const release = () => { if (call.bridged === leg) call.bridged = null; dialog.destroy(); };
    try {
      await media.stop(call.id);
      await media.bridgeAgent(call.id, dialog.remote.sdp);
    } catch (err) {
      log.error({ err, callId: call.id, legId: leg.id }, 'bridging the agent in rtpengine failed');
      release();
      if (leg.state !== 'ringing') return;
      leg.state = 'failed';
      emit({ type: 'agent.failed', callId: call.id, legId: leg.id, reason: AgentLegFailure.unreachable, sipStatus: null, at: new Date() });
      return;
    }
    // The call ended or the offer was cancelled while rtpengine was busy (both already reported).
    if (call.state !== 'answered' || leg.state !== 'ringing') { release(); return; }
    if (call.prompt?.timer) clearTimeout(call.prompt.timer);
    call.prompt = null;
    leg.state = 'answered';
    leg.dialog = dialog;
    dialog.on('destroy', () => void finish(call, EndCause.agentHangup, null, { agentGone: leg }));
    dialog.on('modify', (req, res) => {
      media.reofferFromAgent(call.id, req.body, call.dialog?.remote.sdp ?? call.req.body).then(
        (sdp) => res.send(200, { body: sdp, headers: { 'Content-Type': 'application/sdp' } }),
        (err) => { log.warn({ err, callId: call.id, legId: leg.id }, 'agent re-INVITE refused'); res.send(488, { headers: { Warning: SUPPORTED_CODECS_WARNING } }); },
      );
    });
    emit({ type: 'agent.answered', callId: call.id, legId: leg.id, at: new Date() });
    void startFork(call, 'agent');
  }

  // --- REGISTER -----------------------------------------------------------------------------

  async function onRegister(req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> {
    const sourceIp = req.source_address;
    const source = `${sourceIp}:${req.source_port}`;
    const aorUser = userOf(req.get('To'));
    const contactHeader = req.has('Contact') ? req.get('Contact') : '';
    if (!aorUser) { res.send(400); return; }
    const verdict = await digest.verify(req.get('Authorization') || undefined, 'REGISTER', (u, r) => opts.credentials.ha1(u, r));
    if (!verdict.ok) {
      if (verdict.reason === 'missing' || verdict.reason === 'stale') {
        res.send(401, { headers: { 'WWW-Authenticate': digest.challenge(Date.now(), verdict.reason === 'stale').header } });
        return;
      }
      log.warn({ source, username: aorUser, reason: verdict.reason }, 'REGISTER refused');
      if (!authFailures.take(sourceIp)) {
        res.send(503, { headers: { 'Retry-After': String(authFailures.retryAfterSeconds(sourceIp)) } });
        return;
      }
      res.send(403);
      return;
    }
    // A phone may only register its own AOR.
    if (verdict.username !== aorUser) { log.warn({ source, username: verdict.username, aor: aorUser }, 'REGISTER for another AOR'); res.send(403); return; }
    const username = verdict.username;
    if (!contactHeader) {
      // A query: who is bound.
      const b = await registrar.lookup(username);
      res.send(200, b ? { headers: { Contact: `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt.getTime() - Date.now()) / 1000))}` } } : {});
      return;
    }
    const contactParams = /;\s*expires\s*=\s*(\d+)/i.exec(contactHeader.replace(/<[^>]*>/, ''));
    const asked = contactParams ? Number(contactParams[1]) : req.has('Expires') ? Number(req.get('Expires')) : 3600;
    const contact = contactHeader.trim() === '*' ? '*' : uriIn(contactHeader);
    if (!contact || !Number.isInteger(asked) || asked < 0) { res.send(400); return; }
    if (asked === 0 || contact === '*') {
      const removed = await registrar.remove(username, contact === '*' ? undefined : contact);
      res.send(200);
      if (removed) emit({ type: 'endpoint.unregistered', username, at: new Date() });
      return;
    }
    if (asked < expires.min) { res.send(423, { headers: { 'Min-Expires': String(expires.min) } }); return; }
    const seconds = Math.min(asked, expires.max);
    const expiresAt = new Date(Date.now() + seconds * 1000);
    await registrar.save({ username, contact, source, expiresAt });
    res.send(200, { headers: { Contact: `<${contact}>;expires=${seconds}`, Expires: String(seconds) } });
    emit({ type: 'endpoint.registered', username, contact, expiresAt });
  }

  /** A caller whose line died sends no BYE; rtpengine notices the silence and drops the media. */
  async function checkMedia(): Promise<void> {
    for (const call of [...calls.values()]) {
      if (call.state !== 'answered') continue;
      if ((await media.exists(call.id)) === false) {
        log.warn({ callId: call.id }, 'rtpengine dropped the call (no media): ending it');
        await finish(call, EndCause.mediaTimeout, null);
      }
    }
  }

  // --- the port -----------------------------------------------------------------------------

  const edge: SipEdge = {
    kind: 'drachtio',

    async start(handler) {
      onEvent = handler;
      if (opts.dtmfListen) {
        dtmf = await listenForDtmf(opts.dtmfListen, (d) => {
          const call = calls.get(d.callId);
          // Only the caller's digits (IVR, callback confirmation); the agent's keypad is not ours to read.
          if (call && call.state === 'answered' && d.fromTag === CALLER_TAG) emit({ type: 'call.dtmf', callId: call.id, digit: d.digit, at: d.at });
        });
      }
      const s = srf = (opts.createSrf ?? (() => new Srf() as unknown as SrfLike))();
      s.invite((req, res) => onInvite(req, res));
      s.use('register', (req, res) => {
        onRegister(req, res).catch((err) => {
          log.error({ err }, 'REGISTER handling failed');
          if (!res.finalResponseSent) res.send(500);
        });
      });
      // In-dialog requests of dialogs we know never get here (drachtio-srf's dialog layer takes them first).
      s.use('bye', (_req, res) => res.send(481));
      const first = new Promise<void>((resolve, reject) => {
        s.on('connect', (err: Error | null, hostport?: string) => {
          if (err) {
            lastError = err.message;
            log.error({ err }, 'drachtio-server refused the connection (check DRACHTIO_SECRET)');
            reject(new Error(`drachtio-server at ${opts.drachtio.host}:${opts.drachtio.port} refused the connection: ${err.message}`));
            return;
          }
          connected = true;
          connectedTo = hostport ?? '';
          lastError = undefined;
          log.info({ sip: hostport }, 'connected to drachtio-server');
          resolve();
        });
      });
      first.catch(() => {});
      s.on('error', (err: Error) => { lastError = err.message; log.warn({ err }, 'drachtio-server connection error (reconnecting)'); });
      s.on('reconnecting', () => { connected = false; });
      s.on('close', () => { connected = false; log.warn({}, 'drachtio-server connection closed (reconnecting)'); });
      s.connect(opts.drachtio);
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        first.then(() => 'connected' as const),
        new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), opts.connectTimeoutMs ?? 10_000); }),
      ]).finally(() => clearTimeout(timer));
      if (waited === 'timeout') log.warn({ drachtio: `${opts.drachtio.host}:${opts.drachtio.port}` }, 'drachtio-server not reachable yet; calls are refused until it is (still trying)');
      if (!(await media.ping())) log.warn({ rtpengine: `${opts.rtpengine.host}:${opts.rtpengine.port}` }, 'rtpengine does not answer ng ping');
      let checking = false;
      mediaWatch = setInterval(() => {
        if (checking) return;
        checking = true;
        checkMedia().catch((err) => log.error({ err }, 'media check failed')).finally(() => { checking = false; });
      }, opts.mediaCheckIntervalMs ?? 10_000);
      mediaWatch.unref();
    },

    async stop() {
      if (mediaWatch) clearInterval(mediaWatch);
      mediaWatch = null;
      await Promise.all([...calls.values()].map((c) => finish(c, EndCause.systemHangup, null)));
      await receiver?.stop();
      receiver = null;
      try { srf?.disconnect(); } catch { /* not connected */ }
      connected = false;
      await dtmf?.close();
      dtmf = null;
      media.close();
    },

    async ring(callId) {
      const call = live(callId);
      notEnded(call);
      if (call.state === 'offered' && !call.res.finalResponseSent) call.res.send(180);
    },

    async answer(callId) {
      const call = live(callId);
      if (call.state === 'answered') return;
      notEnded(call);
      call.answering ??= doAnswer(call).catch(async (err) => {
        call.answering = null;
        if (err instanceof AppError) throw err;
        log.error({ err, callId }, 'answering the call failed');
        await finish(call, EndCause.failed, 500, { finalStatus: 500 });
        throw err;
      });
      await call.answering;
    },

    async reject(callId, sipStatus, o = {}) {
      const call = live(callId);
      if (call.state === 'ended') return;
      if (call.state === 'answered' || call.answering) throw conflict('call_already_answered', 'An answered call cannot be rejected; hang it up', '已应答的呼叫不能拒接，请挂断');
      if (sipStatus < 300 || sipStatus > 699) throw conflict('bad_sip_status', `A rejection needs a final failure status, not ${sipStatus}`, `拒接需要 3xx–6xx 状态码，而不是 ${sipStatus}`);
      const headers: Record<string, string> = {};
      if (o.retryAfterSeconds) headers['Retry-After'] = String(o.retryAfterSeconds);
      if (sipStatus === 488) headers.Warning = SUPPORTED_CODECS_WARNING;
      call.res.send(sipStatus, { headers });
      await finish(call, EndCause.rejected, sipStatus, { callerGone: true });
    },

    async playPrompt(callId, prompt: Prompt) {
      const call = live(callId);
      notEnded(call);
      if (call.state !== 'answered') throw conflict('call_not_answered', 'Prompts play on an answered call', '呼叫未应答，不能放音');
      if (call.prompt?.timer) clearTimeout(call.prompt.timer);
      const current = { id: prompt.id, timer: null as NodeJS.Timeout | null };
      call.prompt = current;
      const durationMs = await media.play(call.id, prompt.file, prompt.loop === true);
      if (!prompt.loop && durationMs !== null && call.prompt === current) {
        current.timer = setTimeout(() => {
          if (call.prompt !== current || call.state !== 'answered') return;
          call.prompt = null;
          emit({ type: 'prompt.finished', callId: call.id, promptId: prompt.id, at: new Date() });
        }, durationMs);
      }
    },

    async stopPrompt(callId) {
      const call = live(callId);
      if (call.state !== 'answered') return;
      if (call.prompt?.timer) clearTimeout(call.prompt.timer);
      call.prompt = null;
      await media.stop(call.id);
    },

    // A call not yet answered is answered first: the agent leg's SDP is rtpengine's, which needs the caller anchored.
    async offerToAgent(callId, agent, o) {
      const call = live(callId);
      notEnded(call);
      if (call.bridged) throw conflict('call_already_bridged', 'The call is already with an agent', '呼叫已接通坐席');
      if (call.state !== 'answered') await edge.answer(callId);
      const leg: AgentLeg = { id: newId(), username: agent.username, state: 'ringing', req: null, cancelPending: false, ringingSent: false, timer: null, dialog: null };
      call.legs.set(leg.id, leg);
      const binding = await registrar.lookup(agent.username);
      if (!binding) {
        leg.state = 'failed';
        setImmediate(() => emit({ type: 'agent.failed', callId, legId: leg.id, reason: AgentLegFailure.unreachable, sipStatus: null, at: new Date() }));
        return leg.id;
      }
      leg.timer = setTimeout(() => stopRinging(call, leg, AgentLegFailure.noAnswer), o.ringTimeoutMs);
      const display = (o.callerDisplay ?? call.callerName ?? call.callerNumber).replace(/["\\\r\n]/g, '');
      srf!.createUAC(binding.contact, {
        localSdp: call.media!.sdpForAgent,
        // Send to where the REGISTER came from: a phone behind NAT is not reachable at its Contact.
        proxy: `sip:${binding.source}`,
        headers: { From: `"${display}" <sip:${sipUser(call.callerNumber)}@${opts.realm}>`, 'X-Hotline-Call-Id': call.id },
      }, {
        cbRequest: (req) => {
          leg.req = req;
          if (leg.cancelPending) { try { req.cancel(() => {}); } catch { /* already final */ } }
        },
        cbProvisional: (res) => {
          if (leg.state === 'ringing' && !leg.ringingSent && (res.status === 180 || res.status === 183)) {
            leg.ringingSent = true;
            emit({ type: 'agent.ringing', callId, legId: leg.id, at: new Date() });
          }
        },
      }).then(
        (dialog) => onAgentAnswered(call, leg, dialog),
        (err: { status?: number }) => {
          if (leg.timer) clearTimeout(leg.timer);
          if (leg.state !== 'ringing') return; // we stopped it and said so already
          leg.state = 'failed';
          emit({ type: 'agent.failed', callId, legId: leg.id, reason: failureOf(err.status), sipStatus: err.status ?? null, at: new Date() });
        },
      );
      return leg.id;
    },

    async cancelAgentOffer(callId, legId) {
      const call = live(callId);
      const leg = call.legs.get(legId);
      if (!leg) throw notFound('agent_leg_not_found', `No agent leg ${legId} on call ${callId}`, `呼叫 ${callId} 没有坐席分支 ${legId}`);
      stopRinging(call, leg, AgentLegFailure.cancelled);
    },

    async hangUp(callId, cause) {
      const call = live(callId);
      await finish(call, cause, null);
    },

    async registrations() {
      return (await registrar.list()).map((b) => ({ username: b.username, contact: b.contact, expiresAt: b.expiresAt }));
    },

    setMediaTap(tap) {
      const old = receiver;
      receiver = tap && opts.mediaFork ? opts.mediaFork(tap) : null;
      if (tap && !opts.mediaFork) log.warn({}, 'media tap set but no media receiver configured (mediaFork): drachtio calls get no transcript');
      const next = receiver;
      void (async () => {
        // The old receiver's forks are gone from rtpengine before the same tags are subscribed again.
        if (old) {
          await Promise.all([...calls.values()].map((c) => stopForks(c, old)));
          await old.stop();
        }
        if (!next || receiver !== next) return;
        // Calls already up are forked from now on.
        for (const c of calls.values()) {
          if (c.state !== 'answered') continue;
          void startFork(c, 'caller');
          if (c.bridged?.state === 'answered') void startFork(c, 'agent');
        }
      })().catch((err) => log.error({ err }, 'changing the media tap failed'));
    },

    async health(): Promise<SipEdgeHealth> {
      const rtpOk = await media.ping();
      const active = [...calls.values()].filter((c) => c.state !== 'ended').length;
      const registered = (await registrar.list().catch(() => [])).length;
      const problems = [!connected && `drachtio-server ${opts.drachtio.host}:${opts.drachtio.port} not connected${lastError ? ` (${lastError})` : ''}`, !rtpOk && `rtpengine ${opts.rtpengine.host}:${opts.rtpengine.port} not answering`].filter(Boolean);
      return {
        edge: 'drachtio',
        ok: connected && rtpOk,
        listening: `drachtio ${opts.drachtio.host}:${opts.drachtio.port}${connectedTo ? ` (sip ${connectedTo})` : ''}`,
        activeCalls: active,
        registeredEndpoints: registered,
        ...(problems.length ? { detail: problems.join('; ') } : {}),
      };
    },
  };
  return edge;
}
