/**
 * SMPP 3.4 details the gateway and the test SMSC share: text encodings (GSM 03.38 default alphabet
 * unpacked, UCS2 big-endian), the concatenation UDH of a long message (长短信), delivery receipts
 * (状态报告) and the command_status codes a submit can get back.
 */
import { GatewayError, type ReceiptState } from '../ports';

/** GSM 03.38 default alphabet, by septet value (0x1B is the escape to the extension table). */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** The extension table: character → septet after the escape. */
const GSM_EXT: Record<string, number> = { '\f': 0x0a, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2f, '[': 0x3c, '~': 0x3d, ']': 0x3e, '|': 0x40, '€': 0x65 };
const gsmIndex = new Map([...GSM_BASIC].map((ch, i) => [ch, i] as const));

export const DATA_CODING_GSM = 0x00;
export const DATA_CODING_UCS2 = 0x08;
export const ESM_CLASS_UDHI = 0x40;
export const ESM_CLASS_RECEIPT = 0x04;

/** GSM 7-bit text as SMPP carries it with data_coding 0: one septet per octet (the SMSC packs). */
export function encodeGsm7(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const ext = GSM_EXT[ch];
    if (ext !== undefined) out.push(0x1b, ext);
    else out.push(gsmIndex.get(ch) ?? 0x20); // never reached for text that encodingOf() calls gsm7
  }
  return Buffer.from(out);
}

/** UCS2 big-endian (UTF-16BE: surrogate pairs pass through as two units). */
export function encodeUcs2(text: string): Buffer {
  return Buffer.from(text, 'utf16le').swap16();
}

export function decodeUcs2(bytes: Buffer): string {
  const copy = Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2)));
  return copy.swap16().toString('utf16le');
}

/**
 * The smpp package decodes data_coding 0 and 1 with the GSM table; where the bytes were really
 * ASCII/IA5 (receipt texts, data_coding 1) this maps each character back to its byte value.
 */
export function gsmDecodedToAscii(text: string): string {
  let out = '';
  for (const ch of text) {
    const i = gsmIndex.get(ch);
    out += i === undefined ? ch : String.fromCharCode(i);
  }
  return out;
}

/** The 6-byte UDH of one part of a long message: IEI 0x00 (8-bit reference), length 3, ref, total, seq. */
export function concatUdh(ref: number, total: number, seq: number): Buffer {
  return Buffer.from([0x05, 0x00, 0x03, ref & 0xff, total, seq]);
}

export interface ConcatInfo {
  ref: number;
  total: number;
  seq: number;
}

/** The concatenation element among UDH elements ([IEI, length, ...data]): IEI 0x00 (8-bit ref) or 0x08 (16-bit ref). */
export function findConcat(elements: Buffer[] | undefined): ConcatInfo | null {
  for (const ie of elements ?? []) {
    if (ie[0] === 0x00 && ie[1] === 3 && ie.length >= 5) return { ref: ie[2]!, total: ie[3]!, seq: ie[4]! };
    if (ie[0] === 0x08 && ie[1] === 4 && ie.length >= 6) return { ref: ie.readUInt16BE(2), total: ie[4]!, seq: ie[5]! };
  }
  return null;
}

/** What a receipt says, before it is tied to a gateway. `state` null: an intermediate report (ENROUTE, ACCEPTD). */
export interface ParsedReceipt {
  id: string;
  stat: string;
  err: string | null;
  state: ReceiptState | null;
  doneAt: Date | null;
}

const STAT_STATE: Record<string, ReceiptState | null> = {
  DELIVRD: 'delivered', EXPIRED: 'expired',
  UNDELIV: 'failed', REJECTD: 'failed', DELETED: 'failed', UNKNOWN: 'failed',
  ENROUTE: null, ACCEPTD: null,
};
/** message_state TLV (SMPP 3.4 §5.2.28) → the stat word of a receipt text. */
const MESSAGE_STATE_STAT: Record<number, string> = {
  1: 'ENROUTE', 2: 'DELIVRD', 3: 'EXPIRED', 4: 'DELETED', 5: 'UNDELIV', 6: 'ACCEPTD', 7: 'UNKNOWN', 8: 'REJECTD',
};

