/**
 * The optional preset files responsibility.csv (责任清单) and knowledge.json (知识库): checked against the
 * preset's own categories.csv and units.csv, problems with file and line, nothing imported when there
 * is any; imported in the same transaction as the rest, idempotently; an absent file keeps the city's.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../core';
import { importCityFromDir, parsePreset, readPreset, type PresetProblem } from '../../app/city-preset';
import { RESPONSIBILITY_CSV_COLUMNS } from '../../routing/responsibility';
import { testDialect } from '../helpers/db';
import { DEMO_DIR, demoCopy, demoWorld, readDemoFile, tableCounts } from './demo-fixture';

const key = (p: Pick<PresetProblem, 'file' | 'line' | 'field'>) => `${p.file}:${p.line}:${p.field ?? ''}`;

const BROKEN_RESPONSIBILITY = [
  RESPONSIBILITY_CSV_COLUMNS.join(','),
  'R-1,010216,,city,util-water,,抢修,1小时内到场,96116,《城市供水条例》', // 2: fine
  'R-2,99999999,,city,util-water,,抢修,1小时内到场,96116,', // 3: unknown category
  'R-3,010216,,city,no-such-unit,dept-swj|ghost,抢修,1小时内到场,96116,', // 4: unknown lead and co unit
  '',
  'R-4,010216,,province,util-water,,抢修,1小时内到场,96116,', // 6: bad level (after an empty line)
  'R-1,010216,,city,util-water,,抢修,1小时内到场,96116,', // 7: duplicate item code
  'R-6,010216,,city,util-water,,"抢修，', // 8: a quoted field over two lines ...
  '并回访",1小时内到场,12-34,', // ... and a bad phone: reported on line 8
].join('\n');

const EXPECTED_RESPONSIBILITY: [number, string][] = [
  [3, 'category_code'], [4, 'lead_unit_code'], [4, 'co_unit_codes'], [6, 'territory_level'], [7, 'item_code'], [8, 'contact_phone'],
];

const BROKEN_KNOWLEDGE = [
  '{',
  '  "notice": "演示",',
  '  "articles": [',
  '    {',
  '      "code": "kb-ok",',
  '      "question": "社保卡丢了怎么办？",',
  '      "answer": "到社保卡网点补办。",',
  '      "categoryCode": "15020101",',
  '      "ownerUnitCode": "dept-rsj"',
  '    },',
  '    {',
  '      "code": "kb-bad-cat",',
  '      "question": "问题二？",',
  '      "answer": "答案二。",',
  '      "categoryCode": "nope"', // 15: unknown category
  '    },',
  '    {',
  '      "code": "kb-bad-unit",',
  '      "question": "问题三？",',
  '      "answer": "答案三。",',
  '      "ownerUnitCode": "ghost",', // 21: unknown unit
  '      "validTo": "2025-13-45"', // 22: no such date
  '    },',
  '    {',
  '      "code": "kb-ok",', // 25: duplicate code
  '      "question": "问题四？",',
  '      "answer": "答案四。"',
  '    },',
  '    {',
  '      "code": "kb-extra",',
  '      "question": "问题五？",',
  '      "answer": "答案五。",',
  '      "colour": "red"', // 33: unknown key
  '    },',
  '    {', // 35: the article without an answer
  '      "code": "kb-no-answer",',
  '      "question": "问题六？"',
  '    }',
  '  ]',
  '}',
].join('\n');

const EXPECTED_KNOWLEDGE: [number, string][] = [
  [15, 'articles.1.categoryCode'], [21, 'articles.2.ownerUnitCode'], [22, 'articles.2.validTo'], [25, 'articles.3.code'], [33, 'articles.4.colour'], [35, 'articles.5.answer'],
];

const count = async (db: Awaited<ReturnType<typeof demoWorld>>['db'], table: 'responsibility_versions' | 'responsibility_items' | 'knowledge_articles' | 'knowledge_revisions') =>
  Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

/** The seven required files of the demo (no optional file). */
async function requiredTexts(): Promise<Record<string, string>> {
  const texts: Record<string, string> = {};
  for (const f of ['city.json', 'territory.csv', 'units.csv', 'users.csv', 'categories.csv', 'time-limit-policies.json', 'hotline-lines.csv']) texts[f] = await readDemoFile(f);
  return texts;
}

