/**
 * Territory resolution (属地识别): from an address as a caller says it ("美兰区白龙南路XX小区3栋楼下") to
 * district → street/town → community → grid, with a confidence and the alternatives when it is
 * ambiguous. Pure: built once per city from the territory tree, the gazetteer and the outlines; then
 * every resolve is a dictionary scan, a segmentation and a small scoring, well under a millisecond.
 *
 * How it decides:
 * 1. Normalise the text (full-width → ASCII, Chinese numerals before 号/栋, no white space).
 * 2. Find every name of the dictionary in it (territory names with their suffix variants, roads,
 *    compounds, landmarks, villages, buildings, aliases). jieba, with the same names loaded as a
 *    custom dictionary, says where words begin and end: a match on word boundaries is a full
 *    mention; a match across a word (a fallback of the scan, for text jieba cuts oddly) counts less,
 *    and a bare name (洋湖 for 洋湖街道) counts only on word boundaries.
 * 3. A road followed by a house number (白龙南路123号) keeps only the segments whose range and side
 *    hold the number.
 * 4. Each mention points at one or more territories. A candidate territory scores the mentions that
 *    agree with it (a mention of 美兰区 agrees with a compound inside 美兰区); the most specific
 *    candidate with (nearly) the top score wins. When the evidence splits between streets (a road
 *    through two streets without a number) or contradicts itself (a compound in another district),
 *    the result is ambiguous, with each option and why. Nothing found is unresolved: never a default.
 * 5. A point (lat/lng) inside a territory's outline is a strong mention of it; when the text points
 *    elsewhere, the conflict is reported.
 */
import type { TerritoryLevel } from '../../../directory';
import { gazetteerVariants, territoryVariants } from './names';
import { normalizeAddress, normalizeName, stripFiller } from './normalize';
import { GazetteerKindLabelZh, segmentCovers, type GazetteerEntry, type GazetteerKind, type Parity, type TerritoryPolygon } from './gazetteer';
import { PolygonIndex, validLatLng } from './geo';
import { jiebaSegmenter, PLACE_WORD_FREQ, type DictionaryWord, type Segmenter } from './segmenter';

/** A territory as the resolver needs it (the directory's Territory fits). */
export interface ResolverTerritory {
  id: string;
  code: string | null;
  name: string;
  level: TerritoryLevel;
  parentId: string | null;
}

export interface ResolverInput {
  territories: readonly ResolverTerritory[];
  entries: readonly GazetteerEntry[];
  polygons?: readonly TerritoryPolygon[];
}

export interface ResolverOptions {
  /** jieba (the process-wide instance of territory resolution) by default; `characterSegmenter` to test the rules without it. */
  segmenter?: Segmenter;
}

/** What a piece of the text was recognised as. */
export const MentionKind = {
  district: 'district',
  street: 'street',
  community: 'community',
  grid: 'grid',
  road: 'road',
  compound: 'compound',
  landmark: 'landmark',
  village: 'village',
  building: 'building',
  alias: 'alias',
  point: 'point',
  /** A district-like name that is not one of this city's (西湖区 said to 演示市's hotline). */
  unknownPlace: 'unknown_place',
} as const;
export type MentionKind = (typeof MentionKind)[keyof typeof MentionKind];

const KIND_ZH: Record<MentionKind, string> = {
  district: '区县', street: '街道/镇', community: '社区/村', grid: '网格',
  ...GazetteerKindLabelZh,
  point: '坐标', unknown_place: '外地地名',
};
const LEVEL_ZH: Record<TerritoryLevel, string> = { district: '区县', street: '街道/镇', community: '社区/村', grid: '网格' };

/** The territory a resolution names. */
export interface ResolvedTerritory {
  id: string;
  code: string | null;
  name: string;
  level: TerritoryLevel;
  /** '/<district id>/…/<own id>/', as the directory stores it. */
  path: string;
  /** The names top down, this one last: ['湖滨区', '滨江街道', '滨江社区']. */
  names: string[];
  /** The names joined, for display: 湖滨区滨江街道滨江社区. */
  fullName: string;
}

