/**
 * Word segmentation (分词) for addresses: jieba with the gazetteer and territory names loaded as a
 * custom dictionary, so that 白龙南路 stays one word instead of 白龙南/路.
 *
 * This is the resolver's own jieba instance, not the classifier's shared one: loading place names
 * into the classifier's segmenter would change its tokens under a trained model (the classifier
 * loads `dictionaryWords()` itself when it is ready to retrain).
 */
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';

/** One word of a custom dictionary, in the shape jieba and the classifier's `loadDictionary` take. */
export interface DictionaryWord {
  word: string;
  freq: number;
  tag: string;
}

/** What the resolver needs from a segmenter. */
export interface Segmenter {
  /** The words of a text, in order; joined they give the text back. */
  cut(text: string): string[];
  /** Adds custom words (idempotent: a word already added is skipped). */
  addWords(words: readonly DictionaryWord[]): void;
  /**
   * Whether the general dictionary knows the word whole (黄花, 路口, 先锋): such a word, used alone, is
   * too common to stand for a place; a proper name the dictionary splits (洋湖 → 洋/湖) can.
   */
  isCommonWord(word: string): boolean;
  /** Whether the general dictionary tags the word as a place name (ns): 西湖区, 海淀区 — not 小区. */
  isPlaceName(word: string): boolean;
}

/** A frequency high enough that jieba keeps a multi-character place name whole. */
export const PLACE_WORD_FREQ = 5000;

let jieba: Jieba | null = null;
const loaded = new Set<string>();
const common = new Map<string, boolean>();
const place = new Map<string, boolean>();

function instance(): Jieba {
  if (!jieba) jieba = Jieba.withDict(dict);
  return jieba;
}

/**
 * The process-wide jieba segmenter of territory resolution (created on first use: ~0.2 s, ~40 MB).
 * Words of every city loaded stay loaded: jieba cannot unload a word, and a place name of another
 * city only keeps a name whole, it maps nothing.
 */
export function jiebaSegmenter(): Segmenter {
  return {
    cut: (text) => (text ? instance().cut(text, false) : []),
    addWords(words) {
      const fresh = words.filter((w) => w.word.length > 1 && !/\s/.test(w.word) && !loaded.has(w.word));
      if (!fresh.length) return;
      for (const w of fresh) loaded.add(w.word);
      instance().loadDict(Buffer.from(fresh.map((w) => `${w.word} ${w.freq} ${w.tag}`).join('\n'), 'utf8'));
    },
    isCommonWord(word) {
      let v = common.get(word);
      if (v === undefined) {
        // A word loaded as a custom word is whole by our doing; ask only about words jieba had before.
        v = !loaded.has(word) && instance().cut(word, false).length === 1;
        common.set(word, v);
      }
      return v;
    },
    isPlaceName(word) {
      let v = place.get(word);
      if (v === undefined) {
        const tags = instance().tag(word, false);
        v = tags.length === 1 && tags[0].tag === 'ns';
        place.set(word, v);
      }
      return v;
    },
  };
}

/**
 * A segmenter without a dictionary: every character is a word. For tests of the resolver's rules
 * without jieba; every dictionary match then counts as aligned.
 */
export const characterSegmenter: Segmenter = {
  cut: (text) => [...text],
  addWords: () => undefined,
  isCommonWord: () => false,
  isPlaceName: () => false,
};
