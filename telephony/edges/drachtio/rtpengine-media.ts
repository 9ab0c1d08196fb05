import dgram from 'node:dgram';
import { Client, type NgReply, type NgTarget } from 'rtpengine-client';
import { audioPort } from './sdp';

/**
 * Media for a hotline call, anchored on rtpengine over the ng protocol (媒体锚定). One rtpengine
 * "call" per hotline call, keyed by the edge's own call id, with two fixed tags: `caller` (the
 * citizen's leg) and `agent` (the side that faces whichever agent phone is bridged in).
 *
 * The caller is answered before any agent exists (queue, prompts), so the agent side starts as a
 * placeholder answer pointing at the discard port (127.0.0.1:9 on rtpengine's host: the caller's
 * RTP goes nowhere until an agent is bridged). It cannot be 0.0.0.0: rtpengine reads that as hold
 * and would answer the caller sendonly with c=0.0.0.0, and the caller would send nothing. The SDP rtpengine produced for the agent side is offered to each agent phone in
 * turn; when one answers, its SDP is given as the agent side's answer and media flows both ways.
 * The caller's ports never change, so the caller needs no re-INVITE.
 */

export const CALLER_TAG = 'caller';
export const AGENT_TAG = 'agent';

/** Whose audio a media fork (媒体分流) carries: the party rtpengine knows by the same tag. */
export type ForkParty = typeof CALLER_TAG | typeof AGENT_TAG;
/** The subscriber tag of each party's fork in the rtpengine call (one subscription per party, so the speaker is known). */
export const FORK_TAG: Readonly<Record<ForkParty, string>> = { caller: 'speech-caller', agent: 'speech-agent' };

export interface AnchoredCall {
  /** The SDP for the 200 OK to the caller (rtpengine's caller-facing ports). */
  sdpForCaller: string;
  /** The SDP offered to agent phones (rtpengine's agent-facing ports). */
  sdpForAgent: string;
  /** rtpengine's port the caller sends RTP to: the direction key of the pcap recording. */
  callerFacingPort: number;
}

/**
 * The fork's answer to rtpengine's `subscribe request` offer: the same payload types (rtpengine
 * 10.5 refuses an answer that leaves out an offered one, e.g. telephone-event, with "Failed to
 * process subscription answer"), receive-only, at the app's RTP receiver.
 */
export function forkAnswerOf(offer: string, to: { address: string; port: number }): string {
  const lines = offer.split(/\r?\n/).filter((l) => l !== '');
  const out: string[] = [];
  for (const l of lines) {
    if (/^a=(rtcp|sendonly|sendrecv|recvonly|inactive|ice-|candidate|fingerprint|setup)/.test(l)) continue;
    if (l.startsWith('c=')) out.push(`c=IN IP4 ${to.address}`);
    else if (l.startsWith('m=audio ')) out.push(l.replace(/^m=audio \d+/, `m=audio ${to.port}`));
    else out.push(l);
  }
  out.push('a=recvonly');
  return `${out.join('\r\n')}\r\n`;
}

/** Where rtpengine sends a fork from: the address and port of its `subscribe request` offer. */
function forkSourceOf(offer: string): { address: string; port: number } | null {
  const c = /^c=IN IP4 (\S+)/m.exec(offer);
  const port = audioPort(offer);
  return c && port ? { address: c[1], port } : null;
}

/** The agent side's answer while no agent is bridged: the discard port on rtpengine's host. */
const placeholderOf = (sdpForAgent: string) =>
  sdpForAgent.replace(/^c=IN IP4 .*$/gm, 'c=IN IP4 127.0.0.1').replace(/^m=audio \d+/m, 'm=audio 9').replace(/^a=rtcp:.*\r?\n/gm, '');

export class RtpengineError extends Error {
  constructor(readonly command: string, readonly reason: string) {
    super(`rtpengine ${command} failed: ${reason}`);
    this.name = 'RtpengineError';
  }
}

export interface RtpengineOptions {
  host: string;
  port: number;
  timeoutMs?: number;
  /**
   * rtpengine's logical interfaces (`--interface=NAME/IP`) facing the caller (the carrier) and the
   * agent phones, when they are different networks (a carrier line on one NIC, the agents' LAN on
   * another); unset: rtpengine's single interface serves both.
   */
  interfaces?: { caller: string; agent: string } | null;
}

export class RtpengineMedia {
  private clientSocket: Client | null = null;
  private readonly target: NgTarget;

  constructor(private readonly opts: RtpengineOptions) {
    this.target = { host: opts.host, port: opts.port };
  }

  /** The ng socket, opened on first use (building an edge opens nothing). */
  private get client(): Client {
    if (!this.clientSocket) {
      this.clientSocket = new Client({ timeout: this.opts.timeoutMs ?? 3000 });
      // A socket error (e.g. ICMP unreachable surfacing on some kernels) must not crash the process.
      this.clientSocket.on('error', () => {});
    }
    return this.clientSocket;
  }

