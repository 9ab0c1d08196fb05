/**
 * Tokenizer (分词) for ticket text: normalisation, jieba words, CJK character n-grams and stopwords.
 * The classifier and the address parser share it, so a gazetteer loaded with `loadDictionary` (roads,
 * communities, compounds) improves both: the default dictionary splits place names (白龙南/路).
 */
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';

let jieba: Jieba | null = null;

/** The process-wide jieba instance with the default dictionary, created on first use (loading takes ~0.3 s). */
export function segmenter(): Jieba {
  if (!jieba) jieba = Jieba.withDict(dict);
  return jieba;
}

/** One entry of a custom dictionary: a word, an optional frequency (higher wins a split) and part-of-speech tag. */
export interface DictionaryEntry {
  word: string;
  freq?: number;
  tag?: string;
}

/**
 * Adds words to the shared segmenter (jieba `loadDict`): either jieba's text format (`word [freq] [tag]` per
 * line) or entries. Frequency defaults to a value that keeps multi-character names whole. Words already
 * known are re-weighted. Affects every later tokenisation in the process; trained models keep their
 * features, so retrain (or keep learning) after loading a large dictionary.
 */
export function loadDictionary(entries: string | Uint8Array | DictionaryEntry[]): void {
  let text: string | Uint8Array;
  if (Array.isArray(entries)) {
    text = entries
      .filter((e) => e.word && !/\s/.test(e.word))
      .map((e) => [e.word, String(e.freq ?? 2000), ...(e.tag ? [e.tag] : [])].join(' '))
      .join('\n');
  } else {
    text = entries;
  }
  segmenter().loadDict(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
}

const CJK_RUN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/g;

/** A CJK ideograph (extension A, unified, compatibility): the characters n-grams are made of. */
const isCjk = (c: number) => (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff);
const isLatin = (c: number) => c >= 97 && c <= 122;

/**
 * Text as the tokenizer sees it: NFKC (full-width letters and digits become ASCII), lower case, Excel's
 * `_x000D_` escapes and masking stars removed, the anonymised place codes of the Teddy data (A市, A3区,
 * G4县) cut out so that they do not glue to the next word, white space collapsed.
 */
export function normalizeText(input: string | null | undefined): string {
  if (!input) return '';
  return input
    .normalize('NFKC')
    .replace(/_x000[dDaA]_/g, '\n')
    .toLowerCase()
    .replace(/\*{2,}/g, ' ')
    .replace(/(?<![a-z0-9])[a-z]\d{0,2}(?=[市区县])[市区县]/g, ' ')
    .replace(/[\s\u3000]+/g, ' ')
    .trim();
}

/**
 * Function words, pronouns and the courtesy phrases of letters to officials (尊敬的领导, 您好, 谢谢):
 * frequent in every category, so noise for the classifier.
 */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    '的 了 是 在 和 与 及 或 也 都 就 还 又 把 被 让 给 对 向 从 到 由 以 为 于 之 其 而 且 但 并 则 即 若 如 ' +
    '我 你 您 他 她 它 我们 你们 他们 她们 它们 大家 自己 本人 咱们 这 那 这个 那个 这些 那些 这样 那样 这里 那里 这种 那种 ' +
    '什么 怎么 怎样 如何 为什么 为何 哪里 哪些 多少 是否 能否 可否 有没有 是不是 可以 能够 应该 需要 已经 曾经 正在 ' +
    '一个 一些 一直 一下 一样 一般 一次 一定 一切 所有 每个 各种 各位 有关 相关 关于 对于 由于 因为 所以 因此 但是 ' +
    '而且 并且 或者 如果 虽然 然而 然后 而是 只是 只有 不是 没有 不能 不会 不要 还是 还有 就是 都是 也是 ' +
    '很 太 更 最 非常 十分 特别 比较 已 才 再 又 仍 仍然 却 只 便 每 各 该 此 等 等等 其他 其它 以及 以上 以下 ' +
    '以来 之后 之前 以后 以前 之间 之中 其中 目前 现在 当时 今天 今年 去年 明年 时候 时间 期间 情况 问题 事情 方面 ' +
    '尊敬 尊敬的 领导 书记 市长 局长 主任 先生 女士 同志 您好 你好 谢谢 感谢 谢谢您 非常感谢 百忙之中 此致 敬礼 ' +
    '希望 恳请 请求 请问 麻烦 反映 反应 投诉 咨询 建议 举报 留言 网友 市民 群众 老百姓 ' +
    '政府 部门 有关部门 相关部门 单位 领导们 能 会 要 想 说 做 去 来 上 下 中 里 后 前 多 少 大 小 好 ' +
    '啊 吗 呢 吧 呀 哦 嗯 哈 啦 嘛 么 着 过 得 地 个 年 月 日 号 市 区 县 省 镇 乡 村 ' +
    '进行 表示 认为 知道 发现 出现 存在 导致 造成 影响 要求 解决 处理 落实 答复 回复 给予 得到 受到 开始 继续 ' +
    '严重 根本 完全 真的 实在 确实 必须 尽快 及时 马上 立即 一起 共同 希望能 能不能'
  ).split(/\s+/),
);

