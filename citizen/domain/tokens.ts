/**
 * Signed links of the citizen pages: a building's QR code (一码受理) carries the city and the
 * building's code with an HMAC of the server's secret, so a code cannot be made up or altered; the
 * status page's access (after the SMS code) is a signed ticket id with an expiry. One-time codes
 * (验证码) are six random digits, stored only as a keyed hash.
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url');
const unb64 = (s: string) => Buffer.from(s, 'base64url').toString('utf8');

function mac(secret: string, purpose: string, payload: string, length = 22): string {
  return createHmac('sha256', secret).update(`${purpose}\n${payload}`).digest('base64url').slice(0, length);
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface BuildingRef {
  cityId: string;
  code: string;
}

/** The token printed in a building's QR code: `<city and code, base64url>.<signature>`. */
export function signBuilding(secret: string, b: BuildingRef): string {
  const payload = b64(`${b.cityId}\n${b.code}`);
  return `${payload}.${mac(secret, 'building', payload)}`;
}

/** The building a token names, or null when it is malformed or its signature does not match (forged). */
export function readBuildingToken(secret: string, token: string): BuildingRef | null {
  if (typeof token !== 'string' || token.length > 400) return null;
  const [payload, sig, ...rest] = token.split('.');
  if (!payload || !sig || rest.length || !/^[A-Za-z0-9_-]+$/.test(payload)) return null;
  if (!sameText(sig, mac(secret, 'building', payload))) return null;
  const [cityId, code, ...more] = unb64(payload).split('\n');
  if (!cityId || !code || more.length) return null;
  return { cityId, code };
}

/** Access to one ticket's status page until `expiresAt` (ms since epoch). */
export function signStatusAccess(secret: string, ticketId: string, cityId: string, expiresAt: number): string {
  const payload = b64(`${cityId}\n${ticketId}\n${expiresAt}`);
  return `${payload}.${mac(secret, 'status', payload)}`;
}

export function readStatusAccess(secret: string, token: string | undefined, now: Date): { cityId: string; ticketId: string } | null {
  if (!token || token.length > 400) return null;
  const [payload, sig, ...rest] = token.split('.');
  if (!payload || !sig || rest.length) return null;
  if (!sameText(sig, mac(secret, 'status', payload))) return null;
  const [cityId, ticketId, exp] = unb64(payload).split('\n');
  if (!cityId || !ticketId || !(Number(exp) > now.getTime())) return null;
  return { cityId, ticketId };
}

/** Six random digits (100000–999999 never leads with 0: read aloud and typed the same). */
export const newVerificationCode = (): string => String(randomInt(100000, 1_000_000));

/** A keyed hash (of a code, a device id, an address): what the database keeps instead of the value. */
export const keyedHash = (secret: string, purpose: string, value: string): string => mac(secret, purpose, value, 43);

export const sameHash = sameText;
