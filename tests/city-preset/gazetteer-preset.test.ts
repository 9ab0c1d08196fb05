/**
 * The optional preset files of territory resolution: gazetteer.csv (地名库) and grids.geojson (网格边界).
 * Problems come with file and line and nothing is imported; a valid folder imports in the same
 * transaction as the rest, idempotently.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../core';
import { importCityFromDir, parsePreset, readPreset, type PresetProblem } from '../../app/city-preset';
import { testDialect } from '../helpers/db';
import { DEMO_DIR, demoCopy, demoWorld, readDemoFile, tableCounts } from './demo-fixture';

const key = (p: Pick<PresetProblem, 'file' | 'line' | 'field'>) => `${p.file}:${p.line}:${p.field ?? ''}`;

const BROKEN_GAZETTEER = [
  'kind,name,aliases,territory_code,number_from,number_to,parity,lat,lng',
  'road,白龙南路,,990102001001001,1,99,all,35.004,115.008', // 2: fine
  'compound,无名小区,,990199999999,,,,,', // 3: unknown territory code
  'road,湖滨大道,,990102001003,300,1,all,,', // 4: from above to
  'road,望湖路,,990102002001001,abc,10,,,', // 5: not a number
  'road,望湖路,,990102002002001,101,200,both sides,,', // 6: bad parity
  'road,鼓楼街,,990102003002002,2,2,odd,,', // 7: no odd number in 2-2
  'compound,滨江花园,,990102001001001,1,10,,,', // 8: a compound has no house numbers
  'landmark,青山公园,,990103001002001,,,,95.5,115.1', // 9: lat out of range
  'landmark,万达广场,,990103002001001,,,,35.03,', // 10: lat without lng
  'shop,小卖部,,990103002001001,,,,,', // 11: unknown kind
  'road,白龙南路,,990102001001001,1,99,all,35.004,115.008', // 12: duplicate of line 2
  'road,白龙南路,,990102001002001,51,120,odd,,', // 13: overlaps line 2 (51-99 odd) in another territory
  'building,QR-990102001001-0001,,990102001001001,,,,,',
  'building,QR-990102001001-0001,,990103001001001,,,,,', // 15: the same QR code for another building
  'compound,松林小区,,990103001002002,,,,35.005,115.015', // 16: the point lies in 滨江社区第一网格's outline
  'compound,远方小区,,990102001001001,,,,35.5,115.5', // 17: the point lies outside its own grid's outline
].join('\n');

const EXPECTED_GAZETTEER: [number, string][] = [
  [3, 'territory_code'], [4, 'number_to'], [5, 'number_from'], [6, 'parity'], [7, 'parity'], [8, 'number_from'],
  [9, 'lat'], [10, 'lng'], [11, 'kind'], [12, 'name'], [13, 'number_from'], [15, 'name'], [16, 'lat'], [17, 'lat'],
];

const rect = (lat0: number, lng0: number, d = 0.01) => [[[lng0, lat0], [lng0 + d, lat0], [lng0 + d, lat0 + d], [lng0, lat0 + d], [lng0, lat0]]];
const BROKEN_GRIDS = [
  '{',
  '  "type": "FeatureCollection",',
  '  "features": [',
  `    { "type": "Feature", "properties": { "code": "990102001001001" }, "geometry": { "type": "Polygon", "coordinates": ${JSON.stringify(rect(35.0, 115.0, 0.03))} } },`, // 4: fine
  `    { "type": "Feature", "properties": { "code": "990199999999001" }, "geometry": { "type": "Polygon", "coordinates": ${JSON.stringify(rect(35.1, 115.0))} } },`, // 5: unknown code
  '    { "type": "Feature", "properties": { "code": "990102001001002" }, "geometry": { "type": "Polygon", "coordinates": [[[115.0, 35.01], [115.03, 35.01], [115.03, 35.02], [115.0, 35.02]]] } },', // 6: ring not closed
  '    { "type": "Feature", "properties": { "code": "990102001001003" }, "geometry": { "type": "Point", "coordinates": [115.01, 35.02] } },', // 7: not an area
  `    { "type": "Feature", "properties": { "code": "990102001002001" }, "geometry": { "type": "Polygon", "coordinates": [[[35.0, 115.03], [35.0, 115.06], [35.01, 115.06], [35.01, 115.03], [35.0, 115.03]]] } },`, // 8: lat/lng swapped: 115 is no latitude
  `    { "type": "Feature", "properties": { "code": "990102001001001" }, "geometry": { "type": "Polygon", "coordinates": ${JSON.stringify(rect(35.2, 115.0))} } },`, // 9: second outline of one grid
  '    { "type": "Feature", "properties": {}, "geometry": null }', // 10: no code, no geometry
  '  ]',
  '}',
].join('\n');

describe('reading gazetteer.csv and grids.geojson with problems', () => {
  let copy: Awaited<ReturnType<typeof demoCopy>>;
  beforeAll(async () => {
    copy = await demoCopy();
    await writeFile(join(copy.dir, 'gazetteer.csv'), BROKEN_GAZETTEER);
    await writeFile(join(copy.dir, 'grids.geojson'), BROKEN_GRIDS);
  });
  afterAll(async () => copy?.done());

  it('reports every problem with its file, line and field, in both languages', async () => {
    const r = await readPreset(copy.dir);
    if (r.ok) throw new Error('expected problems');
    const found = r.problems.map(key);
    const wantGazetteer = EXPECTED_GAZETTEER.map(([line, field]) => `gazetteer.csv:${line}:${field}`);
    expect(found.filter((k) => k.startsWith('gazetteer.csv')).sort()).toEqual(wantGazetteer.sort());
    const grids = r.problems.filter((p) => p.file === 'grids.geojson');
    expect(grids.map((p) => p.line).sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9, 10, 10]);
    expect(grids.find((p) => p.line === 6)!.message).toContain('closed');
    expect(grids.find((p) => p.line === 7)!.field).toBe('features.3.geometry.type');
    expect(grids.find((p) => p.line === 8)!.message).toContain('out of range');
    expect(grids.find((p) => p.line === 9)!.message).toContain('already has an outline');
    for (const p of r.problems) expect(p.messageZh).toMatch(/[\u4e00-\u9fff]/);
    // Only the two optional files are at fault; the rest of the demo is fine.
    expect(new Set(r.problems.map((p) => p.file))).toEqual(new Set(['gazetteer.csv', 'grids.geojson']));
    const overlap = r.problems.find((p) => p.file === 'gazetteer.csv' && p.line === 13)!;
    expect(overlap.message).toContain('overlaps line 2');
    const elsewhere = r.problems.find((p) => p.file === 'gazetteer.csv' && p.line === 16)!;
    expect(elsewhere.message).toContain('990102001001001');
    expect(r.problems.find((p) => p.file === 'gazetteer.csv' && p.line === 17)!.message).toContain('outside the outline of 990102001001001');
  });

  it('reports malformed GeoJSON with its line, and a file that is not a FeatureCollection', () => {
    const base = async () => {
      const texts: Record<string, string> = {};
      for (const f of ['city.json', 'territory.csv', 'units.csv', 'users.csv', 'categories.csv', 'time-limit-policies.json', 'hotline-lines.csv']) texts[f] = await readDemoFile(f);
      return texts;
    };
    return base().then((texts) => {
      const bad = parsePreset({ ...texts, 'grids.geojson': '{\n  "type": "FeatureCollection",\n  "features": [\n    { "type": "Feature" \n  ]\n}' });
      if (bad.ok) throw new Error('expected problems');
      expect(bad.problems.map(key)).toEqual(['grids.geojson:5:']);
      const notCollection = parsePreset({ ...texts, 'grids.geojson': '{ "type": "Polygon", "coordinates": [] }' });
      if (notCollection.ok) throw new Error('expected problems');
      expect(notCollection.problems.map(key)).toEqual(['grids.geojson:1:type']);
      // Absent optional files are no problem.
      expect(parsePreset(texts).ok).toBe(true);
    });
  });
});

describe(`importing the gazetteer on ${testDialect}`, () => {
  let w: Awaited<ReturnType<typeof demoWorld>>;
  beforeAll(async () => {
    w = await demoWorld();
  });
  afterAll(async () => w?.database.dispose());

  const gazetteerCount = async () => Number((await w.db.selectFrom('gazetteer_entries').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const polygonCount = async () => Number((await w.db.selectFrom('territory_polygons').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('imports nothing at all from a folder whose gazetteer has problems', async () => {
    const copy = await demoCopy();
    try {
      await writeFile(join(copy.dir, 'gazetteer.csv'), BROKEN_GAZETTEER);
      const err = await importCityFromDir(w.deps, copy.dir, w.ctx).catch((e) => e);
      expect(isAppError(err) && err.code).toBe('PRESET_INVALID');
      expect(err.details.problems.length).toBe(EXPECTED_GAZETTEER.length);
      expect(await tableCounts(w.db)).toMatchObject({ cities: 0, territories: 0, units: 0, audit: 0 });
      expect(await gazetteerCount()).toBe(0);
      expect(await polygonCount()).toBe(0);
    } finally {
      await copy.done();
    }
  });

  it('imports the demo gazetteer and outlines with the city, counted in the summary', async () => {
    const reloaded: string[] = [];
    const summary = await importCityFromDir({ ...w.deps, territoryResolver: { reload: (id) => reloaded.push(id) } }, DEMO_DIR, w.ctx);
    const lines = (await readFile(join(DEMO_DIR, 'gazetteer.csv'), 'utf8')).trim().split('\n').length - 1;
    expect(summary.gazetteer).toEqual({ created: lines, updated: 0, unchanged: 0, removed: 0 });
    expect(summary.gridPolygons).toEqual({ created: 16, updated: 0, unchanged: 0, removed: 0 });
    expect(await gazetteerCount()).toBe(lines);
    expect(await polygonCount()).toBe(16);
    expect(reloaded).toEqual(['demo']);
    const audit = await w.db.selectFrom('audit_events').select('action').where('action', 'in', ['gazetteer.replaced', 'territory_polygons.replaced']).execute();
    expect(audit).toHaveLength(2);
    // A road segment keeps its range and side; a building its code; a compound its aliases.
    const row = await w.db.selectFrom('gazetteer_entries').selectAll().where('name', '=', '白龙南路').where('parity', '=', 'even').executeTakeFirstOrThrow();
    expect([Number(row.number_from), Number(row.number_to)]).toEqual([100, 198]);
    const grid = (await w.directory.findTerritoryByCode('demo', '990102001001002'))!;
    expect(row.territory_id).toBe(grid.id);
    const poly = await w.db.selectFrom('territory_polygons').selectAll().where('territory_id', '=', grid.id).executeTakeFirstOrThrow();
    expect([Number(poly.min_lat), Number(poly.min_lng), Number(poly.max_lat), Number(poly.max_lng)]).toEqual([35.01, 115.0, 35.02, 115.03]);
    expect(JSON.parse(poly.geojson).type).toBe('Polygon');
  });

  it('re-importing the same folder changes nothing and writes no audit row', async () => {
    const before = await tableCounts(w.db);
    const again = await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
    expect(again.gazetteer).toMatchObject({ created: 0, updated: 0, removed: 0 });
    expect(again.gazetteer!.unchanged).toBe(await gazetteerCount());
    expect(again.gridPolygons).toEqual({ created: 0, updated: 0, unchanged: 16, removed: 0 });
    expect(again.changed).toBe(false);
    expect(await tableCounts(w.db)).toEqual(before);
  });

  it('an edited gazetteer updates in place, adds and removes; an absent file keeps what is there', async () => {
    const copy = await demoCopy();
    try {
      const file = join(copy.dir, 'gazetteer.csv');
      const text = await readFile(file, 'utf8');
      const ids = async () => new Map((await w.db.selectFrom('gazetteer_entries').select(['id', 'name', 'aliases']).execute()).map((r) => [r.name, r]));
      const beforeIds = await ids();
      const edited = text
        .replace('compound,滨江花园,滨江花园小区,', 'compound,滨江花园,滨江花园小区|滨江花苑,') // new alias: updated in place
        .replace(/^compound,金色家园,.*\n/m, '') // removed
        .concat('compound,望湖新城,,990102002001002,,,,,\n'); // added
      await writeFile(file, edited);
      await rm(join(copy.dir, 'grids.geojson'));
      const s = await importCityFromDir(w.deps, copy.dir, w.ctx);
      expect(s.gazetteer).toMatchObject({ created: 1, updated: 1, removed: 1 });
      expect(s.gridPolygons).toBeNull();
      expect(s.changed).toBe(true);
      expect(await polygonCount()).toBe(16);
      const after = await ids();
      expect(after.get('滨江花园')!.id).toBe(beforeIds.get('滨江花园')!.id);
      expect(JSON.parse(after.get('滨江花园')!.aliases)).toEqual(['滨江花园小区', '滨江花苑']);
      expect(after.has('金色家园')).toBe(false);
      expect(after.has('望湖新城')).toBe(true);
    } finally {
      await copy.done();
    }
    // The demo folder restores it.
    const back = await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
    expect(back.gazetteer).toMatchObject({ created: 1, updated: 1, removed: 1 });
  });
});
