import { describe, expect, it } from 'vitest';
import { computeHa1, expectedResponse, md5, NonceIssuer, readAuthorization, responseMatches } from '../../telephony/edges/builtin/digest';
import { TokenBuckets } from '../../telephony/edges/builtin/rate-limit';

describe('SIP digest auth', () => {
  // RFC 2617 §3.5's worked example (HTTP, but the same MD5 qop=auth arithmetic SIP uses).
  const rfc = {
    username: 'Mufasa', realm: 'testrealm@host.com', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', uri: '/dir/index.html',
    qop: 'auth', nc: '00000001', cnonce: '0a4f113b', response: '6629fae49393a05397450978507c4ef1',
  };

  it('computes the RFC 2617 example response from HA1', () => {
    const ha1 = computeHa1('Mufasa', 'testrealm@host.com', 'Circle Of Life');
    expect(ha1).toBe(md5('Mufasa:testrealm@host.com:Circle Of Life'));
    expect(expectedResponse(ha1, 'GET', rfc)).toBe(rfc.response);
    expect(responseMatches(ha1, 'GET', rfc)).toBe(true);
  });

  it('refuses a wrong password, a wrong method, a missing cnonce and another algorithm', () => {
    const ha1 = computeHa1('Mufasa', 'testrealm@host.com', 'Circle Of Life');
    expect(responseMatches(computeHa1('Mufasa', 'testrealm@host.com', 'wrong'), 'GET', rfc)).toBe(false);
    expect(responseMatches(ha1, 'REGISTER', rfc)).toBe(false);
    expect(responseMatches(ha1, 'GET', { ...rfc, cnonce: undefined })).toBe(false);
    expect(responseMatches(ha1, 'GET', { ...rfc, algorithm: 'SHA-256' })).toBe(false);
  });

  it('reads an Authorization header as the sip parser leaves it (quoted values)', () => {
    const c = readAuthorization({ scheme: 'Digest', username: '"agent1"', realm: '"hotline"', nonce: '"abc"', uri: '"sip:127.0.0.1"', response: '"ff"', qop: 'auth', nc: '00000001', cnonce: '"x"' });
    expect(c).toMatchObject({ username: 'agent1', realm: 'hotline', nonce: 'abc', uri: 'sip:127.0.0.1', qop: 'auth', cnonce: 'x' });
    expect(readAuthorization({ scheme: 'Basic', username: 'x' })).toBeNull();
  });

  it('nonces expire (stale) and cannot be forged', () => {
    let now = 1_000_000;
    const issuer = new NonceIssuer(60_000, undefined, () => now);
    const n = issuer.issue();
    expect(issuer.check(n)).toBe('valid');
    now += 60_001;
    expect(issuer.check(n)).toBe('stale');
    const [ts] = n.split('.');
    expect(issuer.check(`${ts}.forgedsignature0000000`)).toBe('invalid');
    expect(new NonceIssuer(60_000).check(issuer.issue())).toBe('invalid'); // another process's secret
  });
});

describe('INVITE flood guard (token bucket)', () => {
  it('lets a burst through, then refuses until tokens come back, per source', () => {
    let now = 0;
    const b = new TokenBuckets(2, 3, () => now);
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([true, true, true, false]);
    expect(b.take('b')).toBe(true);
    expect(b.retryAfterSeconds('a')).toBe(1);
    now += 500;
    expect(b.take('a')).toBe(true);
    expect(b.take('a')).toBe(false);
  });
});
