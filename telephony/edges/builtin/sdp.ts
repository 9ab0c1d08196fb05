/**
 * The little SDP (RFC 4566) a G.711 call needs: read an offer's audio address, payload types and
 * telephone-event (RFC 4733), pick PCMU or PCMA, and write an offer or an answer.
 */
import type { Codec } from '../../ports';

export interface SdpAudio {
  /** Where the peer wants RTP: the media-level c= if present, else the session-level one. */
  address: string;
  port: number;
  /** Payload types in the peer's order of preference. */
  payloadTypes: number[];
  /** Encoding names by payload type from a=rtpmap (upper-cased), plus the static 0/8 when unmapped. */
  encodings: Map<number, string>;
  /** The telephone-event payload type, if offered. */
  telephoneEvent: number | null;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
}

const STATIC: Record<number, string> = { 0: 'PCMU', 8: 'PCMA' };

/** Reads the first audio stream of an SDP body; null when it has none or is not SDP. */
export function parseSdp(body: string): SdpAudio | null {
  const lines = body.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (!lines.length || !lines[0].startsWith('v=')) return null;
  let sessionAddress: string | null = null;
  let audio: SdpAudio | null = null;
  let inAudio = false;
  let mediaSeen = false;
  for (const line of lines) {
    const key = line.slice(0, 2);
    const value = line.slice(2);
    if (key === 'm=') {
      mediaSeen = true;
      const [media, port, proto, ...fmts] = value.split(/\s+/);
      inAudio = !audio && media === 'audio' && /^RTP\/S?AVP$/.test(proto ?? '');
      if (inAudio) {
        const pts = fmts.map(Number).filter((n) => Number.isInteger(n) && n >= 0 && n < 128);
        audio = { address: '', port: Number(port), payloadTypes: pts, encodings: new Map(), telephoneEvent: null, direction: 'sendrecv' };
        for (const pt of pts) if (STATIC[pt]) audio.encodings.set(pt, STATIC[pt]);
      }
    } else if (key === 'c=') {
      const addr = value.split(/\s+/)[2] ?? '';
      if (!mediaSeen) sessionAddress = addr;
      else if (inAudio && audio) audio.address = addr;
    } else if (key === 'a=' && inAudio && audio) {
      const rtpmap = /^rtpmap:(\d+)\s+([^/\s]+)\//i.exec(value);
      if (rtpmap) {
        const pt = Number(rtpmap[1]);
        const name = rtpmap[2].toUpperCase();
        audio.encodings.set(pt, name);
        if (name === 'TELEPHONE-EVENT' && audio.telephoneEvent === null) audio.telephoneEvent = pt;
      } else if (value === 'sendrecv' || value === 'sendonly' || value === 'recvonly' || value === 'inactive') {
        audio.direction = value;
      }
    }
  }
  if (!audio) return null;
  const a = audio as SdpAudio;
  if (!a.address) a.address = sessionAddress ?? '';
  if (!a.address || !Number.isInteger(a.port) || a.port < 0 || a.port > 65535) return null;
  return a;
}

/** The first of PCMU/PCMA in the peer's order, or null when it offers neither (→ 488). */
export function chooseCodec(audio: SdpAudio): Codec | null {
  for (const pt of audio.payloadTypes) {
    const name = audio.encodings.get(pt);
    if ((name === 'PCMU' && pt === 0) || (name === 'PCMA' && pt === 8)) return name;
  }
  return null;
}

export interface SdpDescription {
  address: string;
  port: number;
  /** Codecs to list, in order. An answer lists exactly the one chosen. */
  codecs: Codec[];
  /** telephone-event payload type to list (the offer's, in an answer), or null. */
  telephoneEvent: number | null;
  sessionId: number;
  sessionVersion: number;
}

/** Writes an offer or an answer for one audio stream. */
export function buildSdp(d: SdpDescription): string {
  const pts = d.codecs.map((c) => (c === 'PCMU' ? 0 : 8));
  const fmts = d.telephoneEvent === null ? pts : [...pts, d.telephoneEvent];
  const lines = [
    'v=0',
    `o=hotline ${d.sessionId} ${d.sessionVersion} IN IP4 ${d.address}`,
    's=hotline',
    `c=IN IP4 ${d.address}`,
    't=0 0',
    `m=audio ${d.port} RTP/AVP ${fmts.join(' ')}`,
    ...d.codecs.map((c) => `a=rtpmap:${c === 'PCMU' ? 0 : 8} ${c}/8000`),
    ...(d.telephoneEvent === null ? [] : [`a=rtpmap:${d.telephoneEvent} telephone-event/8000`, `a=fmtp:${d.telephoneEvent} 0-16`]),
    'a=ptime:20',
    'a=sendrecv',
  ];
  return lines.join('\r\n') + '\r\n';
}
