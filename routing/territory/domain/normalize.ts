/**
 * Address text as the resolver matches it. Callers and agents write addresses in every form:
 * full-width digits (１２３号), Chinese numerals (一百二十三号, 三栋), odd spacing (白龙 南路) and
 * filler words around the place (楼下, 附近, 门口, 对面). Dictionary names go through the same
 * normalisation, so that both sides compare equal.
 */

const DIGIT: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
const UNIT: Record<string, number> = { 十: 10, 百: 100, 千: 1000 };

/**
 * A Chinese numeral as a number: 一百二十三 → 123, 十二 → 12, 二十 → 20, 一千零五 → 1005, and
 * digit by digit 一二三 → 123. Null when it is not a numeral this reads.
 */
export function chineseNumeral(s: string): number | null {
  if (!s) return null;
  if (![...s].some((c) => c in UNIT)) {
    // Digit by digit (一二三号, 二〇五室).
    let n = 0;
    for (const c of s) {
      if (!(c in DIGIT)) return null;
      n = n * 10 + DIGIT[c];
    }
    return n;
  }
  let total = 0;
  let digit: number | null = null;
  for (const c of s) {
    if (c === '零' || c === '〇') continue; // 一千零五: a placeholder between units
    if (c in DIGIT) {
      if (digit !== null) return null; // 二三百: not a numeral
      digit = DIGIT[c];
    } else if (c in UNIT) {
      total += (digit ?? 1) * UNIT[c];
      digit = null;
    } else return null;
  }
  return total + (digit ?? 0);
}

// A numeral directly before a unit of an address: 号 (house number), 栋/幢 (building), 单元, 楼, 室…
const NUMERAL_BEFORE_UNIT = /([零〇一二两三四五六七八九十百千]+)(?=号|栋|幢|座|单元|楼|层|室|弄|巷|组|期)/g;
const WHITE = /[\s\u3000\u00a0]+/g;

/**
 * The text the resolver matches: NFKC (full-width letters and digits become ASCII), upper case, no
 * white space at all ("unusual spacing" must not break a name), Chinese numerals before 号/栋/单元/…
 * as digits. Filler words stay: a name may contain them (西门口), and the dictionary scan ignores them.
 */
export function normalizeAddress(raw: string | null | undefined): string {
  if (!raw) return '';
  return raw
    .normalize('NFKC')
    .replace(/_x000[dDaA]_/g, ' ')
    .toUpperCase()
    .replace(WHITE, '')
    .replace(NUMERAL_BEFORE_UNIT, (m) => {
      const n = chineseNumeral(m);
      return n === null ? m : String(n);
    });
}

/**
 * Words around a place that say where near it, not which place (楼下 downstairs, 附近 nearby, 门口 at the
 * gate, 对面 opposite…). Removed from the address shown back to the agent; they carry no territory.
 */
export const FILLER_WORDS: readonly string[] = [
  '楼下', '楼上', '附近', '门口', '对面', '旁边', '周边', '一带', '那边', '这边', '那里', '这里', '边上', '跟前', '后面', '前面', '里面', '外面', '路边', '路口边',
];
const FILLER = new RegExp(FILLER_WORDS.join('|'), 'g');

/** The normalised address without filler words: what the resolver understood, for display. */
export function stripFiller(normalized: string): string {
  return normalized.replace(FILLER, '').replace(/[,，。;；、]+$/, '');
}

/** Normalises a dictionary name or a QR code value (the same rules as an address). */
export const normalizeName = (name: string): string => normalizeAddress(name);