/** A piece of the text (or the point, or the QR code) that says where. */
export interface Mention {
  /** As found in the normalised text; for a point "lat,lng". */
  text: string;
  kind: MentionKind;
  /** The territory it points at, when it points at exactly one. */
  territoryId: string | null;
  /** Every territory it may point at (a road without a number: each segment's). */
  candidates: string[];
  /** The house number read after a road (白龙南路123号 → 123). */
  houseNumber?: number;
  /** token: on jieba's word boundaries; scan: found inside a word (weaker); point: lat/lng; qr: building code. */
  source: 'token' | 'scan' | 'point' | 'qr';
  /** 0..1: how surely this mention alone says where. */
  weight: number;
}

export interface Alternative {
  territory: ResolvedTerritory;
  confidence: number;
  /** Which mentions point there, in Chinese and English. */
  why: string;
}

export interface Conflict {
  kind: 'districts' | 'point_text' | 'unknown_place';
  detail: string;
}

export type ResolutionStatus = 'resolved' | 'ambiguous' | 'unresolved';

export interface Resolution {
  status: ResolutionStatus;
  /**
   * resolved: the most specific territory the evidence agrees on. ambiguous: what the options have
   * in common (the district a road's two streets lie in), or null. unresolved: null.
   */
  territory: ResolvedTerritory | null;
  /** resolved: how surely `territory` is right (0..1); ambiguous: the best option's; unresolved: 0. */
  confidence: number;
  /** ambiguous: the options, best first; resolved: weaker readings worth a look; unresolved: []. */
  alternatives: Alternative[];
  mentions: Mention[];
  conflicts: Conflict[];
  /** The address as understood: normalised, filler words (楼下, 附近, 门口) removed. */
  normalized: string;
  /** A short explanation, Chinese then English. */
  explanation: string;
}

// ---------------------------------------------------------------------------------------------

interface Node {
  id: string;
  code: string | null;
  name: string;
  level: TerritoryLevel;
  parentId: string | null;
  /** Ids top down, this one last. */
  chain: string[];
  path: string;
  depth: number;
}

interface Segment {
  territoryId: string;
  numberFrom: number | null;
  numberTo: number | null;
  parity: Parity;
}

interface Ref {
  kind: MentionKind;
  quality: number;
  bare: boolean;
  targets: string[];
  /** A road's segments (for the house number). */
  segments?: Segment[];
}

/** Weights of the evidence (0..1). */
const W = {
  roadNumberInRange: 0.9,
  roadNoNumber: 0.7,
  roadNumberOutOfRange: 0.5,
  point: 0.95,
  unknownPlace: 0.8,
  /** How much an unknown district name lowers the confidence (× its weight). */
  unknownSeverity: 0.5,
  /** A name found inside a word rather than on word boundaries. */
  scanPenalty: 0.7,
  /** A mention coarser than the candidate corroborates it this much (美兰区 for a grid in 美兰区). */
  corroboration: 0.3,
};
/** A territory is sure when it holds at least this share of the probability; below it the reading splits. */
const THETA = 0.65;
/** …and at least this many times the next one's (a road with two segments in one community and one in the next is no answer). */
const DOMINANCE = 3;
/** A reading with at least this probability is shown as an option. */
const MIN_ALTERNATIVE = 0.15;

const round2 = (x: number) => Math.round(x * 100) / 100;
const HOUSE_NUMBER = /^(?:的)?(\d{1,5})(?:[-之]\d{1,5})?号/;
const CODE_DISTRICT = /[A-Z]\d{1,2}[区县]/g;
const DISTRICTISH = /^[\u3400-\u9fff]{2,5}[区县]$/;
/** Words jieba tags as places that name no particular district: the old town, the new town. */
const GENERIC_AREAS = new Set(['老城区', '新城区', '旧城区', '主城区', '中心城区', '自治县', '市辖区']);

/** A resolver over one city's territory and gazetteer. Build once, resolve many times. */
export class TerritoryResolver {
  private readonly nodes = new Map<string, Node>();
  private readonly surfaces = new Map<string, Ref[]>();
  /** First two characters of a surface → the lengths of the surfaces starting with them, longest first. */
  private readonly prefixLengths = new Map<string, number[]>();
  private readonly buildings = new Map<string, string[]>();
  private readonly polygons: PolygonIndex<{ territoryId: string; depth: number }>;
  private readonly segmenter: Segmenter;
  private readonly words: DictionaryWord[] = [];
  readonly stats: { territories: number; entries: number; surfaces: number; polygons: number };

