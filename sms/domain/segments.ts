/**
 * How many parts (条) a text takes. One UCS2 part holds 70 characters; the parts of a long message
 * (长短信) give 6 bytes to the UDH that joins them and hold 67 each. A text of GSM 7-bit characters
 * only holds 160, or 153 per part. Chinese texts are always UCS2. Characters outside the BMP (emoji,
 * rare hanzi) count as two UCS2 units and are never split in the middle.
 */
const GSM7_BASIC = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENDED = '^{}\\[~]|€\f';
const gsm7 = new Set([...GSM7_BASIC]);
const gsm7ext = new Set([...GSM7_EXTENDED]);

export type SmsEncoding = 'gsm7' | 'ucs2';

export interface SegmentPlan {
  encoding: SmsEncoding;
  /** Length in the encoding's units (septets for GSM 7-bit, UTF-16 code units for UCS2). */
  units: number;
  parts: number;
  /** Units one part holds at this length (70/67 UCS2, 160/153 GSM). */
  perPart: number;
}

export function encodingOf(text: string): SmsEncoding {
  for (const ch of text) if (!gsm7.has(ch) && !gsm7ext.has(ch)) return 'ucs2';
  return 'gsm7';
}

export function planSegments(text: string): SegmentPlan {
  const encoding = encodingOf(text);
  const units = encoding === 'ucs2' ? text.length : [...text].reduce((n, ch) => n + (gsm7ext.has(ch) ? 2 : 1), 0);
  const single = encoding === 'ucs2' ? 70 : 160;
  const multi = encoding === 'ucs2' ? 67 : 153;
  if (units <= single) return { encoding, units, parts: units === 0 ? 0 : 1, perPart: single };
  return { encoding, units, parts: splitText(text, encoding).length, perPart: multi };
}

/**
 * The text cut into the parts of a long message, each within 67 UCS2 units (153 GSM septets),
 * never inside a surrogate pair or a GSM escape. A text that fits one part comes back whole.
 */
export function splitText(text: string, encoding: SmsEncoding = encodingOf(text)): string[] {
  const single = encoding === 'ucs2' ? 70 : 160;
  const multi = encoding === 'ucs2' ? 67 : 153;
  const cost = (ch: string) => (encoding === 'ucs2' ? ch.length : gsm7ext.has(ch) ? 2 : 1);
  const total = [...text].reduce((n, ch) => n + cost(ch), 0);
  if (total <= single) return [text];
  const parts: string[] = [];
  let cur = '';
  let used = 0;
  for (const ch of text) {
    const c = cost(ch);
    if (used + c > multi) {
      parts.push(cur);
      cur = '';
      used = 0;
    }
    cur += ch;
    used += c;
  }
  if (cur) parts.push(cur);
  return parts;
}
