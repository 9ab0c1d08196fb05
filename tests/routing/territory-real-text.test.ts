/**
 * Territory resolution on REAL text: the Teddy Cup 2020 messages to "A市" (anonymised: districts
 * written A1区…A9区, real street, road and compound names) with the government's replies, read from
 * ../shared/data (never copied into the repository; skipped when absent).
 *
 * The gazetteer is built at test time FROM THE REPLIES: a reply usually names the street office that
 * handled the message ("A3区洋湖街道高度重视…"). District → street pairs written that way become the
 * territory of A市. Each MESSAGE (subject + text, not the reply) is then resolved and compared with
 * the street its reply names.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import { describe, expect, it } from 'vitest';
import { buildTerritoryResolver, jiebaSegmenter, type Resolution, type ResolverTerritory, type TerritoryResolver } from '../../routing/territory';
import { loadDictionary, segmenter as classifierSegmenter } from '../../routing/classifier/tokenize';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FILE = resolvePath(process.env.HOTLINE_SHARED_DATA ?? resolvePath(REPO, '../shared/data'), 'messages/teddy2020-messages-with-replies-2816.csv');
const present = existsSync(FILE);
if (!present) process.stdout.write(`[territory real text] SKIPPED: ${FILE} is absent (the shared data folder lives beside the repository, never in it)\n`);

interface Message {
  id: string;
  subject: string;
  text: string;
  reply: string;
}

function readMessages(): Message[] {
  const rows = parse(readFileSync(FILE), { bom: true, columns: true, skip_empty_lines: true, relax_column_count: true }) as Record<string, string>[];
  return rows.map((r) => ({ id: r['留言编号'], subject: r['留言主题'] ?? '', text: (r['留言详情'] ?? '').replace(/_x000[dDaA]_/g, '\n'), reply: r['答复意见'] ?? '' }));
}

// A reply names the handling office as "A3区洋湖街道", "A7县安沙镇", "A8县市黄材镇" (宁乡 became a
// county-level city: the anonymiser left 县市), "A5区人民政府跳马镇"…
const PAIR = /(A[1-9])(区|县|市)(?:县|市)?(?:人民政府|政府)?([\u4e00-\u9fff]{2,5}?)(街道办事处|街道办|街道|镇人民政府|镇政府|镇|乡)/g;
// Characters no street name here contains: what the lazy match picked up from the sentence around it.
const NOT_IN_NAMES = new Set('的我各在已和与到及对将由向经是为了等个这那有该其完局美丽当地农环卫所要们从被把给至于即并或但而'.split(''));

interface Street {
  district: string; // A3
  base: string; // 洋湖
  name: string; // 洋湖街道
}

/** The district → street pairs the replies name, one street per (district, base name). */
function streetsFromReplies(messages: Message[]) {
  const suffixCount = new Map<string, Map<string, number>>();
  const forms = new Map<string, Map<string, number>>(); // district|base → full name → count
  for (const m of messages) {
    for (const [, d, suffix, base, kind] of m.reply.matchAll(PAIR)) {
      if ([...base].some((c) => NOT_IN_NAMES.has(c))) continue;
      const full = base + (kind.startsWith('街道') ? '街道' : kind[0]);
      const s = suffixCount.get(d) ?? new Map<string, number>();
      s.set(suffix, (s.get(suffix) ?? 0) + 1);
      suffixCount.set(d, s);
      const key = `${d}|${base}`;
      const f = forms.get(key) ?? new Map<string, number>();
      f.set(full, (f.get(full) ?? 0) + 1);
      forms.set(key, f);
    }
  }
  const top = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const districts = new Map([...suffixCount.entries()].map(([d, s]) => [d, `${d}${top(s)}`]));
  const streets: Street[] = [...forms.entries()].map(([key, f]) => {
    const [district, base] = key.split('|');
    return { district, base, name: top(f) };
  });
  return { districts, streets };
}