  constructor(input: ResolverInput, opts: ResolverOptions = {}) {
    this.segmenter = opts.segmenter ?? jiebaSegmenter();
    this.indexTerritories(input.territories);
    const bareCandidates: { surface: string; ref: Ref; village: boolean }[] = [];

    for (const t of this.nodes.values()) {
      for (const v of territoryVariants(t.name, t.level)) {
        const ref: Ref = { kind: t.level, quality: v.quality, bare: v.bare, targets: [t.id] };
        if (v.bare) bareCandidates.push({ surface: normalizeName(v.surface), ref, village: !!v.village });
        else this.addSurface(normalizeName(v.surface), ref);
      }
    }

    let entries = 0;
    const roads = new Map<string, { segments: Segment[]; aliases: Set<string> }>();
    for (const e of input.entries) {
      if (!this.nodes.has(e.territoryId)) continue; // a territory since removed: the entry points nowhere
      entries++;
      if (e.kind === 'road') {
        const key = normalizeName(e.name);
        const road = roads.get(key) ?? { segments: [], aliases: new Set<string>() };
        road.segments.push({ territoryId: e.territoryId, numberFrom: e.numberFrom, numberTo: e.numberTo, parity: e.parity });
        for (const a of e.aliases) road.aliases.add(normalizeName(a));
        roads.set(key, road);
        continue;
      }
      if (e.kind === 'building') {
        for (const n of [e.name, ...e.aliases]) {
          const key = normalizeName(n);
          const list = this.buildings.get(key) ?? [];
          if (!list.includes(e.territoryId)) list.push(e.territoryId);
          this.buildings.set(key, list);
        }
      }
      const kind: MentionKind = e.kind;
      for (const v of gazetteerVariants(e.kind, e.name, e.aliases)) {
        this.addSurface(normalizeName(v.surface), { kind, quality: v.quality, bare: false, targets: [e.territoryId] });
      }
    }
    for (const [name, road] of roads) {
      const targets = [...new Set(road.segments.map((s) => s.territoryId))];
      for (const surface of [name, ...road.aliases]) {
        this.addSurface(surface, { kind: 'road', quality: W.roadNoNumber, bare: false, targets, segments: road.segments });
      }
    }

    // Bare names only where the general dictionary does not know them as a common word (黄花, 路口).
    for (const { surface, ref, village } of bareCandidates) {
      if (!village && !this.surfaces.has(surface) && this.segmenter.isCommonWord(surface)) continue;
      this.addSurface(surface, ref);
    }

    for (const [surface, refs] of this.surfaces) {
      if (refs.every((r) => r.bare)) continue;
      this.words.push({ word: surface, freq: PLACE_WORD_FREQ, tag: 'ns' });
    }
    this.segmenter.addWords(this.words);

    this.polygons = new PolygonIndex(
      (input.polygons ?? [])
        .filter((p) => this.nodes.has(p.territoryId))
        .map((p) => ({ geometry: p.geometry, value: { territoryId: p.territoryId, depth: this.nodes.get(p.territoryId)!.depth } })),
    );
    this.stats = { territories: this.nodes.size, entries, surfaces: this.surfaces.size, polygons: this.polygons.size };
  }

  private indexTerritories(list: readonly ResolverTerritory[]) {
    const byId = new Map(list.map((t) => [t.id, t]));
    const chainOf = (t: ResolverTerritory): string[] => {
      const chain: string[] = [];
      const seen = new Set<string>();
      for (let cur: ResolverTerritory | undefined = t; cur && !seen.has(cur.id); cur = cur.parentId ? byId.get(cur.parentId) : undefined) {
        seen.add(cur.id);
        chain.unshift(cur.id);
      }
      return chain;
    };
    for (const t of list) {
      const chain = chainOf(t);
      this.nodes.set(t.id, { id: t.id, code: t.code, name: t.name, level: t.level, parentId: t.parentId, chain, path: `/${chain.join('/')}/`, depth: chain.length });
    }
  }