  private async ng(command: keyof Client & string, cmd: string, params: Record<string, unknown>): Promise<NgReply> {
    const fn = this.client[command] as (t: NgTarget, p: Record<string, unknown>) => Promise<NgReply>;
    const reply = await fn.call(this.client, this.target, params);
    if (reply.result !== 'ok' && reply.result !== 'pong') throw new RtpengineError(cmd, String(reply['error-reason'] ?? reply.result));
    return reply;
  }

  async ping(): Promise<boolean> {
    try { return (await this.client.ping(this.target)).result === 'pong'; } catch { return false; }
  }

  /** Anchors the caller's offer; `record` starts the pcap recording with the call. */
  async anchorCaller(callId: string, callerSdp: string, opts: { record: boolean }): Promise<AnchoredCall> {
    const offer = await this.ng('offer', 'offer', {
      'call-id': callId,
      'from-tag': CALLER_TAG,
      sdp: callerSdp,
      replace: ['origin', 'session-connection'],
      // Only G.711 (and RFC 4733 DTMF) toward the agent: the recording decoder reads PCMU/PCMA.
      codec: { strip: ['all'], except: ['PCMU', 'PCMA', 'telephone-event'] },
      ICE: 'remove',
      'record call': opts.record ? 'yes' : 'no',
      ...(this.opts.interfaces ? { direction: [this.opts.interfaces.caller, this.opts.interfaces.agent] } : {}),
    });
    const sdpForAgent = offer.sdp!;
    const answer = await this.ng('answer', 'answer', {
      'call-id': callId, 'from-tag': CALLER_TAG, 'to-tag': AGENT_TAG, sdp: placeholderOf(sdpForAgent), replace: ['origin', 'session-connection'], ICE: 'remove',
    });
    const sdpForCaller = answer.sdp!;
    const callerFacingPort = audioPort(sdpForCaller);
    if (!callerFacingPort) throw new RtpengineError('answer', 'no audio port in the SDP for the caller');
    return { sdpForCaller, sdpForAgent, callerFacingPort };
  }

  /**
   * A re-INVITE from the caller (new address after an SBC failover, hold, a session refresh with
   * new SDP): its SDP becomes the caller side's new offer, the agent side keeps what it had (the
   * bridged phone's SDP, or the placeholder). Returns the SDP for the 200 OK to the caller.
   */
  async reofferFromCaller(callId: string, callerSdp: string, agentSdp: string | null): Promise<string> {
    const offer = await this.ng('offer', 'offer', {
      'call-id': callId, 'from-tag': CALLER_TAG, 'to-tag': AGENT_TAG, sdp: callerSdp, replace: ['origin', 'session-connection'], ICE: 'remove',
      codec: { strip: ['all'], except: ['PCMU', 'PCMA', 'telephone-event'] },
    });
    const answer = await this.ng('answer', 'answer', {
      'call-id': callId, 'from-tag': CALLER_TAG, 'to-tag': AGENT_TAG, sdp: agentSdp ?? placeholderOf(offer.sdp!), replace: ['origin', 'session-connection'], ICE: 'remove',
    });
    return answer.sdp!;
  }

  /** A re-INVITE from the bridged agent phone (hold, new address): returns the SDP for its 200 OK. */
  async reofferFromAgent(callId: string, agentSdp: string, callerSdp: string): Promise<string> {
    await this.ng('offer', 'offer', {
      'call-id': callId, 'from-tag': AGENT_TAG, 'to-tag': CALLER_TAG, sdp: agentSdp, replace: ['origin', 'session-connection'], ICE: 'remove',
    });
    const answer = await this.ng('answer', 'answer', {
      'call-id': callId, 'from-tag': AGENT_TAG, 'to-tag': CALLER_TAG, sdp: callerSdp, replace: ['origin', 'session-connection'], ICE: 'remove',
    });
    return answer.sdp!;
  }

  /** Bridges the agent phone that answered: its SDP becomes the agent side's answer. */
  async bridgeAgent(callId: string, agentSdp: string): Promise<void> {
    await this.ng('answer', 'answer', {
      'call-id': callId, 'from-tag': CALLER_TAG, 'to-tag': AGENT_TAG, sdp: agentSdp, replace: ['origin', 'session-connection'], ICE: 'remove',
    });
  }

  /** Plays a file to the caller; resolves with its duration in ms (rtpengine's reply), null if unknown. */
  async play(callId: string, file: string, loop: boolean): Promise<number | null> {
    const reply = await this.ng('playMedia', 'play media', {
      'call-id': callId, 'from-tag': CALLER_TAG, file, ...(loop ? { 'repeat-times': 10_000 } : {}),
    });
    return typeof reply.duration === 'number' ? reply.duration : null;
  }

  async stop(callId: string): Promise<void> {
    try {
      await this.ng('stopMedia', 'stop media', { 'call-id': callId, 'from-tag': CALLER_TAG });
    } catch (e) {
      // Nothing playing is not a failure.
      if (!(e instanceof RtpengineError)) throw e;
    }
  }

