/**
 * The registrar for agents' phones (坐席话机注册): REGISTER with digest auth against the credentials
 * port, one contact per username (the latest wins), expiry swept every second.
 */
import * as sip from 'sip';
import type { SipMessage } from 'sip';
import type { SipCredentials } from '../../ports';
import { challenge, NonceIssuer, readAuthorization, responseMatches } from './digest';
import type { EdgeLogger, Remote } from './transport';

export interface Registration {
  username: string;
  /** The Contact URI the phone registered. */
  contact: string;
  /** Where its REGISTER came from: INVITEs go there (the NAT binding the phone keeps open). */
  source: Remote;
  expiresAt: Date;
}

export interface RegistrarOptions {
  realm: string;
  credentials: SipCredentials;
  logger: EdgeLogger;
  nonceLifetimeMs: number;
  minExpiresSeconds: number;
  maxExpiresSeconds: number;
  onRegistered(r: Registration): void;
  onUnregistered(username: string): void;
}

export type RegisterReply = { status: number; reason: string; headers?: Record<string, unknown> };

export class Registrar {
  private readonly bindings = new Map<string, Registration>();
  private readonly nonces: NonceIssuer;
  authFailures = 0;

  constructor(private readonly o: RegistrarOptions) {
    this.nonces = new NonceIssuer(o.nonceLifetimeMs);
  }

  lookup(username: string): Registration | null {
    const r = this.bindings.get(username);
    return r && r.expiresAt.getTime() > Date.now() ? r : null;
  }

  list(): Registration[] {
    const now = Date.now();
    return [...this.bindings.values()].filter((r) => r.expiresAt.getTime() > now);
  }

  /** Drops expired bindings (each reported as unregistered). */
  sweep(): void {
    const now = Date.now();
    for (const [u, r] of this.bindings) if (r.expiresAt.getTime() <= now) {
      this.bindings.delete(u);
      this.o.onUnregistered(u);
    }
  }

  clear(): void {
    for (const u of [...this.bindings.keys()]) {
      this.bindings.delete(u);
      this.o.onUnregistered(u);
    }
  }

  private unauthorized(stale = false): RegisterReply {
    return { status: 401, reason: 'Unauthorized', headers: { 'www-authenticate': [challenge(this.o.realm, this.nonces.issue(), stale)] } };
  }

  async register(rq: SipMessage, remote: Remote): Promise<RegisterReply> {
    const to = rq.headers.to;
    const aor = to ? sip.parseUri(to.uri) : undefined;
    const username = aor?.user ? decodeURIComponent(aor.user) : null;
    const from = `${remote.address}:${remote.port}`;
    if (!username) return { status: 400, reason: 'Bad Request' };
    const auth = readAuthorization(rq.headers.authorization?.[0]);
    if (!auth) return this.unauthorized();
    if (auth.username !== username || auth.realm !== this.o.realm) {
      this.authFailures++;
      this.o.logger.warn({ username, authUsername: auth.username, realm: auth.realm, from }, 'sip: REGISTER for another user or realm refused');
      return { status: 403, reason: 'Forbidden' };
    }
    const nonce = this.nonces.check(auth.nonce);
    if (nonce === 'invalid') return this.unauthorized();
    if (nonce === 'stale') return this.unauthorized(true);
    const ha1 = await this.o.credentials.ha1(username, this.o.realm);
    if (!ha1 || !responseMatches(ha1, 'REGISTER', auth)) {
      this.authFailures++;
      this.o.logger.warn({ username, from, known: ha1 !== null }, 'sip: REGISTER with wrong credentials refused');
      return { status: 403, reason: 'Forbidden' };
    }

    const contacts = rq.headers.contact;
    const headerExpires = rq.headers.expires === undefined ? null : Number(rq.headers.expires);
    if (contacts === undefined) {
      // A query: who is bound now.
      const r = this.lookup(username);
      return { status: 200, reason: 'OK', headers: r ? { contact: [{ uri: r.contact, params: { expires: String(this.secondsLeft(r)) } }] } : {} };
    }
    if (contacts === '*') {
      if (headerExpires !== 0) return { status: 400, reason: 'Bad Request' };
      this.remove(username);
      return { status: 200, reason: 'OK' };
    }
    const contact = contacts[0];
    const paramExpires = contact.params?.expires;
    let expires = paramExpires != null ? Number(paramExpires) : headerExpires ?? 3600;
    if (!Number.isFinite(expires) || expires < 0) return { status: 400, reason: 'Bad Request' };
    if (expires === 0) {
      this.remove(username);
      return { status: 200, reason: 'OK' };
    }
    if (expires < this.o.minExpiresSeconds) {
      return { status: 423, reason: 'Interval Too Brief', headers: { 'min-expires': String(this.o.minExpiresSeconds) } };
    }
    expires = Math.min(expires, this.o.maxExpiresSeconds);
    const reg: Registration = {
      username,
      contact: sip.stringifyUri(contact.uri),
      source: remote,
      expiresAt: new Date(Date.now() + expires * 1000),
    };
    this.bindings.set(username, reg);
    this.o.logger.info({ username, contact: reg.contact, from, expires }, 'sip: phone registered');
    this.o.onRegistered(reg);
    return { status: 200, reason: 'OK', headers: { contact: [{ uri: contact.uri, params: { expires: String(expires) } }] } };
  }

  private secondsLeft(r: Registration): number {
    return Math.max(0, Math.round((r.expiresAt.getTime() - Date.now()) / 1000));
  }

  private remove(username: string): void {
    if (this.bindings.delete(username)) {
      this.o.logger.info({ username }, 'sip: phone unregistered');
      this.o.onUnregistered(username);
    }
  }
}