  private addSurface(surface: string, ref: Ref) {
    if (surface.length < 2) return;
    const refs = this.surfaces.get(surface);
    if (refs) {
      // The same kind of name for several places (幸福里小区 in two districts): one ref, several targets.
      const same = refs.find((r) => r.kind === ref.kind && r.bare === ref.bare && !r.segments && !ref.segments);
      if (same) {
        for (const t of ref.targets) if (!same.targets.includes(t)) same.targets.push(t);
        same.quality = Math.max(same.quality, ref.quality);
        return;
      }
      refs.push(ref);
      return;
    }
    this.surfaces.set(surface, [ref]);
    const key = surface.slice(0, 2);
    const lengths = this.prefixLengths.get(key) ?? [];
    if (!lengths.includes(surface.length)) {
      lengths.push(surface.length);
      lengths.sort((a, b) => b - a);
    }
    this.prefixLengths.set(key, lengths);
  }

  /** The custom dictionary: every name and variant (bare names excepted), for jieba and the classifier. */
  dictionaryWords(): DictionaryWord[] {
    return this.words.slice();
  }

  /** A territory as a resolution shows it. */
  territory(id: string): ResolvedTerritory | null {
    const n = this.nodes.get(id);
    if (!n) return null;
    const names = n.chain.map((x) => this.nodes.get(x)?.name ?? '?');
    // 滨江社区 + 滨江社区第一网格 reads 滨江社区第一网格, not 滨江社区滨江社区第一网格.
    const fullName = names.reduce((acc, name, i) => acc + (i > 0 && name.startsWith(names[i - 1]) ? name.slice(names[i - 1].length) : name), '');
    return { id: n.id, code: n.code, name: n.name, level: n.level, path: n.path, names, fullName };
  }

  /**
   * A report from a QR code on a building (一码通): the code carries the building, so the territory is
   * known exactly. An unknown code is unresolved, not guessed.
   */
  resolveBuilding(code: string): Resolution {
    const key = normalizeName(code ?? '');
    const hits = this.buildings.get(key) ?? [];
    const mention = (id: string | null): Mention => ({ text: key, kind: 'building', territoryId: id, candidates: hits, source: 'qr', weight: 1 });
    if (hits.length === 1) {
      const t = this.territory(hits[0])!;
      return {
        status: 'resolved', territory: t, confidence: 1, alternatives: [], mentions: [mention(t.id)], conflicts: [], normalized: key,
        explanation: `二维码「${key}」登记在 ${t.fullName}。 / QR code ${key} is registered to ${t.fullName}.`,
      };
    }
    if (hits.length > 1) {
      // Two buildings with one code is a data error; show both rather than pick one.
      const alts = hits.map((id) => ({ territory: this.territory(id)!, confidence: round2(1 / hits.length), why: `二维码「${key}」 / QR code ${key}` }));
      return {
        status: 'ambiguous', territory: this.commonAncestor(hits), confidence: alts[0].confidence, alternatives: alts, mentions: [mention(null)], conflicts: [], normalized: key,
        explanation: `二维码「${key}」登记在多个楼栋，请核对。 / QR code ${key} is registered to ${hits.length} buildings; check the gazetteer.`,
      };
    }
    return {
      status: 'unresolved', territory: null, confidence: 0, alternatives: [], mentions: [], conflicts: [], normalized: key,
      explanation: `二维码「${key}」未登记。 / QR code ${key} is not registered.`,
    };
  }

  /** Resolves an address as said or typed, with the reporter's point when there is one. */
  resolve(address: string | null | undefined, point?: { lat?: number | null; lng?: number | null }): Resolution {
    const text = normalizeAddress(address);
    const mentions = this.findMentions(text);
    if (point && validLatLng(point.lat, point.lng)) {
      const hit = this.polygons.containing(point.lat!, point.lng!)[0];
      if (hit) {
        mentions.push({ text: `${point.lat},${point.lng}`, kind: 'point', territoryId: hit.territoryId, candidates: [hit.territoryId], source: 'point', weight: W.point });
      }
    }
    return this.decide(text, mentions, point);
  }

  // ---- Mentions ----

