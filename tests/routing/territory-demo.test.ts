/**
 * Territory resolution (属地识别) on the demo city, through the service, on SQLite and MariaDB: the
 * demo preset (territory, gazetteer.csv, grids.geojson) is imported with the city importer and every
 * address below is resolved as a caller would say it.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCityFromDir } from '../../app/city-preset';
import { createTerritoryResolverService, type Resolution, type TerritoryResolverService } from '../../routing/territory';
import { testDialect } from '../helpers/db';
import { DEMO_DIR, demoWorld } from '../city-preset/demo-fixture';

let w: Awaited<ReturnType<typeof demoWorld>>;
let service: TerritoryResolverService;
const codeOf = new Map<string, string>(); // territory id → code

beforeAll(async () => {
  w = await demoWorld();
  service = createTerritoryResolverService({ db: w.db, dialect: w.database.dialect, directory: w.directory });
  await importCityFromDir({ ...w.deps, territoryResolver: service }, DEMO_DIR, w.ctx);
  for (const level of ['district', 'street', 'community', 'grid'] as const) {
    for (const t of await w.directory.listTerritoriesAtLevel('demo', level)) codeOf.set(t.id, t.code!);
  }
});
afterAll(async () => w?.database.dispose());

const code = (r: Resolution) => (r.territory ? codeOf.get(r.territory.id) : null);
const altCodes = (r: Resolution) => r.alternatives.map((a) => codeOf.get(a.territory.id));

interface Case {
  say: string;
  point?: { lat: number; lng: number };
  status: Resolution['status'];
  /** The territory's code (null: none). */
  code: string | null;
  /** Codes that must be among the alternatives. */
  alternatives?: string[];
  minConfidence?: number;
  maxConfidence?: number;
  conflict?: 'districts' | 'point_text' | 'unknown_place';
  note: string;
}

const CASES: Case[] = [
  { say: '湖滨区白龙南路12号滨江花园3栋楼下', status: 'resolved', code: '990102001001001', minConfidence: 0.9, note: 'district + road with number + compound, with filler' },
  { say: '白龙南路１２０号', status: 'resolved', code: '990102001001002', minConfidence: 0.8, note: 'full-width digits, no district; even side 100-198' },
  { say: '白龙南路一百二十一号附近', status: 'resolved', code: '990102001002001', minConfidence: 0.8, note: 'Chinese numeral house number, odd side 101-199 → another community' },
  { say: '湖 滨 区 白 龙 南 路 1 2 号', status: 'resolved', code: '990102001001001', note: 'unusual spacing' },
  { say: '滨江花园', status: 'resolved', code: '990102001001001', minConfidence: 0.8, note: 'only a compound' },
  { say: '滨江花园小区门口垃圾堆了三天', status: 'resolved', code: '990102001001001', note: 'compound said with 小区, in a sentence' },
  { say: '望湖花园门口', status: 'resolved', code: '990102002001001', note: 'compound with filler' },
  { say: '湖滨大道350号', status: 'resolved', code: '990102002001', note: 'road + number in the 望湖街道 segment' },
  { say: '湖滨大道', status: 'ambiguous', code: '990102', alternatives: ['990102001003', '990102002001'], maxConfidence: 0.5, note: 'a road through two streets without a house number' },
  { say: '青山路', status: 'ambiguous', code: '990103', alternatives: ['990103001001', '990103002001'], note: 'odd and even sides in two streets, no number' },
  { say: '青山路18号', status: 'resolved', code: '990103002001', note: 'even side → 翠屏社区' },
  { say: '白龙南路', status: 'resolved', code: '990102001', alternatives: ['990102001001', '990102001002001'], note: 'road without number inside one street: the street is sure, the community a hint' },
  { say: '南门大街250号', status: 'resolved', code: '990102003002001', note: 'second segment of 南门大街' },
  { say: '第一人民医院对面', status: 'resolved', code: '990102002001002', note: 'landmark (hospital) by its alias' },
  { say: '万达广场', status: 'resolved', code: '990103002001001', note: 'landmark (mall)' },
  { say: '地铁湖滨站出口', status: 'resolved', code: '990102003001001', note: 'landmark (metro station)' },
  { say: '滨江小学旁边', status: 'resolved', code: '990102001001002', note: 'landmark (school)' },
  { say: '青山公园', status: 'resolved', code: '990103001002001', note: 'landmark (park)' },
  { say: '临河县东王庄', status: 'resolved', code: '990121100201001', note: 'natural village with its county' },
  { say: '王家庄', status: 'resolved', code: '990121100201', note: 'administrative village said bare' },
  { say: '李家沟村后沟组', status: 'resolved', code: '990121101201002', note: 'village + natural village group' },
  { say: '翠竹社区', status: 'resolved', code: '990103001003', note: 'community name' },
  { say: '锦绣社区第三网格', status: 'resolved', code: '990103002002003', note: 'grid name' },
  { say: '滨江办', status: 'resolved', code: '990102001', note: 'alias of a street office' },
  { say: '老城区鼓楼街', status: 'resolved', code: '990102003002002', note: 'alias + road agree' },
  { say: '江景苑', status: 'resolved', code: '990102001001', note: 'compound spanning two grids → its community' },
  { say: '江景苑五栋', status: 'resolved', code: '990102001001003', note: 'named building, Chinese numeral' },
  { say: '幸福里小区', status: 'ambiguous', code: null, alternatives: ['990102003001002', '990103001003002'], note: 'same compound name in two districts' },
  { say: '青山区幸福里小区', status: 'resolved', code: '990103001003002', note: 'the district picks the right one' },
  { say: '青山区滨江花园', status: 'ambiguous', code: null, alternatives: ['990102001001001'], conflict: 'districts', note: 'district and compound disagree' },
  { say: 'asdf乱码！！123', status: 'unresolved', code: null, note: 'garbage' },
  { say: '我家水管爆了快来人', status: 'unresolved', code: null, note: 'no place at all' },
  { say: '西湖区中关村大街1号', status: 'unresolved', code: null, conflict: 'unknown_place', note: 'a district this city does not have' },
  { say: '海淀区白龙南路12号', status: 'ambiguous', code: null, conflict: 'unknown_place', note: 'unknown district beside a known road: ask, do not assume' },
  { say: '', point: { lat: 35.015, lng: 115.045 }, status: 'resolved', code: '990102001002002', minConfidence: 0.9, note: 'a point inside a grid outline' },
  { say: '临江小区', point: { lat: 35.005, lng: 115.045 }, status: 'resolved', code: '990102001002001', minConfidence: 0.95, note: 'point and text agree' },
  { say: '青山区松林小区', point: { lat: 35.005, lng: 115.015 }, status: 'ambiguous', code: null, alternatives: ['990102001001001', '990103001002002'], conflict: 'point_text', note: 'point and text disagree' },
  { say: '', point: { lat: 35.055, lng: 115.135 }, status: 'resolved', code: '990103002002003', note: 'a point in one part of a MultiPolygon outline' },
  { say: '', point: { lat: 36.5, lng: 117.0 }, status: 'unresolved', code: null, note: 'a point outside every outline, no text' },
];

