/**
 * SIP over UDP with the transaction rules of RFC 3261 §17 that a UA needs: retransmitted requests
 * get the last response again, final INVITE responses are resent until ACK, our requests are resent
 * until answered and time out with a 408. Messages are parsed and written by the `sip` package; the
 * socket is ours (see sip-package.d.ts for why).
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import * as sip from 'sip';
import type { SipMessage } from 'sip';

export interface Remote {
  address: string;
  port: number;
}

export interface EdgeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const newBranch = () => `z9hG4bK${randomBytes(8).toString('hex')}`;
export const newTag = () => randomBytes(6).toString('hex');

interface ServerTransaction {
  lastResponse: Buffer | null;
  remote: Remote;
  expiresAt: number;
  retransmit: NodeJS.Timeout | null;
}

interface ClientTransaction {
  isInvite: boolean;
  request: SipMessage;
  wire: Buffer;
  target: Remote;
  answered: boolean;
  final: boolean;
  resend: NodeJS.Timeout | null;
  timeout: NodeJS.Timeout | null;
  expiresAt: number;
  onResponse(rs: SipMessage): void;
}

export interface TransportOptions {
  host: string;
  port: number;
  /** The address peers reach us at (Via, Contact, SDP); defaults to `host` unless that is 0.0.0.0. */
  publicAddress: string;
  logger: EdgeLogger;
  /** Timer B/F: how long a request of ours waits for a final response (RFC 3261: 32 s). */
  transactionTimeoutMs: number;
  onRequest(rq: SipMessage, remote: Remote): void;
  /** A 2xx to an INVITE whose transaction is gone (the peer resends 200 until our ACK reaches it). */
  onStray2xx(rs: SipMessage, remote: Remote): void;
}

const T1 = 500;
const T2 = 4000;
const LINGER_MS = 32_000;

const txKey = (branch: string | null | undefined, method: string) => `${branch ?? ''}|${method}`;

export class SipTransport {
  private socket: Socket | null = null;
  private readonly server = new Map<string, ServerTransaction>();
  private readonly client = new Map<string, ClientTransaction>();
  private sweeper: NodeJS.Timeout | null = null;
  port = 0;
  malformed = 0;

  constructor(private readonly o: TransportOptions) {}

