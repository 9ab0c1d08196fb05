/**
 * The names a caller may use for a territory or a gazetteer place. People drop or swap the suffix of
 * an administrative name (美兰区 / 美兰; 滨江街道 / 滨江街道办事处 / 滨江镇 after a 镇改街道; 王家庄村 /
 * 王家庄 / 王家庄村委会) and of a compound (滨江花园 / 滨江花园小区).
 */
import type { TerritoryLevel } from '../../../directory';
import type { GazetteerKind } from './gazetteer';

/** A way of saying a name, and how surely it means that place. */
export interface NameVariant {
  surface: string;
  /** 0..1: the full official name is surer than a swapped suffix, which is surer than a bare name. */
  quality: number;
  /** A name without any suffix (美兰, 洋湖): used only where the segmenter agrees it stands alone. */
  bare: boolean;
  /**
   * A village said bare (王家庄 for 王家庄村): people name villages so, and a 3+ character village
   * name is rarely a common word, so it is kept even when the general dictionary knows it.
   */
  village?: boolean;
}

const CJK = /[\u3400-\u9fff]/g;
const cjkLength = (s: string) => s.match(CJK)?.length ?? 0;

const SUFFIXES: Record<TerritoryLevel, string[]> = {
  district: ['自治县', '自治旗', '新区', '区', '县', '市', '旗'],
  street: ['街道办事处', '街道办', '街道', '镇', '乡'],
  community: ['社区居委会', '社区居民委员会', '村民委员会', '居委会', '村委会', '社区', '村'],
  grid: [],
};

const ALTERNATIVES: Record<TerritoryLevel, string[]> = {
  district: ['区', '县', '市'],
  street: ['街道', '街道办事处', '街道办', '办事处', '镇', '镇政府', '镇人民政府', '乡', '乡政府'],
  community: ['社区', '居委会', '社区居委会', '村', '村委会'],
  grid: [],
};

/** The name without its administrative suffix (滨江街道 → 滨江), or the name when it has none. */
export function baseName(name: string, level: TerritoryLevel): { base: string; suffix: string } {
  for (const s of SUFFIXES[level]) {
    if (name.endsWith(s) && name.length > s.length) return { base: name.slice(0, -s.length), suffix: s };
  }
  return { base: name, suffix: '' };
}

/** The ways of saying a territory's name. Bare names need 2+ Chinese characters. */
export function territoryVariants(name: string, level: TerritoryLevel): NameVariant[] {
  const out = new Map<string, NameVariant>();
  const add = (surface: string, quality: number, bare = false) => {
    if (surface.length < 2) return;
    const had = out.get(surface);
    if (!had || had.quality < quality) out.set(surface, { surface, quality, bare });
  };
  add(name, level === 'grid' ? 0.95 : 0.9);
  if (level === 'grid') {
    // 滨江社区第一网格 → 滨江第一网格 (not 第一网格 alone: every community has one).
    const m = /^(.+?)(社区|村)(第?[0-9一二三四五六七八九十]+网格)$/.exec(name);
    if (m) add(m[1] + m[3], 0.9);
    return [...out.values()];
  }
  const { base, suffix } = baseName(name, level);
  if (!suffix) return [...out.values()];
  for (const alt of ALTERNATIVES[level]) add(base + alt, 0.85);
  if (cjkLength(base) >= 2) {
    // A village is usually said bare (王家庄); a bare street or district less surely.
    const village = level === 'community' && suffix === '村' && cjkLength(base) >= 3;
    add(base, village ? 0.6 : 0.5, true);
    if (village) out.get(base)!.village = true;
  }
  return [...out.values()];
}

/** The ways of saying a gazetteer entry's name (aliases included). */
export function gazetteerVariants(kind: GazetteerKind, name: string, aliases: readonly string[]): NameVariant[] {
  const base = kind === 'building' ? 0.95 : kind === 'landmark' ? 0.8 : 0.85;
  const out = new Map<string, NameVariant>();
  const add = (surface: string, quality: number) => {
    if (surface.length < 2) return;
    const had = out.get(surface);
    if (!had || had.quality < quality) out.set(surface, { surface, quality, bare: false });
  };
  for (const n of [name, ...aliases]) {
    add(n, base);
    if (kind === 'compound') {
      if (n.endsWith('小区') && cjkLength(n.slice(0, -2)) >= 2) add(n.slice(0, -2), base - 0.05);
      else if (!n.endsWith('小区')) add(`${n}小区`, base - 0.05);
    } else if (kind === 'village') {
      if (n.endsWith('村') && cjkLength(n.slice(0, -1)) >= 2) add(n.slice(0, -1), base - 0.05);
      else if (!n.endsWith('村')) add(`${n}村`, base - 0.05);
    }
  }
  return [...out.values()];
}
