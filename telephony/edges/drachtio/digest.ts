import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SIP digest authentication for REGISTER (RFC 3261 §22, RFC 2617 with qop=auth), checked against
 * the stored HA1 so the password never reaches the edge. drachtio-srf has no verifier of its own
 * (the drachtio-mw-digest-auth middleware is a separate package we do not install), so the
 * algorithm is here: nonces are HMAC-stamped with a time so any app node can check a nonce another
 * node issued (no shared nonce store), and they expire.
 */

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

export interface DigestChallenge { header: string; nonce: string }

export class DigestAuth {
  constructor(private readonly realm: string, private readonly nonceSecret: string, private readonly nonceTtlMs = 5 * 60_000) {}

  /** The WWW-Authenticate header of a 401 (stale=true when the client's nonce only expired). */
  challenge(now = Date.now(), stale = false): DigestChallenge {
    const nonce = this.issueNonce(now);
    return { nonce, header: `Digest realm="${this.realm}", nonce="${nonce}", algorithm=MD5, qop="auth"${stale ? ', stale=true' : ''}` };
  }

  /**
   * Checks an Authorization header; `ha1` looks up the phone's stored secret. Returns the
   * authenticated username, or why it failed (`stale`: re-challenge without counting a failure).
   */
  async verify(
    authorization: string | undefined,
    method: string,
    ha1: (username: string, realm: string) => Promise<string | null>,
    now = Date.now(),
  ): Promise<{ ok: true; username: string } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'unknown_user' | 'wrong_credentials' }> {
    if (!authorization) return { ok: false, reason: 'missing' };
    const p = parseDigest(authorization);
    if (!p || !p.username || !p.nonce || !p.uri || !p.response || p.realm !== this.realm) return { ok: false, reason: 'malformed' };
    if (p.algorithm && p.algorithm.toUpperCase() !== 'MD5') return { ok: false, reason: 'malformed' };
    const nonceState = this.checkNonce(p.nonce, now);
    if (nonceState === 'forged') return { ok: false, reason: 'wrong_credentials' };
    const secret = await ha1(p.username, this.realm);
    if (!secret) return { ok: false, reason: 'unknown_user' };
    const ha2 = md5(`${method}:${p.uri}`);
    const expected = p.qop
      ? md5(`${secret}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`)
      : md5(`${secret}:${p.nonce}:${ha2}`);
    const given = Buffer.from(p.response.toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) return { ok: false, reason: 'wrong_credentials' };
    // Right password on an expired nonce: RFC 2617 says re-challenge with stale=true.
    if (nonceState === 'expired') return { ok: false, reason: 'stale' };
    return { ok: true, username: p.username };
  }

  private issueNonce(now: number): string {
    const stamp = now.toString(36);
    const salt = randomBytes(6).toString('hex');
    return `${stamp}.${salt}.${md5(`${stamp}:${salt}:${this.nonceSecret}`)}`;
  }

  private checkNonce(nonce: string, now: number): 'fresh' | 'expired' | 'forged' {
    const [stamp, salt, mac] = nonce.split('.');
    if (!stamp || !salt || !mac || md5(`${stamp}:${salt}:${this.nonceSecret}`) !== mac) return 'forged';
    const at = parseInt(stamp, 36);
    return now - at > this.nonceTtlMs || at - now > 60_000 ? 'expired' : 'fresh';
  }
}

/** `Digest username="a", realm="b", ...` → its parameters (quoted or token values). */
export function parseDigest(header: string): Record<string, string> | null {
  const m = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!m) return null;
  const out: Record<string, string> = {};
  for (const kv of m[1].matchAll(/([A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) out[kv[1].toLowerCase()] = kv[2] ?? kv[3];
  return out;
}

/** HA1 as the SipCredentials port stores it: MD5(username:realm:password). */
export const ha1Of = (username: string, realm: string, password: string) => md5(`${username}:${realm}:${password}`);
