import { Codec } from '../../ports';

/**
 * The few SDP facts the edge needs. rtpengine rewrites the SDP itself; here we only decide whether
 * an offer carries a codec we can record and play to (G.711), and which one the call will use.
 */

/** The first audio codec of the offer we support (the offerer's preference), or null (→ 488). */
export function pickCodec(sdp: string | null | undefined): Codec | null {
  if (!sdp) return null;
  const m = /^m=audio \d+(?:\/\d+)? [A-Z/]+ ([\d ]+)$/m.exec(sdp.replace(/\r/g, ''));
  if (!m) return null;
  const rtpmaps = new Map<number, string>();
  for (const r of sdp.matchAll(/^a=rtpmap:(\d+) ([A-Za-z0-9_-]+)\/8000/gm)) rtpmaps.set(Number(r[1]), r[2].toUpperCase());
  for (const pt of m[1].trim().split(/\s+/).map(Number)) {
    const name = rtpmaps.get(pt) ?? (pt === 0 ? 'PCMU' : pt === 8 ? 'PCMA' : null);
    if (name === 'PCMU') return Codec.pcmu;
    if (name === 'PCMA') return Codec.pcma;
  }
  return null;
}

/** The media port in an SDP (the first audio stream), e.g. the port rtpengine opened toward a leg. */
export function audioPort(sdp: string): number | null {
  const m = /^m=audio (\d+)/m.exec(sdp);
  return m ? Number(m[1]) : null;
}

/** The `Accept`-style list sent with 488 (what we support, RFC 3261 §21.4.26 Warning 305 text). */
export const SUPPORTED_CODECS_WARNING = '305 hotline "Incompatible media format: supported codecs are PCMU (0) and PCMA (8)"';
