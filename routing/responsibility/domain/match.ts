/**
 * Which items of a list answer a ticket (按职能划分): those on the ticket's category or on one of its
 * ancestors (an item on a level-2 category covers its children). The most specific category wins;
 * among items of the same category, the situation keywords found in the caller's text decide. Pure.
 */
import type { ActingLevel } from './items';

export interface MatchableItem {
  id: string;
  seq: number;
  itemCode: string;
  categoryCode: string;
  situationKeywords: string[];
  actingLevel: ActingLevel;
}

/** Why an item was matched. */
export interface MatchReason {
  /** `exact`: the item is on the ticket's category; `ancestor`: on a broader one. */
  category: 'exact' | 'ancestor';
  /** Levels between the ticket's category and the item's (0 for exact). */
  distance: number;
  /** The item's situation keywords found in the text. */
  keywordsHit: string[];
  /** The item names situations and none of them was found in the text: it applies only if the situation does. */
  situationUnconfirmed: boolean;
}

export interface Ranked<T extends MatchableItem> {
  item: T;
  why: MatchReason;
  /** Ordinal score: higher ranks first (category specificity, then situation). */
  score: number;
}

/** Text as keywords are looked for in it: NFKC, lower case, without white space. */
export const normalizeForKeywords = (s: string) => s.normalize('NFKC').toLowerCase().replace(/[\s\u3000]+/g, '');

/**
 * Ranks the items of the ticket's category and its ancestors.
 * @param byCategory the list's items by category code
 * @param categoryCode the ticket's category
 * @param ancestorCodes its ancestors, top down (level 1 first), without itself
 */
export function rankItems<T extends MatchableItem>(byCategory: ReadonlyMap<string, readonly T[]>, categoryCode: string, ancestorCodes: readonly string[], text: string): Ranked<T>[] {
  const haystack = normalizeForKeywords(text);
  const chain: { code: string; distance: number }[] = [{ code: categoryCode, distance: 0 }];
  ancestorCodes.filter((c) => c !== categoryCode).forEach((code, i, all) => chain.push({ code, distance: all.length - i }));
  const out: Ranked<T>[] = [];
  for (const { code, distance } of chain) {
    for (const item of byCategory.get(code) ?? []) {
      const keywordsHit = haystack ? item.situationKeywords.filter((k) => haystack.includes(normalizeForKeywords(k))) : [];
      const situationUnconfirmed = item.situationKeywords.length > 0 && keywordsHit.length === 0;
      // Situation rank: named situations found (more is more specific) > a general item > situations not found.
      const situation = keywordsHit.length > 0 ? 2 + Math.min(keywordsHit.length, 7) : situationUnconfirmed ? 0 : 1;
      out.push({
        item,
        why: { category: distance === 0 ? 'exact' : 'ancestor', distance, keywordsHit, situationUnconfirmed },
        score: (10 - Math.min(distance, 9)) * 10 + situation,
      });
    }
  }
  return out.sort((a, b) => b.score - a.score || a.item.seq - b.item.seq);
}
