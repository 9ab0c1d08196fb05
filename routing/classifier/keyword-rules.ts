/**
 * Keyword rules (关键词规则): prior knowledge from the category tree. Each category node names a matter
 * (噪音污染, 物业服务, 网约车问题) and may list the words callers use for it; a ticket that says those words
 * leans towards that category. The classifier adds these leanings to its statistical model, so a fresh
 * city with a category tree and no history still gets suggestions, and a rare category is not drowned by
 * frequent ones.
 */
import { normalizeText, normalizeTicket, STOPWORDS, words, type NormalizedTicket, type TicketText } from './tokenize';
import type { TaxonomyRow } from './csv';

/** Words that suggest a label. `weight` (default 1) scales every keyword of the rule. */
export interface KeywordRule {
  label: string;
  keywords: string[];
  weight?: number;
}

/** The parts of a category node the rules need; `Category` of the routing part fits. */
export interface CategoryNodeLike {
  id: string;
  code?: string;
  name: string;
  parentId: string | null;
  keywords?: string[];
  active?: boolean;
}

/**
 * Words of category names that say nothing about the matter (其他 "other", 管理 "management", 问题 "problem"):
 * they occur in the names of most categories.
 */
const GENERIC_NAME_WORDS = new Set(
  '其他 其它 管理 服务 工作 政策 问题 事务 活动 公共 行业 发展 使用 决定 申请 依法 内部 后期 力量 物质 相关 综合 一般 处理 情况'.split(' '),
);

const MIN_KEYWORD = 2;
const MAX_KEYWORD = 12;

const NAME_SPLIT = /[\s、，,;；/|（）()【】\[\]和与及或]+/;

/** The pieces of a category name (split at 、/和/与/brackets…) that are short enough to be said whole. */
function namePhrases(name: string): string[] {
  const out: string[] = [];
  for (const piece of normalizeText(name).split(NAME_SPLIT)) {
    if (piece.length >= MIN_KEYWORD && piece.length <= MAX_KEYWORD && !GENERIC_NAME_WORDS.has(piece) && !out.includes(piece)) out.push(piece);
  }
  return out;
}

/**
 * The keywords a category name yields: the name itself (when short enough to be said) and its jieba words,
 * minus generic words. 城乡居民养老保险 → 城乡居民养老保险, 城乡, 居民, 养老保险.
 */
export function keywordsFromName(name: string): string[] {
  const out = new Set<string>();
  for (const piece of normalizeText(name).split(NAME_SPLIT)) {
    if (!piece) continue;
    if (piece.length >= MIN_KEYWORD && piece.length <= MAX_KEYWORD && !GENERIC_NAME_WORDS.has(piece)) out.add(piece);
    for (const w of words(piece)) if (!GENERIC_NAME_WORDS.has(w)) out.add(w);
  }
  return [...out];
}

const uniq = (xs: string[]) => [...new Set(xs)];

/**
 * Rules for the leaves of a category tree (the classifier suggests leaf categories): each leaf gets its own
 * name and keywords at weight 1, and the names and keywords of its ancestors at `ancestorWeight` per level
 * up (0.5, 0.25, …) — 燃气供应 under 城市建设和市政管理 also hears 市政. The words jieba cuts a name into
 * (危险化学品污染 → 危险, 化学品, 污染) say less than the name or a curated keyword and count `nameWordWeight`
 * (0.5) of their node's weight. Inactive nodes are ignored. `labelBy` chooses what the label is: the
 * node's code (default; its id when it has none) or its id.
 */