describe('reading responsibility.csv and knowledge.json', () => {
  let copy: Awaited<ReturnType<typeof demoCopy>>;
  beforeAll(async () => {
    copy = await demoCopy();
    await writeFile(join(copy.dir, 'responsibility.csv'), BROKEN_RESPONSIBILITY);
    await writeFile(join(copy.dir, 'knowledge.json'), BROKEN_KNOWLEDGE);
  });
  afterAll(async () => copy?.done());

  it('accepts the demo files: 79 list items and 32 articles', async () => {
    const r = await readPreset(DEMO_DIR);
    if (!r.ok) throw new Error(JSON.stringify(r.problems.slice(0, 5)));
    expect(r.preset.responsibility?.count).toBe(79);
    expect(r.preset.knowledge?.count).toBe(32);
  });

  it('reports every problem with its file, line and field, in both languages', async () => {
    const r = await readPreset(copy.dir);
    if (r.ok) throw new Error('expected problems');
    expect(r.problems.filter((p) => p.file === 'responsibility.csv').map(key)).toEqual(EXPECTED_RESPONSIBILITY.map(([line, field]) => `responsibility.csv:${line}:${field}`));
    expect(r.problems.filter((p) => p.file === 'knowledge.json').map(key)).toEqual(EXPECTED_KNOWLEDGE.map(([line, field]) => `knowledge.json:${line}:${field}`));
    // Only the two optional files are at fault.
    expect(new Set(r.problems.map((p) => p.file))).toEqual(new Set(['responsibility.csv', 'knowledge.json']));
    for (const p of r.problems) {
      expect(p.message.length).toBeGreaterThan(0);
      expect(p.messageZh).toMatch(/[\u4e00-\u9fff]/);
    }
    // A knowledge problem names its article.
    expect(r.problems.find((p) => p.file === 'knowledge.json' && p.line === 21)!.message).toContain('kb-bad-unit');
    expect(r.problems.find((p) => p.file === 'knowledge.json' && p.line === 21)!.messageZh).toContain('第3条（kb-bad-unit）');
    expect(r.problems.find((p) => p.file === 'knowledge.json' && p.line === 25)!.message).toContain('duplicate code kb-ok');
    expect(r.problems.find((p) => p.file === 'responsibility.csv' && p.line === 7)!.messageZh).toContain('首次出现在第2行');
  });

  it('reports malformed knowledge JSON with its line, and a file without articles', async () => {
    const texts = await requiredTexts();
    const bad = parsePreset({ ...texts, 'knowledge.json': '{\n  "articles": [\n    { "code": "a" \n    "question": "?" }\n  ]\n}' });
    if (bad.ok) throw new Error('expected problems');
    expect(bad.problems.map(key)).toEqual(['knowledge.json:4:']);
    const noArticles = parsePreset({ ...texts, 'knowledge.json': '{\n  "items": []\n}' });
    if (noArticles.ok) throw new Error('expected problems');
    expect(noArticles.problems.map(key)).toEqual(['knowledge.json:1:articles']);
    // A list without items is a mistake, not a way to empty the list.
    const empty = parsePreset({ ...texts, 'responsibility.csv': `${RESPONSIBILITY_CSV_COLUMNS.join(',')}\n` });
    if (empty.ok) throw new Error('expected problems');
    expect(empty.problems.map(key)).toEqual(['responsibility.csv:0:']);
    // Absent, they are no problem.
    const without = parsePreset(texts);
    expect(without.ok).toBe(true);
    if (without.ok) expect([without.preset.responsibility, without.preset.knowledge]).toEqual([undefined, undefined]);
  });

  it('checks them against the units and categories of the preset, not of some city', async () => {
    const texts = await requiredTexts();
    const responsibility = await readFile(join(DEMO_DIR, 'responsibility.csv'), 'utf8');
    const knowledge = await readFile(join(DEMO_DIR, 'knowledge.json'), 'utf8');
    // util-water leaves units.csv: the list and the articles that name it fail, on their lines.
    const units = texts['units.csv'].replace(/^util-water,.*\n/m, '');
    const r = parsePreset({ ...texts, 'units.csv': units, 'users.csv': texts['users.csv'].replace(/util-water/g, ''), 'responsibility.csv': responsibility, 'knowledge.json': knowledge });
    if (r.ok) throw new Error('expected problems');
    const csvLines = responsibility.split('\n');
    const withWater = csvLines.map((l, i) => (/(^|,|\|)util-water(,|\|)/.test(l) ? i + 1 : 0)).filter(Boolean);
    expect(withWater.length).toBeGreaterThan(0);
    const listProblems = r.problems.filter((p) => p.file === 'responsibility.csv');
    expect([...new Set(listProblems.map((p) => p.line))]).toEqual(withWater);
    expect(listProblems.every((p) => p.message.includes('util-water'))).toBe(true);
    const jsonLines = knowledge.split('\n');
    const ownerLines = jsonLines.map((l, i) => (l.includes('"ownerUnitCode": "util-water"') ? i + 1 : 0)).filter(Boolean);
    expect(r.problems.filter((p) => p.file === 'knowledge.json').map((p) => p.line)).toEqual(ownerLines);
    // Units and categories that cannot be read at all: no second problem for every reference.
    const { 'units.csv': _units, 'categories.csv': _categories, ...rest } = texts;
    const noUnits = parsePreset({ ...rest, 'responsibility.csv': responsibility, 'knowledge.json': knowledge });
    if (noUnits.ok) throw new Error('expected problems');
    expect(noUnits.problems.filter((p) => p.file === 'responsibility.csv' || p.file === 'knowledge.json')).toEqual([]);
  });
});

