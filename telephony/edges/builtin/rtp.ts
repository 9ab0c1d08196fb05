/** RTP (RFC 3550) packets: just what a G.711 leg needs to read and write. */

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

/** Parses an RTP packet; null for anything that is not RTP version 2 with a sane header. */
export function parseRtp(buf: Buffer): RtpPacket | null {
  if (buf.length < 12 || buf[0] >> 6 !== 2) return null;
  const padding = (buf[0] & 0x20) !== 0;
  const extension = (buf[0] & 0x10) !== 0;
  const csrcCount = buf[0] & 0x0f;
  let off = 12 + csrcCount * 4;
  if (extension) {
    if (buf.length < off + 4) return null;
    off += 4 + buf.readUInt16BE(off + 2) * 4;
  }
  let end = buf.length;
  if (padding) end -= buf[buf.length - 1];
  if (off > end) return null;
  const payloadType = buf[1] & 0x7f;
  // 72-76 are RTCP packet types arriving on the RTP port (rtcp-mux): not media.
  if (payloadType >= 72 && payloadType <= 76) return null;
  return {
    payloadType,
    marker: (buf[1] & 0x80) !== 0,
    sequence: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payload: buf.subarray(off, end),
  };
}

export function buildRtp(p: RtpPacket): Buffer {
  const buf = Buffer.allocUnsafe(12 + p.payload.length);
  buf[0] = 0x80;
  buf[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  buf.writeUInt16BE(p.sequence & 0xffff, 2);
  buf.writeUInt32BE(p.timestamp >>> 0, 4);
  buf.writeUInt32BE(p.ssrc >>> 0, 8);
  p.payload.copy(buf, 12);
  return buf;
}

/** RFC 4733 telephone-event payload: event code, end bit. */
export function parseTelephoneEvent(payload: Buffer): { event: number; end: boolean } | null {
  if (payload.length < 4) return null;
  return { event: payload[0], end: (payload[1] & 0x80) !== 0 };
}

const DTMF_DIGITS = '0123456789*#ABCD';
/** The digit of an RFC 4733 event code (0-15), or null for non-DTMF events. */
export function dtmfDigit(event: number): string | null {
  return event < DTMF_DIGITS.length ? DTMF_DIGITS[event] : null;
}