  /**
   * Whether rtpengine still holds the call. rtpengine drops a call whose media stopped for its
   * `timeout` (a caller whose network died sends no BYE); 10.5 cannot tell us, so the edge asks.
   * Null when rtpengine did not answer (not the call's fault: keep it).
   */
  async exists(callId: string): Promise<boolean | null> {
    try {
      const reply = await this.client.query(this.target, { 'call-id': callId });
      if (reply.result === 'ok') return true;
      return /unknown call/i.test(String(reply['error-reason'] ?? '')) ? false : null;
    } catch {
      return null;
    }
  }

  /**
   * Forks one party's media to the app (媒体分流): rtpengine 10.5's media subscription. A `subscribe
   * request` for the party's tag returns an offer (rtpengine's send-only stream, from the port in the
   * offer); `to` is told that source and says where to receive; the `subscribe answer` points the
   * stream there. rtpengine then sends a copy of every RTP packet that party sends, in the codec the
   * party uses (PCMU or PCMA, passed through; DTMF as RFC 4733), for as long as the call lives; it
   * survives the agent's bridge and either side's re-INVITE. (`start forwarding` exists in 10.5 too,
   * but it only switches rtpengine-recording's PCM forwarding on: it takes no destination.)
   */
  async fork(callId: string, party: ForkParty, to: (source: { address: string; port: number } | null) => Promise<{ address: string; port: number }>): Promise<void> {
    const offer = await this.ng('subscribeRequest', 'subscribe request', { 'call-id': callId, 'from-tag': party, 'to-tag': FORK_TAG[party] });
    try {
      const dest = await to(forkSourceOf(offer.sdp ?? ''));
      await this.ng('subscribeAnswer', 'subscribe answer', { 'call-id': callId, 'to-tag': FORK_TAG[party], sdp: forkAnswerOf(offer.sdp ?? '', dest), ICE: 'remove' });
    } catch (e) {
      await this.unfork(callId, party).catch(() => {});
      throw e;
    }
  }

  /** Stops a party's fork (`unsubscribe`); a call rtpengine no longer has (deleted, timed out) has none to stop. */
  async unfork(callId: string, party: ForkParty): Promise<void> {
    try {
      await this.ng('unsubscribe', 'unsubscribe', { 'call-id': callId, 'to-tag': FORK_TAG[party] });
    } catch (e) {
      if (!(e instanceof RtpengineError)) throw e;
    }
  }

  /** The subscriber tags rtpengine holds for the call (its `query`): what tests and operators check forks against. */
  async subscribersOf(callId: string): Promise<string[] | null> {
    const reply = await this.client.query(this.target, { 'call-id': callId });
    if (reply.result !== 'ok') return null;
    const tags = (reply.tags ?? {}) as Record<string, { subscribers?: { tag: string }[] }>;
    return Object.values(tags).flatMap((t) => (t.subscribers ?? []).map((x) => x.tag));
  }

  /** Ends the media at once (no 30 s grace), which also closes the pcap. */
  async delete(callId: string): Promise<void> {
    try {
      await this.ng('delete', 'delete', { 'call-id': callId, 'delete delay': 0 });
    } catch (e) {
      if (!(e instanceof RtpengineError)) throw e; // already gone ("Unknown call-id")
    }
  }

  close(): void {
    try { this.clientSocket?.close(); } catch { /* already closed */ }
    this.clientSocket = null;
  }
}

/** A digit rtpengine reported (RFC 4733 event from the caller's leg). */
export interface DtmfReport { callId: string; fromTag: string; digit: string; at: Date }

const DIGITS = '0123456789*#ABCD';

/**
 * rtpengine 10.5 reports DTMF only through `--dtmf-log-dest=IP:PORT` (one JSON datagram per
 * digit, e.g. `{"callid":…,"source_tag":"caller","event":5,…}`) or over a TCP ng link; the ng
 * `subscribe dtmf` request of later versions does not exist in 10.5. We take the UDP log: each
 * app node runs next to its own rtpengine and listens on the port that rtpengine logs to.
 */
export async function listenForDtmf(bind: { host: string; port: number }, onDigit: (d: DtmfReport) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg) => {
    try {
      const o = JSON.parse(msg.toString('utf8')) as { callid?: string; source_tag?: string; event?: number; type?: string; timestamp?: number };
      if (typeof o.callid !== 'string' || typeof o.event !== 'number' || (o.type && o.type !== 'DTMF')) return;
      const digit = DIGITS[o.event];
      if (!digit) return;
      onDigit({ callId: o.callid, fromTag: o.source_tag ?? '', digit, at: new Date() });
    } catch {
      // Not JSON: not from rtpengine; ignore.
    }
  });
  await new Promise<void>((resolve, reject) => { sock.once('error', reject); sock.bind(bind.port, bind.host, () => { sock.off('error', reject); resolve(); }); });
  sock.on('error', () => {});
  return { port: sock.address().port, close: () => new Promise((r) => sock.close(() => r())) };
}
