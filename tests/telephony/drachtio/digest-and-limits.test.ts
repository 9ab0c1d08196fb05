/** REGISTER digest rules and the INVITE flood bucket, with explicit clocks (no waiting). */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestAuth, ha1Of, parseDigest } from '../../../telephony/edges/drachtio/digest';
import { FloodLimit } from '../../../telephony/edges/drachtio/flood-limit';
import { pickCodec } from '../../../telephony/edges/drachtio/sdp';
import { userOf } from '../../../telephony/edges/drachtio/drachtio-edge';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const REALM = 'hotline.test';
const ha1 = async (u: string, r: string) => (u === '1001' ? ha1Of(u, r, 'pw') : null);

function authorization(nonce: string, password = 'pw', user = '1001') {
  const response = md5(`${md5(`${user}:${REALM}:${password}`)}:${nonce}:00000001:abc:auth:${md5('REGISTER:sip:hotline.test')}`);
  return `Digest username="${user}", realm="${REALM}", nonce="${nonce}", uri="sip:hotline.test", response="${response}", qop=auth, nc=00000001, cnonce="abc", algorithm=MD5`;
}

describe('REGISTER digest auth', () => {
  const auth = new DigestAuth(REALM, 'node-secret', 60_000);

  it('accepts the right password, refuses a wrong one and an unknown user', async () => {
    const { nonce } = auth.challenge(1_000_000);
    expect(await auth.verify(authorization(nonce), 'REGISTER', ha1, 1_000_500)).toEqual({ ok: true, username: '1001' });
    expect(await auth.verify(authorization(nonce, 'guess'), 'REGISTER', ha1, 1_000_500)).toEqual({ ok: false, reason: 'wrong_credentials' });
    expect(await auth.verify(authorization(nonce, 'pw', '2002'), 'REGISTER', ha1, 1_000_500)).toEqual({ ok: false, reason: 'unknown_user' });
  });

  it('says stale for the right password on an expired nonce, and refuses a nonce it never issued', async () => {
    const { nonce } = auth.challenge(1_000_000);
    expect(await auth.verify(authorization(nonce), 'REGISTER', ha1, 1_000_000 + 61_000)).toEqual({ ok: false, reason: 'stale' });
    expect(auth.challenge(0, true).header).toMatch(/stale=true$/);
    const forged = nonce.replace(/\.[0-9a-f]+$/, '.0123456789abcdef0123456789abcdef');
    expect(await auth.verify(authorization(forged), 'REGISTER', ha1, 1_000_500)).toEqual({ ok: false, reason: 'wrong_credentials' });
    // Another node with the same secret accepts this node's nonce (no shared nonce store needed).
    expect(await new DigestAuth(REALM, 'node-secret').verify(authorization(nonce), 'REGISTER', ha1, 1_000_500)).toMatchObject({ ok: true });
  });

  it('refuses a malformed header or another realm', async () => {
    expect(await auth.verify('Basic abc', 'REGISTER', ha1)).toEqual({ ok: false, reason: 'malformed' });
    expect(await auth.verify(authorization(auth.challenge().nonce).replace(REALM, 'other'), 'REGISTER', ha1)).toEqual({ ok: false, reason: 'malformed' });
    expect(parseDigest('Digest username="a\\"b", qop=auth')).toEqual({ username: 'a\\"b', qop: 'auth' });
  });
});

describe('INVITE flood limit', () => {
  it('lets a burst through, refuses the next, refills at the rate, and exempts trusted sources', () => {
    const limit = new FloodLimit({ perSecond: 2, burst: 3, exempt: ['10.0.0.1'] });
    expect([1, 2, 3, 4].map(() => limit.take('192.0.2.1', 0))).toEqual([true, true, true, false]);
    expect(limit.retryAfterSeconds('192.0.2.1')).toBe(1);
    expect(limit.take('192.0.2.1', 499)).toBe(false);
    expect(limit.take('192.0.2.1', 500)).toBe(true); // one token after 0.5 s at 2/s
    expect(Array.from({ length: 100 }, () => limit.take('10.0.0.1', 0)).every(Boolean)).toBe(true);
  });
});

describe('numbers and codecs from SIP', () => {
  it('reads ANI/DNIS user parts from sip:, sips: and tel: URIs', () => {
    expect(userOf('"张三" <sip:13800138000@gw;user=phone>;tag=1')).toBe('13800138000');
    expect(userOf('<tel:+86-10-12345;phone-context=x>')).toBe('+86-10-12345');
    expect(userOf('sips:12345@10.0.0.5:5061')).toBe('12345');
    expect(userOf('<sip:gw.example>')).toBeNull();
  });

  it('takes the offerer’s first G.711 codec and nothing else', () => {
    const sdp = (m: string, maps: string[]) => ['v=0', 'c=IN IP4 1.2.3.4', `m=audio 4000 RTP/AVP ${m}`, ...maps, ''].join('\r\n');
    expect(pickCodec(sdp('8 0 101', []))).toBe('PCMA');
    expect(pickCodec(sdp('9 0', ['a=rtpmap:9 G722/8000']))).toBe('PCMU');
    expect(pickCodec(sdp('96', ['a=rtpmap:96 PCMU/8000']))).toBe('PCMU');
    expect(pickCodec(sdp('18 101', ['a=rtpmap:18 G729/8000']))).toBeNull();
    expect(pickCodec('')).toBeNull();
  });
});
