/**
 * The gazetteer (地名库) of a city: the names callers use for places, each pointing at the most
 * specific territory it lies in. Pure: the kinds, the rules of a row, and how a road's house-number
 * range is read.
 */
import type { AreaGeometry } from './geo';

/** Kinds of gazetteer entry. */
export const GazetteerKind = {
  road: 'road', // 道路 (one row per segment: number range and side)
  compound: 'compound', // 小区/花园/苑/公寓/大厦
  landmark: 'landmark', // 地标: 医院, 学校, 公园, 地铁站, 商场
  village: 'village', // 自然村/村民小组
  building: 'building', // 楼栋: name is the value of its QR code (一码通), or a building name
  alias: 'alias', // another name of a territory itself (老城区 → 南门街道)
} as const;
export type GazetteerKind = (typeof GazetteerKind)[keyof typeof GazetteerKind];
export const GAZETTEER_KINDS = Object.values(GazetteerKind) as GazetteerKind[];

export const GazetteerKindLabelZh: Readonly<Record<GazetteerKind, string>> = {
  road: '道路',
  compound: '小区',
  landmark: '地标',
  village: '自然村',
  building: '楼栋',
  alias: '别名',
};

const KIND_ALIASES: Record<string, GazetteerKind> = {
  道路: 'road', 路: 'road', 街巷: 'road',
  小区: 'compound', 住宅小区: 'compound',
  地标: 'landmark', 标志物: 'landmark',
  自然村: 'village', 村: 'village', 村组: 'village',
  楼栋: 'building', 楼宇: 'building', 二维码: 'building',
  别名: 'alias',
};

/** A kind as a preset writes it (English or Chinese), or null. */
export function parseGazetteerKind(s: string): GazetteerKind | null {
  const k = s.trim();
  if ((GAZETTEER_KINDS as string[]).includes(k)) return k as GazetteerKind;
  return KIND_ALIASES[k] ?? null;
}

/** Which side of a road a segment covers: all numbers, odd (单号) or even (双号). */
export const Parity = { all: 'all', odd: 'odd', even: 'even' } as const;
export type Parity = (typeof Parity)[keyof typeof Parity];

const PARITY_ALIASES: Record<string, Parity> = {
  '': 'all', all: 'all', both: 'all', 全: 'all', 全部: 'all', 单双: 'all',
  odd: 'odd', 单: 'odd', 单号: 'odd', even: 'even', 双: 'even', 双号: 'even',
};

export function parseParity(s: string): Parity | null {
  return PARITY_ALIASES[s.trim().toLowerCase()] ?? null;
}

/** A gazetteer entry as the resolver uses it. */
export interface GazetteerEntry {
  id?: string;
  kind: GazetteerKind;
  name: string;
  aliases: string[];
  /** The most specific territory it lies in (a community or grid, or coarser when that is all that is known). */
  territoryId: string;
  /** House numbers of a road segment, inclusive; null for an open end. */
  numberFrom: number | null;
  numberTo: number | null;
  parity: Parity;
  lat: number | null;
  lng: number | null;
}

/** A territory's outline. */
export interface TerritoryPolygon {
  territoryId: string;
  geometry: AreaGeometry;
}

/** Whether a segment covers house number `n`. */
export function segmentCovers(seg: Pick<GazetteerEntry, 'numberFrom' | 'numberTo' | 'parity'>, n: number): boolean {
  if (seg.numberFrom !== null && n < seg.numberFrom) return false;
  if (seg.numberTo !== null && n > seg.numberTo) return false;
  if (seg.parity === 'odd') return n % 2 === 1;
  if (seg.parity === 'even') return n % 2 === 0;
  return true;
}

/** Whether two segments of one road could both cover some house number (for the preset's overlap check). */
export function segmentsOverlap(a: Pick<GazetteerEntry, 'numberFrom' | 'numberTo' | 'parity'>, b: Pick<GazetteerEntry, 'numberFrom' | 'numberTo' | 'parity'>): boolean {
  if (a.parity !== 'all' && b.parity !== 'all' && a.parity !== b.parity) return false;
  const lo = Math.max(a.numberFrom ?? 0, b.numberFrom ?? 0);
  const hi = Math.min(a.numberTo ?? Number.MAX_SAFE_INTEGER, b.numberTo ?? Number.MAX_SAFE_INTEGER);
  if (lo > hi) return false;
  const parity = a.parity !== 'all' ? a.parity : b.parity;
  if (parity === 'all') return true;
  // Is there a number of that parity in [lo, hi]?
  const first = (lo % 2 === 1) === (parity === 'odd') ? lo : lo + 1;
  return first <= hi;
}

/** Whether a segment's range holds any number at all (odd side of 2–2 holds none). */
export const segmentHasNumbers = (seg: Pick<GazetteerEntry, 'numberFrom' | 'numberTo' | 'parity'>): boolean => segmentsOverlap(seg, { numberFrom: null, numberTo: null, parity: 'all' });

/** The identity of an entry for idempotent imports: the same row of a preset is the same entry. */
export function gazetteerKey(e: Pick<GazetteerEntry, 'kind' | 'name' | 'territoryId' | 'numberFrom' | 'numberTo' | 'parity'>): string {
  return [e.kind, e.name, e.territoryId, e.numberFrom ?? '', e.numberTo ?? '', e.parity].join('\u0000');
}

/** The largest house number a preset may give (a sanity bound, not a rule of any city). */
export const MAX_HOUSE_NUMBER = 99_999;