/** The one street a reply names (with any of 街道/镇/乡), or null when it names none or several. */
function goldStreet(reply: string, streets: Street[]): Street | null {
  const named = streets.filter((s) => ['街道', '镇', '乡'].some((suf) => reply.includes(s.base + suf)));
  // A street named in two districts (跳马镇): the reply must say which, as "A5区跳马镇".
  const sure = named.filter((s) => named.filter((o) => o.base === s.base).length === 1 || new RegExp(`${s.district}[区县市][县市]?(?:人民政府|政府)?${s.base}`).test(reply));
  const distinct = new Set(sure.map((s) => `${s.district}|${s.base}`));
  // 安沙镇 inside 安沙镇政府 is one; a base inside another's (北山 in 城北山?) is not counted twice.
  return distinct.size === 1 && named.length === sure.length ? sure[0] : null;
}

function buildWorld(messages: Message[]) {
  const { districts, streets } = streetsFromReplies(messages);
  const territories: ResolverTerritory[] = [];
  for (const [d, name] of districts) territories.push({ id: d, code: d, name, level: 'district', parentId: null });
  for (const s of streets) territories.push({ id: `${s.district}|${s.base}`, code: null, name: s.name, level: 'street', parentId: s.district });
  const resolver = buildTerritoryResolver({ territories, entries: [] }, { segmenter: jiebaSegmenter() });
  return { districts, streets, resolver };
}

interface Score {
  total: number;
  resolved: number;
  ambiguous: number;
  unresolved: number;
  districtRight: number;
  districtAnswered: number;
  streetRight: number;
  streetAnswered: number;
  streetInOptions: number;
}

function evaluate(resolver: TerritoryResolver, gold: { m: Message; street: Street }[]): { score: Score; misses: string[] } {
  const score: Score = { total: gold.length, resolved: 0, ambiguous: 0, unresolved: 0, districtRight: 0, districtAnswered: 0, streetRight: 0, streetAnswered: 0, streetInOptions: 0 };
  const misses: string[] = [];
  for (const { m, street } of gold) {
    const r: Resolution = resolver.resolve(`${m.subject}\n${m.text}`);
    score[r.status]++;
    const chain = r.territory?.path.split('/').filter(Boolean) ?? [];
    if (chain.length) {
      score.districtAnswered++;
      if (chain[0] === street.district) score.districtRight++;
    }
    if (r.status === 'resolved' && chain.length >= 2) {
      score.streetAnswered++;
      if (chain[1] === `${street.district}|${street.base}`) score.streetRight++;
      else misses.push(`${m.id} gold ${street.district}${street.name} got ${r.territory!.fullName}: ${r.mentions.map((x) => x.text).join(',')}`);
    }
    const options = [r.territory, ...r.alternatives.map((a) => a.territory)].filter((t) => t && t.path.split('/').filter(Boolean).length >= 2);
    if (options.some((t) => t!.path.split('/').filter(Boolean)[1] === `${street.district}|${street.base}`)) score.streetInOptions++;
  }
  return { score, misses };
}

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : '—');

