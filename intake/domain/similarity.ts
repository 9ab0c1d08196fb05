/**
 * Text similarity for spotting the same problem told twice (重复诉求). Character bigrams suit Chinese:
 * no segmentation needed, robust to the small wording changes of two callers describing one burst
 * pipe. Cosine over bigram counts, 0..1.
 */
const NOISE = /[\s\p{P}\p{S}]+/gu;
const FILLER = /(您好|你好|请问|谢谢|麻烦|尊敬的领导|领导)/g;

export function bigrams(text: string): Map<string, number> {
  const s = text.replace(FILLER, '').replace(NOISE, '').toLowerCase();
  const m = new Map<string, number>();
  for (let i = 0; i < s.length - 1; i++) {
    const g = s.slice(i, i + 2);
    m.set(g, (m.get(g) ?? 0) + 1);
  }
  return m;
}

export function cosine(a: Map<string, number>, b: Map<string, number>): number {
  if (!a.size || !b.size) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const [, v] of a) na += v * v;
  for (const [, v] of b) nb += v * v;
  const [small, large] = a.size < b.size ? [a, b] : [b, a];
  for (const [g, v] of small) dot += v * (large.get(g) ?? 0);
  return dot / Math.sqrt(na * nb);
}

/** The road and house number an address names ('白龙南路88号院' → 白龙南路, 88; '88号楼' → no road, 88), or null. */
export function houseNumberOf(address: string | null | undefined): { road: string; number: string } | null {
  const m = /([\p{Script=Han}A-Za-z]*?(?:路|街|道|巷|弄|里|村|胡同|大道)?)(\d+)号/u.exec((address ?? '').replace(/\s+/g, ''));
  return m ? { road: m[1], number: m[2] } : null;
}

/** Two house numbers are one place unless their numbers differ, or both name a road and the roads differ. */
function sameHouse(a: { road: string; number: string }, b: { road: string; number: string }) {
  return a.number === b.number && (!a.road || !b.road || a.road === b.road);
}

/**
 * Where two reports are, as a caller would say: the same place needs the same grid and, when both
 * name a house number, the same number (白龙南路20号 is not 白龙南路88号, though one grid holds both).
 */
export function placeMatch(
  mine: { exactPath: string | null; areaPath: string | null; address: string | null },
  theirs: { territoryPath: string | null; address: string | null },
): DuplicateSignals['samePlace'] {
  const path = theirs.territoryPath ?? '';
  if (mine.exactPath && path.startsWith(mine.exactPath)) {
    const a = houseNumberOf(mine.address);
    const b = houseNumberOf(theirs.address);
    return a && b && !sameHouse(a, b) ? 'area' : 'exact';
  }
  return mine.areaPath && path.startsWith(mine.areaPath) ? 'area' : 'none';
}

export interface DuplicateSignals {
  textSimilarity: number;
  sameCategory: boolean;
  /** The same place (same grid, same house number when both give one) or only nearby (same street). */
  samePlace: 'exact' | 'area' | 'none';
  sameCaller: boolean;
}

/** How likely two tickets are one problem, 0..1, and the reasons in both languages. */
export function duplicateScore(s: DuplicateSignals): { score: number; reasons: { zh: string; en: string }[] } {
  const reasons: { zh: string; en: string }[] = [];
  let score = 0.6 * s.textSimilarity;
  if (s.textSimilarity >= 0.3) reasons.push({ zh: `描述相似（${Math.round(s.textSimilarity * 100)}%）`, en: `similar text (${Math.round(s.textSimilarity * 100)}%)` });
  if (s.sameCategory) {
    score += 0.2;
    reasons.push({ zh: '同一分类', en: 'same category' });
  }
  if (s.samePlace === 'exact') {
    score += 0.2;
    reasons.push({ zh: '同一地点', en: 'same place' });
  } else if (s.samePlace === 'area') {
    score += 0.1;
    reasons.push({ zh: '同一街道', en: 'same street' });
  }
  if (s.sameCaller) {
    // The same citizen calling again about a similar thing is the strongest sign of a repeat.
    score += 0.15;
    reasons.push({ zh: '同一来电人', en: 'same caller' });
  }
  return { score: Math.min(1, score), reasons };
}