  private findMentions(text: string): Mention[] {
    const n = text.length;
    if (n < 2) return [];
    // Word boundaries from jieba (which knows every name as a custom word).
    const boundary = new Uint8Array(n + 1);
    const tokens = this.segmenter.cut(text);
    let pos = 0;
    for (const tk of tokens) {
      boundary[pos] = 1;
      pos += tk.length;
    }
    const tokensAligned = pos === n;
    if (!tokensAligned) boundary.fill(1); // the segmenter changed the text: treat every position as a boundary
    boundary[n] = 1;

    type Match = { start: number; end: number; surface: string; aligned: boolean };
    const matches: Match[] = [];
    for (let i = 0; i + 1 < n; i++) {
      const lengths = this.prefixLengths.get(text.slice(i, i + 2));
      if (!lengths) continue;
      for (const len of lengths) {
        if (i + len > n) continue;
        const surface = text.slice(i, i + len);
        if (!this.surfaces.has(surface)) continue;
        matches.push({ start: i, end: i + len, surface, aligned: boundary[i] === 1 && boundary[i + len] === 1 });
      }
    }
    // On word boundaries first, then the longest, then the earliest; no two mentions overlap.
    matches.sort((a, b) => Number(b.aligned) - Number(a.aligned) || b.end - b.start - (a.end - a.start) || a.start - b.start);
    const taken = new Uint8Array(n);
    const chosen: Match[] = [];
    for (const m of matches) {
      let free = true;
      for (let k = m.start; k < m.end && free; k++) free = taken[k] === 0;
      if (!free) continue;
      const refs = this.surfaces.get(m.surface)!;
      if (!m.aligned && refs.every((r) => r.bare)) continue; // a bare name inside a word is no name
      taken.fill(1, m.start, m.end);
      chosen.push(m);
    }
    chosen.sort((a, b) => a.start - b.start);

    const out: Mention[] = [];
    const seen = new Map<string, number>();
    for (const m of chosen) {
      const refs = this.surfaces.get(m.surface)!.filter((r) => m.aligned || !r.bare);
      const mention = this.mentionOf(m.surface, refs, text, m.end, m.aligned);
      const key = `${mention.kind}\u0000${m.surface}`;
      const at = seen.get(key);
      if (at === undefined) {
        seen.set(key, out.length);
        out.push(mention);
      } else if (mention.houseNumber !== undefined && out[at].houseNumber === undefined) {
        out[at] = mention; // 白龙南路 … 白龙南路12号: the numbered mention says more
      } // otherwise a name repeated in a long text counts once
    }

    // District-like names that are not this city's: 西湖区 said to 演示市, or an anonymised B3区.
    const foreign = new Set<string>();
    for (const m of text.matchAll(CODE_DISTRICT)) {
      if (!taken[m.index!] && !this.surfaces.has(m[0])) foreign.add(m[0]);
    }
    if (tokensAligned) {
      pos = 0;
      for (const tk of tokens) {
        if (DISTRICTISH.test(tk) && !taken[pos] && !this.surfaces.has(tk) && !GENERIC_AREAS.has(tk) && this.segmenter.isPlaceName(tk)) foreign.add(tk);
        pos += tk.length;
      }
    }
    for (const f of foreign) out.push({ text: f, kind: 'unknown_place', territoryId: null, candidates: [], source: 'token', weight: W.unknownPlace });
    return out;
  }

  private mentionOf(surface: string, refs: Ref[], text: string, end: number, aligned: boolean): Mention {
    const scale = aligned ? 1 : W.scanPenalty;
    const road = refs.find((r) => r.segments);
    if (road) {
      const num = HOUSE_NUMBER.exec(text.slice(end, end + 16));
      const others = refs.filter((r) => r !== road).flatMap((r) => r.targets);
      let targets = road.targets;
      let weight = W.roadNoNumber;
      let houseNumber: number | undefined;
      if (num) {
        houseNumber = Number(num[1]);
        const covering = road.segments!.filter((s) => segmentCovers(s, houseNumber!));
        if (covering.length) {
          targets = [...new Set(covering.map((s) => s.territoryId))];
          weight = W.roadNumberInRange;
        } else weight = W.roadNumberOutOfRange;
      }
      const all = this.collapse([...targets, ...others]);
      return { text: num ? surface + num[0] : surface, kind: 'road', territoryId: all.length === 1 ? all[0] : null, candidates: all, ...(houseNumber !== undefined ? { houseNumber } : {}), source: aligned ? 'token' : 'scan', weight: round2(weight * scale) };
    }
    const best = refs.reduce((a, b) => (b.quality > a.quality ? b : a));
    const targets = this.collapse(refs.flatMap((r) => r.targets));
    return { text: surface, kind: best.kind, territoryId: targets.length === 1 ? targets[0] : null, candidates: targets, source: aligned ? 'token' : 'scan', weight: round2(best.quality * scale) };
  }