describe.skipIf(!present)('territory resolution on real messages (Teddy Cup 2020, A市)', () => {
  const messages = present ? readMessages() : [];
  const world = present ? buildWorld(messages) : null;
  const gold = present ? messages.map((m) => ({ m, street: goldStreet(m.reply, world!.streets) })).filter((g): g is { m: Message; street: Street } => !!g.street) : [];

  it('builds A市 from the replies: districts and their streets', () => {
    const { districts, streets } = world!;
    process.stdout.write(`[territory real text] from ${messages.length} replies: ${districts.size} districts (${[...districts.values()].join(' ')}), ${streets.length} streets; ${gold.length} messages whose reply names exactly one of them\n`);
    expect(districts.size).toBeGreaterThanOrEqual(8);
    expect(streets.length).toBeGreaterThanOrEqual(30);
    expect(streets.some((s) => s.district === 'A3' && s.name === '洋湖街道')).toBe(true);
    expect(gold.length).toBeGreaterThanOrEqual(100);
  });

  it('resolves each message to the street its reply names: accuracy and coverage', () => {
    const { score, misses } = evaluate(world!.resolver, gold);
    const lines = [
      `[territory real text] ${score.total} messages with a gold street (the one street their reply names)`,
      `  coverage: resolved ${score.resolved} (${pct(score.resolved, score.total)}), ambiguous ${score.ambiguous} (${pct(score.ambiguous, score.total)}), unresolved ${score.unresolved} (${pct(score.unresolved, score.total)})`,
      `  district: right ${score.districtRight}/${score.total} = ${pct(score.districtRight, score.total)} of all; ${pct(score.districtRight, score.districtAnswered)} of the ${score.districtAnswered} with a district`,
      `  street:   right ${score.streetRight}/${score.total} = ${pct(score.streetRight, score.total)} of all; ${pct(score.streetRight, score.streetAnswered)} of the ${score.streetAnswered} resolved to a street`,
      `  street among the territory or its alternatives: ${score.streetInOptions}/${score.total} = ${pct(score.streetInOptions, score.total)}`,
      ...misses.slice(0, 8).map((x) => `  miss: ${x.slice(0, 160)}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    // Regression floors, set below what was measured (district 86.7%, street 56.4%, street precision 93.2% when written).
    expect(score.districtRight / score.total).toBeGreaterThanOrEqual(0.75);
    expect(score.streetRight / score.total).toBeGreaterThanOrEqual(0.45);
    expect(score.streetRight / Math.max(1, score.streetAnswered)).toBeGreaterThanOrEqual(0.85);
  });

  it('keeps place names from the gazetteer whole when segmenting real messages', () => {
    const plain = Jieba.withDict(dict);
    const names = world!.resolver.dictionaryWords().map((w) => w.word).filter((w) => /[\u4e00-\u9fff]{2,}(街道|镇|乡)$/.test(w));
    const nameSet = new Set(names);
    const seg = jiebaSegmenter();
    let occurrences = 0;
    let wholeWith = 0;
    let wholeWithout = 0;
    const splitByDefault = new Set<string>();
    /** Word boundaries of a segmentation, as positions in the text. */
    const cuts = (tokens: string[]) => {
      const at = new Set<number>();
      let pos = 0;
      for (const t of tokens) at.add((pos += t.length));
      return at;
    };
    /** Whether no word boundary falls inside the name (安沙镇 within the word 安沙镇政府 is whole too). */
    const whole = (at: Set<number>, start: number, n: string) => ![...Array(n.length - 1).keys()].some((k) => at.has(start + k + 1));
    for (const m of messages) {
      const text = m2s(m);
      const found = names.filter((n) => text.includes(n));
      if (!found.length) continue;
      const withDict = cuts(seg.cut(text));
      const without = cuts(plain.cut(text, false));
      for (const n of found) {
        const start = text.indexOf(n);
        occurrences++;
        if (whole(withDict, start, n)) wholeWith++;
        if (whole(without, start, n)) wholeWithout++;
        else splitByDefault.add(n);
      }
    }
    process.stdout.write(`[territory real text] street names in messages: ${occurrences}; one token with the gazetteer dictionary ${wholeWith}, with jieba's default dictionary only ${wholeWithout} (split by default: ${[...splitByDefault].slice(0, 8).join(' ')})\n`);
    expect(occurrences).toBeGreaterThan(20);
    expect(wholeWith).toBe(occurrences);
    expect(wholeWithout).toBeLessThan(wholeWith);
    expect(nameSet.size).toBeGreaterThan(0);
  });

  it('gives the classifier the same words: its tokenizer keeps them whole too', () => {
    const words = world!.resolver.dictionaryWords();
    loadDictionary(words);
    const sample = messages.find((m) => `${m.subject}${m.text}`.includes('洋湖街道'));
    if (!sample) return;
    expect(classifierSegmenter().cut(`${m2s(sample)}`, false)).toContain('洋湖街道');
  });
});

const m2s = (m: Message) => `${m.subject}${m.text}`.replace(/\s+/g, '');