export function rulesFromCategories(
  nodes: CategoryNodeLike[],
  opts: { labelBy?: 'id' | 'code'; ancestorWeight?: number; nameWordWeight?: number } = {},
): KeywordRule[] {
  const labelBy = opts.labelBy ?? 'code';
  const ancestorWeight = opts.ancestorWeight ?? 0.5;
  const nameWordWeight = opts.nameWordWeight ?? 0.5;
  const active = nodes.filter((n) => n.active !== false);
  const byId = new Map(active.map((n) => [n.id, n]));
  const hasChild = new Set(active.map((n) => n.parentId).filter((p): p is string => !!p));
  const ownKeywords = (n: CategoryNodeLike) => {
    const phrases = uniq([...namePhrases(n.name), ...(n.keywords ?? []).map(normalizeText).filter(Boolean)]);
    const nameWords = keywordsFromName(n.name).filter((k) => !phrases.includes(k));
    return { phrases, nameWords };
  };
  const rules: KeywordRule[] = [];
  const push = (label: string, n: CategoryNodeLike, weight: number) => {
    const { phrases, nameWords } = ownKeywords(n);
    rules.push({ label, keywords: phrases, weight });
    if (nameWordWeight > 0) rules.push({ label, keywords: nameWords, weight: weight * nameWordWeight });
  };
  const leaves = active.filter((n) => !hasChild.has(n.id)).sort((a, b) => (a.code ?? a.id).localeCompare(b.code ?? b.id));
  for (const leaf of leaves) {
    const label = labelBy === 'code' ? (leaf.code ?? leaf.id) : leaf.id;
    push(label, leaf, 1);
    let weight = ancestorWeight;
    const seen = new Set([leaf.id]);
    for (let p = leaf.parentId ? byId.get(leaf.parentId) : undefined; p && !seen.has(p.id); p = p.parentId ? byId.get(p.parentId) : undefined) {
      seen.add(p.id);
      if (weight > 0) push(label, p, weight);
      weight *= ancestorWeight;
    }
  }
  return rules.filter((r) => r.keywords.length > 0);
}

/**
 * Rules for the labels of one level of a 3-level taxonomy (一级/二级/三级分类), from the names below it:
 * for level 1, 环境保护 hears 环境, 保护 at weight 1 and 噪音污染, 噪音, 污染, 大气污染 … at `childWeight`.
 * The Teddy Cup taxonomy's sub-category names are prior knowledge that holds beyond any training sample.
 */
export function rulesFromTaxonomy(rows: TaxonomyRow[], level: 1 | 2 | 3 = 1, opts: { childWeight?: number } = {}): KeywordRule[] {
  const childWeight = opts.childWeight ?? 1;
  const own = new Map<string, Set<string>>();
  const below = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, label: string, name: string) => {
    if (!name) return;
    if (!m.has(label)) m.set(label, new Set());
    for (const k of keywordsFromName(name)) m.get(label)!.add(k);
  };
  for (const r of rows) {
    const names = [r.level1, r.level2, r.level3];
    const label = names[level - 1];
    if (!label) continue;
    add(own, label, label);
    for (const n of names.slice(level)) add(below, label, n);
  }
  const out: KeywordRule[] = [];
  for (const label of [...own.keys()].sort()) {
    out.push({ label, keywords: [...own.get(label)!], weight: 1 });
    const sub = [...(below.get(label) ?? [])].filter((k) => !own.get(label)!.has(k));
    if (sub.length && childWeight > 0) out.push({ label, keywords: sub, weight: childWeight });
  }
  return out;
}

/** A keyword that matched, with the weight it added to its label. */
export interface KeywordHit {
  keyword: string;
  weight: number;
}

/** The rules' leaning of one ticket: a score per label (sum of matched keyword weights) and the hits. */
export interface KeywordScores {
  scores: Map<string, number>;
  hits: Map<string, KeywordHit[]>;
}

/**
 * How hits count. `specific` (default): a hit weighs its rule's weight × the keyword's specificity, and a
 * match inside a longer match is no match (水管爆了 hides 水管). `flat`: every hit weighs its rule's weight,
 * overlapping matches all count (classifier models of format version 1 were fitted so).
 */
export type KeywordScoring = 'specific' | 'flat';

export interface KeywordMatcherOptions {
  /** A keyword found in the title counts this many times (default 2). */
  titleBoost?: number;
  scoring?: KeywordScoring;
}

const isAsciiWordChar = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);

/**
 * Finds rule keywords in ticket text by walking a prefix set from each position (a trie in a Set: a couple
 * of lookups per character, whatever the number of rules). A keyword counts once per ticket,
 * twice if the title says it. A keyword that several labels share gives each of them its weight: in
 * the classifier's softmax a shared boost lifts the group against the rest and leaves the group's members
 * where they were, which is what a shared word means.
 *
 * Not every keyword says as much (`specific` scoring). A hit weighs the rule's weight times the keyword's
 * specificity: its IDF over the labels, ln(1 + L/n)/ln(1 + L) for a keyword n of the L labels hear (1 when
 * one label does, ½ when about a fortieth of a thousand do), times its length less one, up to 5 (a
 * two-character word 1, 水管爆了 3): 2 characters are one word, 4 are a phrase, and phrases are rarer.
 * Where matches overlap the longest wins: 水管爆了 is not also 水管, 井盖丢了 not also the 井盖 of forty
 * 井盖 leaves. Latin and digit keywords (ktv, GB/T codes such as 01037) match whole words only.
 */