describe(`territory resolution of the demo city on ${testDialect}`, () => {
  it.each(CASES)('$say $point → $status $code ($note)', async (c) => {
    const r = await service.resolve('demo', c.say, c.point);
    const ctx = JSON.stringify({ explanation: r.explanation, code: code(r), alternatives: altCodes(r), confidence: r.confidence, mentions: r.mentions.map((m) => `${m.kind}:${m.text}`) });
    expect(r.status, ctx).toBe(c.status);
    expect(code(r) ?? null, ctx).toBe(c.code);
    for (const a of c.alternatives ?? []) expect(altCodes(r), ctx).toContain(a);
    if (c.minConfidence !== undefined) expect(r.confidence, ctx).toBeGreaterThanOrEqual(c.minConfidence);
    if (c.maxConfidence !== undefined) expect(r.confidence, ctx).toBeLessThanOrEqual(c.maxConfidence);
    if (c.conflict) expect(r.conflicts.map((x) => x.kind), ctx).toContain(c.conflict);
    expect(r.confidence).toBeGreaterThanOrEqual(0);
    expect(r.confidence).toBeLessThanOrEqual(1);
    if (c.status === 'unresolved') {
      expect(r.territory).toBeNull();
      expect(r.confidence).toBe(0);
    }
    expect(r.explanation).toMatch(/[\u4e00-\u9fff].* \/ [A-Za-z]/); // Chinese, then English
  });

  it('names the territory with its path, code and level', async () => {
    const r = await service.resolve('demo', '湖滨区白龙南路12号滨江花园3栋楼下');
    expect(r.territory).toMatchObject({ name: '滨江社区第一网格', level: 'grid', code: '990102001001001', names: ['湖滨区', '滨江街道', '滨江社区', '滨江社区第一网格'], fullName: '湖滨区滨江街道滨江社区第一网格' });
    const grid = (await w.directory.findTerritoryByCode('demo', '990102001001001'))!;
    expect(r.territory!.path).toBe(grid.path);
    expect(r.normalized).toBe('湖滨区白龙南路12号滨江花园3栋');
    expect(r.mentions.map((m) => [m.kind, m.text])).toEqual([
      ['district', '湖滨区'],
      ['road', '白龙南路12号'],
      ['compound', '滨江花园'],
    ]);
    expect(r.mentions.find((m) => m.kind === 'road')!.houseNumber).toBe(12);
  });

  it('explains an ambiguous road with both options', async () => {
    const r = await service.resolve('demo', '湖滨大道');
    expect(r.explanation).toContain('湖滨大道');
    expect(r.explanation).toContain('柳岸社区');
    expect(r.explanation).toContain('望湖社区');
    expect(r.alternatives).toHaveLength(2);
    expect(Math.abs(r.alternatives[0].confidence - r.alternatives[1].confidence)).toBeLessThan(0.05);
    for (const a of r.alternatives) expect(a.why).toContain('湖滨大道');
  });

  it('takes a QR-code report to its building exactly, and refuses an unknown code', async () => {
    const r = await service.resolveBuilding('demo', 'QR-990102001001-0003');
    expect(r).toMatchObject({ status: 'resolved', confidence: 1, mentions: [{ kind: 'building', source: 'qr' }] });
    expect(code(r)).toBe('990102001001003');
    expect(code(await service.resolveBuilding('demo', ' qr-990102001001-0003 '))).toBe('990102001001003');
    const unknown = await service.resolveBuilding('demo', 'QR-990102001001-9999');
    expect(unknown).toMatchObject({ status: 'unresolved', territory: null, confidence: 0 });
  });

  it('gives its dictionary words for the classifier, place names whole', async () => {
    const words = await service.dictionaryWords('demo');
    const set = new Set(words.map((x) => x.word));
    for (const name of ['白龙南路', '滨江花园', '湖滨区', '滨江街道', '滨江街道办事处', '王家庄村', '演示市第一人民医院']) expect(set.has(name), name).toBe(true);
    expect(words[0]).toMatchObject({ freq: expect.any(Number), tag: 'ns' });
  });

  it('rebuilds after reload: a new gazetteer entry is found', async () => {
    const { replaceGazetteerIn } = await import('../../routing/territory');
    expect((await service.resolve('demo', '测试新苑')).status).toBe('unresolved');
    const grid = (await w.directory.findTerritoryByCode('demo', '990102002002001'))!;
    const existing = await w.db.selectFrom('gazetteer_entries').selectAll().where('city_id', '=', 'demo').execute();
    const { toGazetteerEntry } = await import('../../routing/territory/gazetteer.service');
    const entries = existing.map(toGazetteerEntry).map(({ id: _id, ...e }) => e);
    await w.db.transaction().execute((trx) => replaceGazetteerIn(trx, 'demo', [...entries, { kind: 'compound', name: '测试新苑', aliases: [], territoryId: grid.id, numberFrom: null, numberTo: null, parity: 'all', lat: null, lng: null }]));
    expect((await service.resolve('demo', '测试新苑')).status).toBe('unresolved'); // still the cached resolver
    service.reload('demo');
    expect(code(await service.resolve('demo', '测试新苑'))).toBe('990102002002001');
    // And the import puts it back (it removes what the file does not hold) and reloads by itself.
    await importCityFromDir({ ...w.deps, territoryResolver: service }, DEMO_DIR, w.ctx);
    expect((await service.resolve('demo', '测试新苑')).status).toBe('unresolved');
  });

  it('is fast: prints the time per resolve (not asserted)', async () => {
    const resolver = await service.resolverFor('demo');
    const addresses = CASES.map((c) => c.say);
    for (let i = 0; i < 200; i++) resolver.resolve(addresses[i % addresses.length]);
    const n = 5000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) resolver.resolve(addresses[i % addresses.length], CASES[i % CASES.length].point);
    const perResolve = (performance.now() - t0) / n;
    const t1 = performance.now();
    for (let i = 0; i < 500; i++) await service.resolve('demo', addresses[i % addresses.length]);
    const perService = (performance.now() - t1) / 500;
    process.stdout.write(`[territory demo ${testDialect}] resolver ${resolver.stats.entries} entries, ${resolver.stats.surfaces} names, ${resolver.stats.polygons} outlines: ${(perResolve * 1000).toFixed(1)} µs per resolve, ${(perService * 1000).toFixed(1)} µs through the service\n`);
    expect(perResolve).toBeGreaterThan(0);
  });
});
