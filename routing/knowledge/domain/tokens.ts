/**
 * Search tokens for the knowledge base: jieba words in search mode (社保卡 also yields 社保, so a
 * caller's 社保 finds 社保卡补办) and, from the short fields, CJK character pairs that catch what the
 * segmenter splits differently (公积金提取 vs 提取公积金). Shares the classifier's segmenter, so a
 * gazetteer loaded there (roads, communities) applies here too.
 */
import { charNgrams, normalizeText, segmenter, STOPWORDS } from '../../classifier/tokenize';
import type { QueryTerm } from './bm25';

const CJK = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
const HAS_CJK_OR_LATIN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffa-z]/;
const PAIR = '~';

/** Words that say nothing about which answer is meant in a question to the hotline. */
const QUESTION_NOISE = new Set(['办理', '需要', '一下', '请问', '能不能', '可不可以', '哪些', '怎么办']);

/** Search-mode jieba words of a text: stopwords, single characters and codes removed. */
export function searchWords(text: string): string[] {
  const normalized = normalizeText(text);
  if (!normalized) return [];
  const out: string[] = [];
  for (const w of segmenter().cutForSearch(normalized, true)) {
    if (w.length < 2 || STOPWORDS.has(w)) continue;
    if (!HAS_CJK_OR_LATIN.test(w)) continue;
    if (/\d/.test(w) && !CJK.test(w)) continue;
    out.push(w);
  }
  return out;
}

/** CJK character pairs of a text, as pair terms (kept apart from words). */
export function searchPairs(text: string): string[] {
  return charNgrams(normalizeText(text), 2).map((p) => PAIR + p);
}

export const isPair = (term: string) => term.startsWith(PAIR);
export const surfaceOf = (term: string) => (isPair(term) ? term.slice(1) : term);

/** The parts of an article that are indexed, with how much a term in each counts. */
export interface IndexedText {
  question: string;
  answer: string;
  keywords: string[];
}

/** Field weights: a question or keyword term says more about the article than one in the answer. */
export const FIELD_WEIGHTS = { title: 3, answer: 1, pairs: 1 } as const;

/** Weighted term frequencies of an article. */
export function documentTerms(doc: IndexedText): Map<string, number> {
  const tf = new Map<string, number>();
  const add = (terms: string[], w: number) => {
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + w);
  };
  // Question and keywords weigh the same: one segmentation for both (a newline keeps their words apart).
  const title = [doc.question, ...doc.keywords].join('\n');
  add(searchWords(title), FIELD_WEIGHTS.title);
  // A keyword is also a term as a whole (社保卡补办), whatever the segmenter makes of it.
  add(doc.keywords.map((k) => normalizeText(k)).filter((k) => k.length >= 2 && !/\s/.test(k)), FIELD_WEIGHTS.title);
  add(searchWords(doc.answer), FIELD_WEIGHTS.answer);
  add(searchPairs(title), FIELD_WEIGHTS.pairs);
  return tf;
}

/** Weight of a character pair against a word in a query. */
export const PAIR_WEIGHT = 0.3;

/** Query terms of what a caller asked: each distinct word once, pairs at a lower weight. */
export function queryTerms(text: string): QueryTerm[] {
  const words = [...new Set(searchWords(text))].filter((w) => !QUESTION_NOISE.has(w));
  const pairs = [...new Set(searchPairs(text))];
  return [...words.map((term) => ({ term, weight: 1 })), ...pairs.map((term) => ({ term, weight: PAIR_WEIGHT }))];
}