  async listen(): Promise<Remote> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.o.port, this.o.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (err) => this.o.logger.error({ err }, 'sip: socket error'));
    // A burst of INVITEs overflows the default ~200 KB receive buffer and the kernel drops datagrams
    // (an ACK and a BYE lost together leave a call nobody ends); ask for more, capped by rmem_max.
    try {
      socket.setRecvBufferSize(4 * 1024 * 1024);
    } catch {
      // the OS refused: the default stays
    }
    socket.on('message', (data, rinfo) => this.receive(data, { address: rinfo.address, port: rinfo.port }));
    this.socket = socket;
    this.port = socket.address().port;
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
    return { address: this.o.host, port: this.port };
  }

  get publicAddress(): string {
    return this.o.publicAddress;
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const t of this.server.values()) if (t.retransmit) clearTimeout(t.retransmit);
    for (const t of this.client.values()) this.stopClient(t);
    this.server.clear();
    this.client.clear();
    this.socket?.close();
    this.socket = null;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, t] of this.server) if (t.expiresAt < now) {
      if (t.retransmit) clearTimeout(t.retransmit);
      this.server.delete(k);
    }
    for (const [k, t] of this.client) if (t.final && t.expiresAt < now) this.client.delete(k);
  }

  private receive(data: Buffer, remote: Remote): void {
    let m: SipMessage | undefined;
    try {
      m = sip.parse(data);
    } catch {
      m = undefined;
    }
    const via = m?.headers.via;
    const wellFormed = m && Array.isArray(via) && via.length > 0 && m.headers['call-id'] && m.headers.to && m.headers.from && m.headers.cseq;
    if (!m || !wellFormed) {
      this.malformed++;
      this.o.logger.warn({ from: `${remote.address}:${remote.port}`, bytes: data.length, head: data.subarray(0, 80).toString('latin1') }, 'sip: malformed message dropped');
      // A request whose Via we could read gets a 400, so a broken client stops retransmitting.
      if (m?.method && m.method !== 'ACK' && Array.isArray(via) && via.length) {
        const rs: SipMessage = { status: 400, reason: 'Bad Request', version: '2.0', headers: { via, to: m.headers.to, from: m.headers.from, 'call-id': m.headers['call-id'], cseq: m.headers.cseq } };
        try {
          this.sendRaw(Buffer.from(sip.stringify(rs), 'binary'), remote);
        } catch {
          // nothing usable to answer with
        }
      }
      return;
    }
    if (m.method) this.receiveRequest(m, remote);
    else this.receiveResponse(m, remote);
  }

  private receiveRequest(rq: SipMessage, remote: Remote): void {
    const branch = rq.headers.via![0].params.branch;
    if (rq.method === 'ACK') {
      // An ACK for a non-2xx final response belongs to the INVITE transaction: it stops the resends.
      const t = this.server.get(txKey(branch, 'INVITE'));
      if (t && t.retransmit) {
        clearTimeout(t.retransmit);
        t.retransmit = null;
        return;
      }
      this.o.onRequest(rq, remote);
      return;
    }
    const key = txKey(branch, rq.method!);
    const existing = this.server.get(key);
    if (existing) {
      if (existing.lastResponse) this.sendRaw(existing.lastResponse, existing.remote);
      return;
    }
    this.server.set(key, { lastResponse: null, remote, expiresAt: Date.now() + LINGER_MS, retransmit: null });
    this.o.onRequest(rq, remote);
  }

  private receiveResponse(rs: SipMessage, remote: Remote): void {
    const key = txKey(rs.headers.via![0].params.branch, rs.headers.cseq!.method);
    const t = this.client.get(key);
    if (!t) {
      if (rs.headers.cseq!.method === 'INVITE' && rs.status! >= 200 && rs.status! < 300) this.o.onStray2xx(rs, remote);
      return;
    }
    if (t.final) {
      // A resent final response: a 2xx needs our ACK again (the TU sends it), a non-2xx gets ours.
      if (t.isInvite && rs.status! >= 300) this.sendAckForFailure(t, rs);
      else if (t.isInvite) this.o.onStray2xx(rs, remote);
      return;
    }
    if (!t.answered) {
      t.answered = true;
      if (t.resend) clearTimeout(t.resend);
      t.resend = null;
      // A provisional response stops INVITE resends; non-INVITE requests keep going at T2.
      if (!t.isInvite && rs.status! < 200) this.scheduleResend(t, T2);
    }
    if (rs.status! >= 200) {
      t.final = true;
      this.stopClient(t);
      t.expiresAt = Date.now() + LINGER_MS;
      if (t.isInvite && rs.status! >= 300) this.sendAckForFailure(t, rs);
    }
    t.onResponse(rs);
  }

  private sendAckForFailure(t: ClientTransaction, rs: SipMessage): void {
    const ack: SipMessage = {
      method: 'ACK',
      uri: t.request.uri,
      version: '2.0',
      headers: {
        via: [t.request.headers.via![0]],
        to: rs.headers.to,
        from: t.request.headers.from,
        'call-id': t.request.headers['call-id'],
        cseq: { seq: t.request.headers.cseq!.seq, method: 'ACK' },
        'max-forwards': '70',
        ...(t.request.headers.route ? { route: t.request.headers.route } : {}),
      },
    };
    this.send(ack, t.target);
  }

  private stopClient(t: ClientTransaction): void {
    if (t.resend) clearTimeout(t.resend);
    if (t.timeout) clearTimeout(t.timeout);
    t.resend = null;
    t.timeout = null;
  }

  private scheduleResend(t: ClientTransaction, interval: number): void {
    t.resend = setTimeout(() => {
      this.sendRaw(t.wire, t.target);
      this.scheduleResend(t, t.isInvite ? interval * 2 : Math.min(interval * 2, T2));
    }, interval);
  }

  /** Our Via for a new request (a CANCEL reuses its INVITE's). */
  via(branch = newBranch()) {
    return { version: '2.0', protocol: 'UDP', host: this.o.publicAddress, port: this.port, params: { branch, rport: null } };
  }

  /**
   * Sends a request in a client transaction; `onResponse` sees every response (provisional and final)
   * and a synthesized 408 when none arrives in time. ACKs are not transactions: use `send`.
   */
  request(rq: SipMessage, target: Remote, onResponse: (rs: SipMessage) => void): void {
    const key = txKey(rq.headers.via![0].params.branch, rq.method!);
    const wire = Buffer.from(sip.stringify(rq), 'binary');
    const t: ClientTransaction = {
      isInvite: rq.method === 'INVITE', request: rq, wire, target, answered: false, final: false,
      resend: null, timeout: null, expiresAt: Number.MAX_SAFE_INTEGER, onResponse,
    };
    this.client.set(key, t);
    this.sendRaw(wire, target);
    this.scheduleResend(t, T1);
    t.timeout = setTimeout(() => {
      if (t.final) return;
      t.final = true;
      this.stopClient(t);
      t.expiresAt = Date.now() + LINGER_MS;
      t.onResponse(sip.makeResponse(rq, 408, 'Request Timeout'));
    }, this.o.transactionTimeoutMs);
  }

  /**
   * Answers a request. A final response to an INVITE is resent (T1 doubling to T2) until `stopResending`
   * (a 2xx, when the dialog's ACK arrives) or the transaction's ACK (a non-2xx) arrives.
   */
  respond(rq: SipMessage, rs: SipMessage): void {
    const key = txKey(rq.headers.via![0].params.branch, rq.method!);
    const wire = Buffer.from(sip.stringify(rs), 'binary');
    const t = this.server.get(key);
    if (!t) return;
    t.lastResponse = wire;
    this.sendRaw(wire, t.remote);
    if (rq.method === 'INVITE' && rs.status! >= 200) {
      if (t.retransmit) clearTimeout(t.retransmit);
      const resend = (interval: number) => {
        t.retransmit = setTimeout(() => {
          this.sendRaw(wire, t.remote);
          resend(Math.min(interval * 2, T2));
        }, interval);
      };
      resend(T1);
      t.expiresAt = Date.now() + LINGER_MS;
    }
  }

  /** Stops resending the final response to this INVITE (its ACK has come). */
  stopResending(invite: SipMessage): void {
    const t = this.server.get(txKey(invite.headers.via![0].params.branch, 'INVITE'));
    if (t?.retransmit) {
      clearTimeout(t.retransmit);
      t.retransmit = null;
    }
  }

  /** Sends a message outside any transaction (ACK for a 2xx). */
  send(m: SipMessage, target: Remote): void {
    this.sendRaw(Buffer.from(sip.stringify(m), 'binary'), target);
  }

  private sendRaw(wire: Buffer, target: Remote): void {
    this.socket?.send(wire, target.port, target.address);
  }
}
