/**
 * SIP digest authentication (RFC 3261 §22, RFC 2617 MD5 with qop=auth) for REGISTER. Nonces are
 * stateless: a timestamp signed with a per-process secret, so a nonce older than its lifetime (or
 * forged) is refused without a table of issued nonces; a stale one gets `stale=true` and the phone
 * retries with a fresh nonce without asking the agent for a password.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** HA1 = MD5(username:realm:password): what the credentials table stores instead of the password. */
export function computeHa1(username: string, realm: string, password: string): string {
  return md5(`${username}:${realm}:${password}`);
}

export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  algorithm?: string;
}

const unquote = (s: string | undefined) => (s === undefined ? undefined : s.replace(/^"(.*)"$/, '$1'));

/** An Authorization header as the `sip` parser gives it (values still quoted) → credentials, or null. */
export function readAuthorization(h: Record<string, string> | undefined): DigestCredentials | null {
  if (!h || (h.scheme ?? '').toLowerCase() !== 'digest') return null;
  const v = (k: string) => unquote(h[k]);
  const username = v('username'), realm = v('realm'), nonce = v('nonce'), uri = v('uri'), response = v('response');
  if (!username || realm === undefined || !nonce || !uri || !response) return null;
  return { username, realm, nonce, uri, response, qop: v('qop'), nc: v('nc'), cnonce: v('cnonce'), algorithm: v('algorithm') };
}

/** The expected response for these credentials, given the stored HA1. */
export function expectedResponse(ha1: string, method: string, c: DigestCredentials): string {
  const ha2 = md5(`${method}:${c.uri}`);
  if (c.qop === 'auth') return md5(`${ha1}:${c.nonce}:${c.nc}:${c.cnonce}:auth:${ha2}`);
  return md5(`${ha1}:${c.nonce}:${ha2}`);
}

export type NonceCheck = 'valid' | 'stale' | 'invalid';

export class NonceIssuer {
  private readonly secret: Buffer;
  constructor(private readonly lifetimeMs: number, secret?: Buffer, private readonly now: () => number = Date.now) {
    this.secret = secret ?? randomBytes(32);
  }

  issue(): string {
    const ts = this.now().toString(36);
    return `${ts}.${this.sign(ts)}`;
  }

  check(nonce: string): NonceCheck {
    const [ts, sig] = nonce.split('.');
    if (!ts || !sig) return 'invalid';
    const want = Buffer.from(this.sign(ts));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return 'invalid';
    const issuedAt = parseInt(ts, 36);
    return this.now() - issuedAt > this.lifetimeMs ? 'stale' : 'valid';
  }

  private sign(ts: string): string {
    return createHmac('sha256', this.secret).update(ts).digest('base64url').slice(0, 22);
  }
}

/** A WWW-Authenticate challenge in the `sip` serializer's shape (values carry their own quotes). */
export function challenge(realm: string, nonce: string, stale = false): Record<string, string> {
  const c: Record<string, string> = { scheme: 'Digest', realm: `"${realm}"`, nonce: `"${nonce}"`, algorithm: 'MD5', qop: '"auth"' };
  if (stale) c.stale = 'true';
  return c;
}

/** Checks a response against the stored HA1 in constant time. */
export function responseMatches(ha1: string, method: string, c: DigestCredentials): boolean {
  if (c.algorithm && c.algorithm.toUpperCase() !== 'MD5') return false;
  if (c.qop !== undefined && (c.qop !== 'auth' || !c.nc || !c.cnonce)) return false;
  const want = Buffer.from(expectedResponse(ha1, method, c));
  const got = Buffer.from(c.response.toLowerCase());
  return want.length === got.length && timingSafeEqual(want, got);
}