/**
 * A receipt from its text (`id:… sub:… dlvrd:… submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000 text:…`)
 * and its TLVs (receipted_message_id, message_state), the TLVs winning when both are there. Null
 * when no message id can be found. The dates carry no zone: read as China time (UTC+8).
 */
export function parseReceipt(text: string, tlv: { receiptedMessageId?: string | null; messageState?: number | null } = {}): ParsedReceipt | null {
  const field = (name: string) => text.match(new RegExp(`(?:^|\\s)${name}:(\\S*)`, 'i'))?.[1] ?? null;
  const id = (tlv.receiptedMessageId || field('id') || '').trim();
  if (!id) return null;
  const statFromTlv = tlv.messageState != null ? MESSAGE_STATE_STAT[tlv.messageState] : undefined;
  const stat = (statFromTlv ?? field('stat') ?? 'UNKNOWN').toUpperCase();
  const state = stat in STAT_STATE ? STAT_STATE[stat]! : 'failed';
  const done = text.match(/done date:(\d{10})(\d{2})?/i);
  let doneAt: Date | null = null;
  if (done) {
    const d = done[1]!;
    const iso = `20${d.slice(0, 2)}-${d.slice(2, 4)}-${d.slice(4, 6)}T${d.slice(6, 8)}:${d.slice(8, 10)}:${done[2] ?? '00'}+08:00`;
    const at = new Date(iso);
    doneAt = Number.isNaN(at.getTime()) ? null : at;
  }
  return { id, stat, err: field('err'), state, doneAt };
}

export const ESME = {
  ROK: 0x00, RINVMSGLEN: 0x01, RINVCMDID: 0x03, RINVBNDSTS: 0x04, RSYSERR: 0x08, RINVSRCADR: 0x0a, RINVDSTADR: 0x0b,
  RBINDFAIL: 0x0d, RINVPASWD: 0x0e, RMSGQFUL: 0x14, RSUBMITFAIL: 0x45, RTHROTTLED: 0x58, RX_T_APPN: 0x64, RX_P_APPN: 0x65, RX_R_APPN: 0x66,
} as const;

const STATUS_NAMES: Record<number, string> = {
  0x01: 'invalid message length', 0x03: 'invalid command', 0x04: 'not bound', 0x08: 'SMSC system error',
  0x0a: 'invalid source address', 0x0b: 'invalid destination address', 0x14: 'SMSC queue full', 0x45: 'submit failed',
  0x58: 'throttled', 0x64: 'temporary application error', 0x65: 'permanent application error', 0x66: 'message refused',
  0x104: 'invalid data_coding',
};

export function hexStatus(status: number): string {
  return status.toString(16).toUpperCase().padStart(2, '0');
}

/**
 * A submit_sm_resp (or generic_nack) status as a GatewayError. Retryable: throttled, queue full,
 * not bound, SMSC system error, temporary application error. Everything else is the operator
 * refusing this message (invalid number, refused content…): not retryable.
 */
export function submitError(status: number, command = 'submit_sm_resp'): GatewayError {
  const what = `${STATUS_NAMES[status] ?? 'refused'} (${command} 0x${hexStatus(status)})`;
  switch (status) {
    case ESME.RTHROTTLED: return new GatewayError(`SMSC: ${what}`, 'SMPP_THROTTLED', true);
    case ESME.RMSGQFUL: return new GatewayError(`SMSC: ${what}`, 'SMPP_QUEUE_FULL', true);
    case ESME.RINVBNDSTS: return new GatewayError(`SMSC: ${what}`, 'SMPP_NOT_BOUND', true);
    case ESME.RSYSERR: return new GatewayError(`SMSC: ${what}`, 'SMPP_SYSTEM_ERROR', true);
    case ESME.RX_T_APPN: return new GatewayError(`SMSC: ${what}`, 'SMPP_TEMPORARY_ERROR', true);
    default: return new GatewayError(`SMSC: ${what}`, `SMPP_REJECTED_${hexStatus(status)}`, false);
  }
}