  /** Drops targets that lie inside another target of the same mention (滨江 for 滨江街道 and its 滨江社区 → the street). */
  private collapse(ids: string[]): string[] {
    const uniq = [...new Set(ids)].filter((id) => this.nodes.has(id));
    return uniq.filter((id) => {
      const p = this.nodes.get(id)!.path;
      return !uniq.some((o) => o !== id && p.startsWith(this.nodes.get(o)!.path));
    });
  }

  // ---- Decision ----

  private within(inner: Node, outer: Node): boolean {
    return inner.path.startsWith(outer.path);
  }

  private commonAncestor(ids: string[]): ResolvedTerritory | null {
    const chains = ids.map((id) => this.nodes.get(id)?.chain ?? []);
    if (!chains.length) return null;
    let k = 0;
    while (chains.every((c) => k < c.length && c[k] === chains[0][k])) k++;
    return k ? this.territory(chains[0][k - 1]) : null;
  }

  private decide(text: string, mentions: Mention[], point?: { lat?: number | null; lng?: number | null }): Resolution {
    const normalized = stripFiller(text);
    const located = mentions.filter((m) => m.candidates.length);
    const unknown = mentions.filter((m) => m.kind === 'unknown_place');
    const conflicts: Conflict[] = [];
    if (unknown.length) {
      conflicts.push({ kind: 'unknown_place', detail: `「${unknown.map((m) => m.text).join('、')}」不是本市的区县 / ${unknown.map((m) => m.text).join(', ')}: not a district of this city` });
    }
    const pointGiven = !!point && validLatLng(point.lat, point.lng);
    const pointMissed = pointGiven && !mentions.some((m) => m.kind === 'point');
    if (!located.length) {
      const names = unknown.map((m) => m.text);
      const explanation = unknown.length
        ? `未能识别属地：「${names.join('、')}」不在本市辖区内。 / Unresolved: ${names.join(', ')} is not in this city.`
        : `未能识别属地：地址中没有本市已登记的地名${pointMissed ? '，坐标也不在任何网格范围内' : ''}。 / Unresolved: no place of this city's gazetteer in the address${pointMissed ? ', and the point lies in no grid outline' : ''}.`;
      return { status: 'unresolved', territory: null, confidence: 0, alternatives: [], mentions, conflicts, normalized, explanation };
    }

    // The places the mentions point at, finest first: a target with no other target inside it is a leaf.
    const node = (id: string) => this.nodes.get(id)!;
    const targets = [...new Set(located.flatMap((m) => m.candidates))].map(node);
    const leaves = targets.filter((t) => !targets.some((o) => o !== t && this.within(o, t)));
    // Each mention agrees with a leaf inside one of its targets, and speaks against the others as strongly as it is sure.
    const likelihood = leaves.map((l) => located.reduce((acc, m) => acc * (m.candidates.some((id) => this.within(l, node(id))) ? 1 : 1 - m.weight), 1));
    const sum = likelihood.reduce((a, b) => a + b, 0) || 1;
    const prob = new Map<string, number>();
    leaves.forEach((l, i) => {
      for (const a of l.chain) prob.set(a, (prob.get(a) ?? 0) + likelihood[i] / sum);
    });
    const P = (id: string) => prob.get(id) ?? 0;
    const unknownFactor = unknown.reduce((acc, m) => acc * (1 - W.unknownSeverity * m.weight), 1);
    /** How strongly the evidence pins the node, times how much of the probability it holds. */
    const conf = (id: string) => {
      const c = node(id);
      let miss = 1;
      for (const m of located) {
        const ts = m.candidates.map(node);
        miss *= 1 - (ts.some((t) => this.within(t, c)) ? m.weight : ts.some((t) => this.within(c, t)) ? W.corroboration * m.weight : 0);
      }
      return round2(Math.min(1, P(id) * (1 - miss) * unknownFactor));
    };
    const kidsOf = (parentId: string | null, depth: number) =>
      [...prob.keys()].map(node).filter((n) => n.depth === depth && (depth === 1 || n.chain[depth - 2] === parentId)).sort((a, b) => P(b.id) - P(a.id));
    /** The child that holds most of a node's probability, with no sibling worth a look beside it. */
    const dominant = (n: Node | null): Node | null => {
      const [top, second] = kidsOf(n?.id ?? null, (n?.depth ?? 0) + 1);
      const of = n ? P(n.id) : 1;
      return top && P(top.id) >= THETA * of && (!second || P(second.id) * DOMINANCE <= P(top.id)) ? top : null;
    };
    /** From a node, down while one child dominates. */
    const representative = (n: Node): Node => {
      for (let next = dominant(n); next; next = dominant(n)) n = next;
      return n;
    };

    // Down from the city while one branch dominates: the most specific sure territory.
    let best = null as Node | null;
    for (let next = dominant(null); next; next = dominant(best)) best = next;
    const kids = kidsOf(best?.id ?? null, (best?.depth ?? 0) + 1);
    const options = kids.filter((k) => P(k.id) >= MIN_ALTERNATIVE).map(representative);

    // Conflicts worth a person's look.
    const textual = located.filter((m) => m.kind !== 'point');
    const pointMention = located.find((m) => m.kind === 'point');
    let pointClash: Node | null = null;
    if (pointMention) {
      const p = node(pointMention.candidates[0]);
      const against = textual.filter((m) => m.candidates.every((id) => !this.within(node(id), p) && !this.within(p, node(id))));
      if (against.length) {
        pointClash = p;
        conflicts.push({ kind: 'point_text', detail: `坐标位于${this.territory(p.id)!.fullName}，而「${against.map((m) => m.text).join('、')}」指向别处 / the point lies in ${this.territory(p.id)!.fullName}, but ${against.map((m) => m.text).join(', ')} points elsewhere` });
      }
    }
    const districtsOf = (m: Mention) => new Set(m.candidates.map((id) => node(id).chain[0]));
    for (let i = 0; i < textual.length; i++) {
      const di = districtsOf(textual[i]);
      const clash = textual.slice(i + 1).find((m) => [...districtsOf(m)].every((d) => !di.has(d)));
      if (clash) {
        const names = (m: Mention) => [...districtsOf(m)].map((d) => node(d).name).join('/');
        conflicts.push({ kind: 'districts', detail: `「${textual[i].text}」在${names(textual[i])}，「${clash.text}」在${names(clash)} / ${textual[i].text} is in ${names(textual[i])}, ${clash.text} in ${names(clash)}` });
        break;
      }
    }

    const alt = (n: Node): Alternative => ({ territory: this.territory(n.id)!, confidence: conf(n.id), why: this.why(n, located) });
    let status: ResolutionStatus = 'resolved';
    let territoryId: string | null = best?.id ?? null;
    let alternatives: Alternative[] = [];
    if (pointClash) {
      // The reporter's position and the text disagree: a person decides (either may be right).
      const readings = [representative(pointClash), ...leaves.filter((l) => !this.within(l, pointClash!) && !this.within(pointClash!, l)).sort((a, b) => P(b.id) - P(a.id)).slice(0, 2).map(representative)];
      status = 'ambiguous';
      alternatives = readings.map(alt);
      territoryId = this.commonAncestor(readings.map((r) => r.id))?.id ?? null;
    } else if (options.length >= 2 || !best) {
      // When no district holds most of the probability, a person chooses, however the rest is spread.
      alternatives = (options.length ? options : kids.slice(0, 3).map(representative)).map(alt);
      // Between communities of one street the street is sure (属地到镇街) and the community a hint;
      // between streets or districts a person must choose.
      if (!best || best.level === 'district') status = 'ambiguous';
    } else if (best) {
      // Weaker readings elsewhere, for the agent to see what else the text could mean.
      alternatives = leaves
        .filter((l) => !this.within(l, best!) && !this.within(best!, l) && P(l.id) >= 0.05)
        .sort((a, b) => P(b.id) - P(a.id))
        .slice(0, 3)
        .map(alt);
    }
    alternatives.sort((a, b) => b.confidence - a.confidence);
    let confidence = status === 'resolved' && territoryId ? conf(territoryId) : alternatives[0]?.confidence ?? 0;
    if (status === 'resolved' && unknown.length && !located.some((m) => m.kind === 'district' || m.kind === 'street')) {
      // A district this city does not have, and none that it has: the place may well be elsewhere. Ask.
      status = 'ambiguous';
      alternatives = [alt(best!), ...alternatives];
      territoryId = null;
      confidence = alternatives[0].confidence;
    }
    const territory = territoryId ? this.territory(territoryId) : null;
    const resolution: Resolution = { status, territory, confidence, alternatives, mentions, conflicts, normalized, explanation: '' };
    resolution.explanation = this.explain(resolution, located, pointMissed);
    return resolution;
  }