/**
 * Characters too common to make a useful character n-gram (的是, 了一): an n-gram containing one is
 * dropped. Words still carry them where they matter (目的 is a jieba word, not an n-gram).
 */
const STOP_CHARS = new Set('的了是在和与及或也都就还又把被让给对向从到由以为于之其而且但并则我你您他她它们这那个吗呢吧啊呀哦嗯么着过得地'.split(''));

/** jieba words of normalised text: stopwords, single characters, numbers and punctuation removed. */
export function words(normalized: string): string[] {
  if (!normalized) return [];
  const out: string[] = [];
  for (const w of segmenter().cut(normalized, true)) {
    if (w.length < 2 || STOPWORDS.has(w)) continue;
    // Numbers and codes (2019, 4.23, G4, A3) are not words; Latin words stay (ktv, wifi, app, pm2.5).
    let cjk = false;
    let latin = 0;
    for (let i = 0; i < w.length && !cjk; i++) {
      const c = w.charCodeAt(i);
      if (isCjk(c)) cjk = true;
      else if (isLatin(c)) latin++;
    }
    if (!cjk && latin < 2) continue;
    out.push(w);
  }
  return out;
}

/** Character n-grams of each run of CJK characters (n = 2 gives 坑坑, 坑洼, 洼洼), skipping those with a stop character. */
export function charNgrams(normalized: string, n: number): string[] {
  const out: string[] = [];
  for (const m of normalized.matchAll(CJK_RUN)) {
    const run = m[0];
    outer: for (let i = 0; i + n <= run.length; i++) {
      for (let k = 0; k < n; k++) if (STOP_CHARS.has(run[i + k])) continue outer;
      out.push(run.slice(i, i + n));
    }
  }
  return out;
}

/** Which features a text yields; part of a trained model, so a model always tokenises as it was trained. */
export interface FeatureOptions {
  /** jieba words, as `w:<word>`. */
  words: boolean;
  /** Character n-gram lengths, as `c<n>:<chars>` (e.g. [2] or [2, 3]). */
  ngrams: number[];
  /** How many times a title token counts against one of the body; the title says in a line what the body rambles about. */
  titleWeight: number;
}

export const DEFAULT_FEATURE_OPTIONS: FeatureOptions = { words: true, ngrams: [2], titleWeight: 3 };

/**
 * The text of a ticket the classifier reads. `title` is weighted; the other parts are the body
 * (通话记录 transcript, 诉求情况 situation, 诉求 demand, or free `text`).
 */
export interface TicketText {
  title?: string | null;
  text?: string | null;
  transcript?: string | null;
  situation?: string | null;
  demand?: string | null;
}

export const asTicketText = (input: string | TicketText): TicketText => (typeof input === 'string' ? { text: input } : input);

const bodyOf = (t: TicketText) => [t.transcript, t.situation, t.demand, t.text].filter((s): s is string => !!s).join('\n');

function addTokens(into: Map<string, number>, normalized: string, weight: number, opts: FeatureOptions) {
  if (!normalized) return;
  if (opts.words) for (const w of words(normalized)) into.set(`w:${w}`, (into.get(`w:${w}`) ?? 0) + weight);
  for (const n of opts.ngrams) {
    for (const g of charNgrams(normalized, n)) {
      const key = `c${n}:${g}`;
      into.set(key, (into.get(key) ?? 0) + weight);
    }
  }
}

/**
 * Feature counts of a ticket: `w:` words and `c<n>:` n-grams, title tokens counted `titleWeight` times.
 * Keys appear in text order, so the same text always gives the same map in the same order.
 */
export function extractFeatures(input: string | TicketText | NormalizedTicket, opts: FeatureOptions = DEFAULT_FEATURE_OPTIONS): Map<string, number> {
  const n = normalizeTicket(input);
  const out = new Map<string, number>();
  addTokens(out, n.title, opts.titleWeight, opts);
  addTokens(out, n.body, 1, opts);
  return out;
}

/** The words a feature stands for, for explanations: `w:垃圾` → 垃圾, `c2:噪音` → 噪音. */
export const featureSurface = (feature: string): string => feature.slice(feature.indexOf(':') + 1);

/** Number of CJK characters and Latin letters in normalised text. */
function countMeaningful(normalized: string): number {
  let n = 0;
  for (let i = 0; i < normalized.length; i++) {
    const c = normalized.charCodeAt(i);
    if (isCjk(c) || isLatin(c)) n++;
  }
  return n;
}

/** A ticket's title and body, normalised once for every use (features, keyword rules, length). */
export interface NormalizedTicket {
  normalized: true;
  title: string;
  body: string;
}

export function normalizeTicket(input: string | TicketText | NormalizedTicket): NormalizedTicket {
  if (isNormalized(input)) return input;
  const t = asTicketText(input);
  return { normalized: true, title: normalizeText(t.title), body: normalizeText(bodyOf(t)) };
}

/** Number of CJK characters and Latin letters in the ticket: the measure of "too short to say". */
export function meaningfulLength(input: string | TicketText | NormalizedTicket): number {
  const n = normalizeTicket(input);
  return countMeaningful(n.title) + countMeaningful(n.body);
}

function isNormalized(x: unknown): x is NormalizedTicket {
  return typeof x === 'object' && x !== null && (x as NormalizedTicket).normalized === true;
}