export class KeywordMatcher {
  private readonly index = new Map<string, { label: string; weight: number }[]>();
  /** Every prefix of every keyword: the scan of a position stops at the first substring that is none. */
  private readonly prefixes = new Set<string>();
  private readonly maxLength: number;
  private readonly spec = new Map<string, number>();
  private readonly titleBoost: number;
  readonly scoring: KeywordScoring;
  readonly labels: string[];

  constructor(
    readonly rules: KeywordRule[],
    opts: number | KeywordMatcherOptions = {},
  ) {
    const o = typeof opts === 'number' ? { titleBoost: opts } : opts;
    this.titleBoost = o.titleBoost ?? 2;
    this.scoring = o.scoring ?? 'specific';
    const labels = new Set<string>();
    for (const r of rules) {
      labels.add(r.label);
      const w = r.weight ?? 1;
      if (!(w > 0)) continue;
      for (const raw of r.keywords) {
        const k = normalizeText(raw);
        if (k.length < MIN_KEYWORD || STOPWORDS.has(k)) continue;
        const list = this.index.get(k) ?? [];
        const same = list.find((e) => e.label === r.label);
        // The same keyword from two rules of one label (own name and an ancestor's): the stronger counts.
        if (same) same.weight = Math.max(same.weight, w);
        else list.push({ label: r.label, weight: w });
        this.index.set(k, list);
      }
    }
    this.labels = [...labels].sort();
    let max = 0;
    const L = this.labels.length;
    for (const [k, list] of this.index) {
      for (let n = 1; n <= k.length; n++) this.prefixes.add(k.slice(0, n));
      max = Math.max(max, k.length);
      const idf = L > 1 ? Math.log(1 + L / list.length) / Math.log(1 + L) : 1;
      this.spec.set(k, this.scoring === 'flat' ? 1 : idf * (Math.min(Math.max([...k].length, 2), 6) - 1));
    }
    this.maxLength = max;
  }

  get size(): number {
    return this.index.size;
  }

  /** What a hit of this keyword is worth per unit of rule weight (0 for a keyword of no rule). */
  specificity(keyword: string): number {
    return this.spec.get(normalizeText(keyword)) ?? 0;
  }

  /** The keywords found in the text; with `specific` scoring, not those found only inside a longer match. */
  private found(s: string): Set<string> {
    const out = new Set<string>();
    if (!s || !this.maxLength) return out;
    const specific = this.scoring === 'specific';
    // Furthest end of the matches that start before the current position: a match ending there or before is inside one.
    let reach = -1;
    for (let i = 0; i < s.length; i++) {
      let longest = -1;
      const here: string[] = [];
      for (let n = 1; n <= this.maxLength && i + n <= s.length; n++) {
        const k = s.slice(i, i + n);
        if (!this.prefixes.has(k)) break;
        if (!this.index.has(k)) continue;
        if (specific && !wholeWord(s, i, i + n)) continue;
        here.push(k);
        longest = i + n;
      }
      if (!specific) {
        for (const k of here) out.add(k);
        continue;
      }
      // `here` is by length: only the longest starting here can be outside every other match.
      if (here.length && longest > reach) out.add(here[here.length - 1]);
      reach = Math.max(reach, longest);
    }
    return out;
  }

  /** Scores of the labels whose keywords occur in the ticket (labels without a hit are absent). */
  score(input: string | TicketText | NormalizedTicket): KeywordScores {
    const { title, body } = normalizeTicket(input);
    const inTitle = this.found(title);
    const all = new Set([...inTitle, ...this.found(body)]);
    const scores = new Map<string, number>();
    const hits = new Map<string, KeywordHit[]>();
    for (const k of [...all].sort()) {
      const factor = (inTitle.has(k) ? this.titleBoost : 1) * this.spec.get(k)!;
      for (const { label, weight } of this.index.get(k)!) {
        const w = weight * factor;
        scores.set(label, (scores.get(label) ?? 0) + w);
        if (!hits.has(label)) hits.set(label, []);
        hits.get(label)!.push({ keyword: k, weight: w });
      }
    }
    return { scores, hits };
  }
}

/** A keyword that begins or ends with a Latin letter or a digit must not continue a longer Latin word or number there. */
function wholeWord(s: string, from: number, to: number): boolean {
  if (isAsciiWordChar(s.charCodeAt(from)) && from > 0 && isAsciiWordChar(s.charCodeAt(from - 1))) return false;
  if (isAsciiWordChar(s.charCodeAt(to - 1)) && to < s.length && isAsciiWordChar(s.charCodeAt(to))) return false;
  return true;
}