  private describe(m: Mention): string {
    return m.kind === 'point' ? `坐标(${m.text})` : `${KIND_ZH[m.kind]}「${m.text}」`;
  }

  private why(n: Node, located: Mention[]): string {
    const zh: string[] = [];
    for (const m of located) {
      const hits = m.candidates.filter((id) => { const t = this.nodes.get(id)!; return this.within(t, n) || this.within(n, t); });
      if (!hits.length) continue;
      const share = hits.length < m.candidates.length ? `（${m.candidates.length}处之一）` : '';
      zh.push(`${this.describe(m)}${share}`);
    }
    const en = located
      .filter((m) => m.candidates.some((id) => { const t = this.nodes.get(id)!; return this.within(t, n) || this.within(n, t); }))
      .map((m) => `${m.kind} ${m.text}${m.candidates.length > 1 ? ` (1 of ${m.candidates.length} places)` : ''}`);
    return `${zh.join('、') || '—'} / ${en.join(', ') || '—'}`;
  }

  private explain(r: Resolution, located: Mention[], pointMissed: boolean): string {
    const found = located.map((m) => this.describe(m)).join('、');
    const foundEn = located.map((m) => `${m.kind} ${m.text}`).join(', ');
    const notes = r.conflicts.map((c) => c.detail.split(' / ')[0]);
    const notesEn = r.conflicts.map((c) => c.detail.split(' / ')[1] ?? '');
    if (pointMissed) {
      notes.push('坐标不在任何网格范围内');
      notesEn.push('the point lies in no grid outline');
    }
    const tail = notes.length ? `；注意：${notes.join('；')}` : '';
    const tailEn = notesEn.length ? `; note: ${notesEn.join('; ')}` : '';
    if (r.status === 'resolved') {
      const t = r.territory!;
      return `识别为${t.fullName}（${LEVEL_ZH[t.level]}，置信度${r.confidence}），依据：${found}${tail}。 / Resolved to ${t.fullName} (${t.level}, confidence ${r.confidence}) from ${foundEn}${tailEn}.`;
    }
    const opts = r.alternatives.map((a) => a.territory.fullName);
    const road = located.find((m) => m.kind === 'road' && m.houseNumber === undefined && m.candidates.length > 1);
    const has = (k: Conflict['kind']) => r.conflicts.some((c) => c.kind === k);
    const [reason, reasonEn] = has('point_text')
      ? ['坐标与文字描述指向不同的区域', 'the point and the text point to different places']
      : road
        ? [`「${road.text}」未说门牌号，该路跨多个区域`, `road ${road.text} without a house number runs through several territories`]
        : has('unknown_place') && r.alternatives.length < 2
          ? ['地址提到本市没有的区县，请核实', 'the address names a district this city does not have']
          : ['线索指向不同的区域', 'the clues point to different territories'];
    const which = opts.length === 1 ? `可能是${opts[0]}` : opts.join(' 或 ');
    const whichEn = opts.length === 1 ? `possibly ${opts[0]}` : `between ${opts.join(' and ')}`;
    return `无法确定属地：${which}（${reason}）；依据：${found}${tail}。 / Ambiguous, ${whichEn}: ${reasonEn}; from ${foundEn}${tailEn}.`;
  }
}

/** Builds a resolver for one city. */
export function buildTerritoryResolver(input: ResolverInput, opts: ResolverOptions = {}): TerritoryResolver {
  return new TerritoryResolver(input, opts);
}

export type { GazetteerEntry, GazetteerKind, TerritoryPolygon };