describe(`importing the responsibility list and knowledge base on ${testDialect}`, () => {
  let w: Awaited<ReturnType<typeof demoWorld>>;
  beforeAll(async () => {
    w = await demoWorld();
  });
  afterAll(async () => w?.database.dispose());

  const actions = async () => {
    const rows = await w.db.selectFrom('audit_events').select(['action']).execute();
    return rows.reduce<Record<string, number>>((m, r) => ({ ...m, [r.action]: (m[r.action] ?? 0) + 1 }), {});
  };

  it('imports nothing at all from a folder whose list or articles have problems', async () => {
    for (const [file, text, expected] of [
      ['responsibility.csv', BROKEN_RESPONSIBILITY, EXPECTED_RESPONSIBILITY],
      ['knowledge.json', BROKEN_KNOWLEDGE, EXPECTED_KNOWLEDGE],
    ] as const) {
      const copy = await demoCopy();
      try {
        await writeFile(join(copy.dir, file), text);
        const err = await importCityFromDir(w.deps, copy.dir, w.ctx).catch((e) => e);
        expect(isAppError(err) && err.code).toBe('PRESET_INVALID');
        const problems = err.details.problems as PresetProblem[];
        expect(problems.map((p) => [p.file, p.line])).toEqual(expected.map(([line]) => [file, line]));
        expect(await tableCounts(w.db)).toEqual({ cities: 0, territories: 0, units: 0, hotlineLines: 0, users: 0, categories: 0, policies: 0, audit: 0 });
        expect(await count(w.db, 'responsibility_versions')).toBe(0);
        expect(await count(w.db, 'knowledge_articles')).toBe(0);
      } finally {
        await copy.done();
      }
    }
  });

  it('imports the demo list (79 items, approved) and articles (32, published) with the city', async () => {
    const invalidated: string[] = [];
    const summary = await importCityFromDir({ ...w.deps, knowledge: { invalidate: (id) => invalidated.push(id) } }, DEMO_DIR, w.ctx);
    expect(summary.responsibility).toEqual({ outcome: 'created', versionNumber: 1, items: 79 });
    expect(summary.knowledge).toEqual({ created: 32, updated: 0, unchanged: 0 });
    expect(summary.changed).toBe(true);
    expect(invalidated).toEqual(['demo']);
    const version = await w.db.selectFrom('responsibility_versions').selectAll().executeTakeFirstOrThrow();
    expect(version).toMatchObject({ city_id: 'demo', status: 'approved' });
    expect(Number(version.item_count)).toBe(79);
    expect(await count(w.db, 'responsibility_items')).toBe(79);
    // Unit codes resolved to the ids this import gave the units.
    const water = (await w.directory.findUnitByCode('demo', 'util-water'))!;
    const item = await w.db.selectFrom('responsibility_items').selectAll().where('item_code', '=', 'DEMO-010216-01').executeTakeFirstOrThrow();
    expect(item.lead_unit_id).toBe(water.id);
    const articles = await w.db.selectFrom('knowledge_articles').selectAll().execute();
    expect(articles).toHaveLength(32);
    expect(articles.every((a) => a.status === 'published' && a.published_revision_id)).toBe(true);
    const rsj = (await w.directory.findUnitByCode('demo', 'dept-rsj'))!;
    expect(articles.find((a) => a.code === 'kb-sbk-bb')!.owner_unit_id).toBe(rsj.id);
    // The parts audit what they write; the importer adds no row of its own for them.
    expect(await actions()).toMatchObject({ 'responsibility_version.preset_imported': 1, 'knowledge_article.preset_imported': 32, 'city.preset_imported': 1 });
  });

  it('re-importing the same folder changes nothing: no new version, no revision, no audit row', async () => {
    const before = { ...(await tableCounts(w.db)), revisions: await count(w.db, 'knowledge_revisions'), versions: await count(w.db, 'responsibility_versions') };
    const invalidated: string[] = [];
    const again = await importCityFromDir({ ...w.deps, knowledge: { invalidate: (id) => invalidated.push(id) } }, DEMO_DIR, w.ctx);
    expect(again.responsibility).toEqual({ outcome: 'unchanged', versionNumber: 1, items: 79 });
    expect(again.knowledge).toEqual({ created: 0, updated: 0, unchanged: 32 });
    expect(again.changed).toBe(false);
    expect(invalidated).toEqual(['demo']);
    expect({ ...(await tableCounts(w.db)), revisions: await count(w.db, 'knowledge_revisions'), versions: await count(w.db, 'responsibility_versions') }).toEqual(before);
  });

  it('an edited list is a new version in force and an edited article a new revision; absent files keep what is there', async () => {
    const copy = await demoCopy();
    try {
      const edit = async (file: string, fn: (s: string) => string) => writeFile(join(copy.dir, file), fn(await readFile(join(copy.dir, file), 'utf8')));
      await edit('responsibility.csv', (s) => s.replace('3个工作日内办结,96116,《城市供水条例》', '2个工作日内办结,96116,《城市供水条例》'));
      await edit('knowledge.json', (s) => s.replace('咨询电话：12329。', '咨询电话：12329（工作日）。'));
      const edited = await importCityFromDir(w.deps, copy.dir, w.ctx);
      expect(edited.responsibility).toEqual({ outcome: 'created', versionNumber: 2, items: 79 });
      expect(edited.knowledge).toEqual({ created: 0, updated: 1, unchanged: 31 });
      expect(edited.changed).toBe(true);

      // Without the two files, the city keeps its list (version 2 in force) and its articles.
      const audit = (await tableCounts(w.db)).audit;
      const revisions = await count(w.db, 'knowledge_revisions');
      await rm(join(copy.dir, 'responsibility.csv'));
      await rm(join(copy.dir, 'knowledge.json'));
      const without = await importCityFromDir(w.deps, copy.dir, w.ctx);
      expect(without.responsibility).toBeNull();
      expect(without.knowledge).toBeNull();
      expect(without.changed).toBe(false);
      expect((await tableCounts(w.db)).audit).toBe(audit);
      expect(await count(w.db, 'responsibility_versions')).toBe(2);
      expect(await count(w.db, 'knowledge_articles')).toBe(32);
      expect(await count(w.db, 'knowledge_revisions')).toBe(revisions);
    } finally {
      await copy.done();
    }
    // The demo folder restores them: a third version, the article's third revision.
    const back = await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
    expect(back.responsibility).toEqual({ outcome: 'created', versionNumber: 3, items: 79 });
    expect(back.knowledge).toEqual({ created: 0, updated: 1, unchanged: 31 });
  });

  it('a unit deactivated in the database makes the list a problem of the preset, and nothing is written', async () => {
    const water = (await w.directory.findUnitByCode('demo', 'util-water'))!;
    await w.db.updateTable('units').set({ active: 0 }).where('id', '=', water.id).execute();
    try {
      const before = { ...(await tableCounts(w.db)), versions: await count(w.db, 'responsibility_versions') };
      const err = await importCityFromDir(w.deps, DEMO_DIR, w.ctx).catch((e) => e);
      expect(isAppError(err) && err.code).toBe('PRESET_INVALID');
      const problems = err.details.problems as PresetProblem[];
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.every((p) => p.file === 'responsibility.csv' && p.line > 1 && p.message.includes('util-water is inactive'))).toBe(true);
      expect({ ...(await tableCounts(w.db)), versions: await count(w.db, 'responsibility_versions') }).toEqual(before);
    } finally {
      await w.db.updateTable('units').set({ active: 1 }).where('id', '=', water.id).execute();
    }
  });
});
