import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../core';
import { importCityFromDir, parsePreset, readPreset, type PresetProblem } from '../../app/city-preset';
import { testDialect } from '../helpers/db';
import { DEMO_DIR, demoWorld, tableCounts } from './demo-fixture';

/** A preset with problems in every file; each comment names the line and what is wrong with it. */
const BROKEN: Record<string, string> = {
  'city.json': [
    '{',
    '  "id": "Bad City",', // 2: id format
    '  "name": "坏市",',
    '  "isDemo": false,',
    '  "settings": {',
    '    "officeHours": { "seasons": [ { "from": "01-01", "to": "06-30", "periods": [["08:30", "12:00"]] } ] },', // 6: half a year without hours
    '    "timeLimitPreset": "beijing",', // 7: unknown preset
    '    "returnWindowHours": 24',
    '  }',
    '}',
  ].join('\n'),
  'territory.csv': [
    'code,name,level,parent_code',
    'D1,东区,district,',
    'S1,东街道,street,D1',
    'S1,重复街道,street,D1', // 4: duplicate code
    'C1,东社区,community,XX', // 5: unknown parent
    'G1,东网格,grid,S1', // 6: a grid's parent must be a community
    'S2,西街道,street,', // 7: a street needs a parent
    'C2,环社区,community,C3', // 8: cycle (and level order)
    'C3,环社区二,community,C2', // 9: cycle (and level order)
    'T1,奇怪,village,D1', // 10: unknown level
    'C4,东社区,community,S1',
    'C5,东社区,community,S1', // 12: same name under the same parent
  ].join('\n'),
  'units.csv': [
    'code,name,kind,parent_code,territory_code,sms_phone,duty_person,duty_phone',
    'U1,城管局,department,,,12345abc,,', // 2: bad sms phone
    'U2,东街道办,street,U1,D1,,,', // 3: a street unit on a district
    'U3,水司,utility,NOPE,,,,', // 4: unknown parent unit
    'U4,东区政府,district,,ZZ,,,', // 5: unknown territory
    'U5,怪单位,alien,,,,,', // 6: unknown kind
    'U6,甲,department,U7,,,,', // 7: cycle
    'U7,乙,department,U6,,,,', // 8: cycle
    'U8,丙,department,,,,张三,1380000', // 9: bad duty phone
  ].join('\n'),
  'users.csv': [
    'username,display_name,role,unit_code,territory_code,phone,password',
    'handler1,经办人,unit_handler,,,,demo12345', // 2: unit role without unit
    'handler2,经办人二,unit_handler,NOUNIT,,,demo12345', // 3: unknown unit
    'grid9,网格员,grid_member,,NOTERR,,demo12345', // 4: unknown territory
    'grid8,网格员,grid_member,,D1,,demo12345', // 5: a grid member on a district
    'Bad User,坏,agent,,,,demo12345', // 6: username format
    'agent9,话务员,agent,,,12ab,short', // 7: phone and password
    'agent9,话务员,agent,,,,demo12345', // 8: duplicate username
    'agent8,话务员,agent,U5,,,demo12345', // 9: refers to a flawed unit: no second problem
  ].join('\n'),
  'categories.csv': [
    'code,name,level,parent_code,keywords,default_type,default_urgency,policy_code,utility',
    '01,公用事业,1,,水|电,,,,1',
    '0101,供水,3,01,,,,,1', // 3: level 3 under level 1
    '0102,供电,2,99,,,,,1', // 4: unknown parent
    '02,市容,1,01,,,,,0', // 5: level 1 with a parent
    '0201,垃圾,2,02,,吐槽,,,0', // 6: unknown ticket type
    '0202,噪声,2,02,,complaint,super,,0', // 7: unknown urgency
    '0203,违建,2,02,,,,nopolicy,maybe', // 8: unknown policy, bad utility flag
    '0204,重复,2,02,,投诉,紧急,p1,0',
    '0204,重复二,2,02,,,,,0', // 10: duplicate
  ].join('\n'),
  'time-limit-policies.json': [
    '[',
    '  {',
    '    "code": "p1",',
    '    "name": "一般",',
    '    "priority": 0,',
    '    "match": {},',
    '    "limits": { "reply": { "amount": 3, "unit": "working_days" } }',
    '  },',
    '  {',
    '    "code": "p2",',
    '    "name": "坏时限",',
    '    "priority": 1,',
    '    "match": { "categoryCode": "0999" },', // 13: unknown category
    '    "limits": {', // 14
    '      "reply": { "amount": -1, "unit": "working_days" },', // 15: negative
    '      "onSite": { "amount": 1, "unit": "fortnights" }', // 16: unknown unit
    '    }',
    '  },',
    '  {',
    '    "code": "p3",',
    '    "name": "空时限",',
    '    "priority": 2,',
    '    "match": { "ticketType": "gossip" },', // 23: unknown ticket type
    '    "limits": {}', // 24: no limit at all
    '  }',
    ']',
  ].join('\n'),
  'hotline-lines.csv': [
    'number,name,merged_on',
    '12319,城建,2018-06-30',
    '12345,本热线,', // 3: the hotline itself
    'abc,坏号码,', // 4: not a number
    '12369,环保,2018-02-30', // 5: no such date
    '12319,重复,', // 6: duplicate
  ].join('\n'),
};

/** Every problem the broken preset must report: file, line, field. */
const EXPECTED: [string, number, string | undefined][] = [
  ['city.json', 2, 'id'],
  ['city.json', 6, 'settings.officeHours.seasons'],
  ['city.json', 7, 'settings.timeLimitPreset'],
  ['territory.csv', 4, 'code'],
  ['territory.csv', 5, 'parent_code'],
  ['territory.csv', 6, 'parent_code'],
  ['territory.csv', 7, 'parent_code'],
  ['territory.csv', 8, 'parent_code'],
  ['territory.csv', 9, 'parent_code'],
  ['territory.csv', 10, 'level'],
  ['territory.csv', 12, 'name'],
  ['units.csv', 2, 'sms_phone'],
  ['units.csv', 3, 'territory_code'],
  ['units.csv', 4, 'parent_code'],
  ['units.csv', 5, 'territory_code'],
  ['units.csv', 6, 'kind'],
  ['units.csv', 7, 'parent_code'],
  ['units.csv', 8, 'parent_code'],
  ['units.csv', 9, 'duty_phone'],
  ['users.csv', 2, 'unit_code'],
  ['users.csv', 3, 'unit_code'],
  ['users.csv', 4, 'territory_code'],
  ['users.csv', 5, 'territory_code'],
  ['users.csv', 6, 'username'],
  ['users.csv', 7, 'phone'],
  ['users.csv', 7, 'password'],
  ['users.csv', 8, 'username'],
  ['categories.csv', 3, 'level'],
  ['categories.csv', 4, 'parent_code'],
  ['categories.csv', 5, 'parent_code'],
  ['categories.csv', 6, 'default_type'],
  ['categories.csv', 7, 'default_urgency'],
  ['categories.csv', 8, 'policy_code'],
  ['categories.csv', 8, 'utility'],
  ['categories.csv', 10, 'code'],
  ['time-limit-policies.json', 13, '1.match.categoryCode'],
  ['time-limit-policies.json', 15, '1.limits.reply.amount'],
  ['time-limit-policies.json', 16, '1.limits.onSite.unit'],
  ['time-limit-policies.json', 23, '2.match.ticketType'],
  ['time-limit-policies.json', 24, '2.limits'],
  ['hotline-lines.csv', 3, 'number'],
  ['hotline-lines.csv', 4, 'number'],
  ['hotline-lines.csv', 5, 'merged_on'],
  ['hotline-lines.csv', 6, 'number'],
];

const key = (p: Pick<PresetProblem, 'file' | 'line' | 'field'>) => `${p.file}:${p.line}:${p.field ?? ''}`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotline-broken-'));
  for (const [name, text] of Object.entries(BROKEN)) await writeFile(join(dir, name), text);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('reading a broken preset', () => {
  it('reports every problem, each with its file, line and field, in both languages', async () => {
    const r = await readPreset(dir);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const found = new Set(r.problems.map(key));
    const missing = EXPECTED.filter(([file, line, field]) => !found.has(key({ file, line, field })));
    expect(missing).toEqual([]);
    // Nothing beyond what is wrong: a reference to a flawed row is not a second problem.
    const expected = new Set(EXPECTED.map(([file, line, field]) => key({ file, line, field })));
    expect(r.problems.filter((p) => !expected.has(key(p))).map(key)).toEqual([]);
    for (const p of r.problems) {
      expect(p.message.length).toBeGreaterThan(0);
      expect(p.messageZh).toMatch(/[\u4e00-\u9fff]/);
    }
    // Sorted by file, then line.
    expect(r.problems[0]).toMatchObject({ file: 'city.json', line: 2 });
    expect(r.problems.at(-1)).toMatchObject({ file: 'hotline-lines.csv', line: 6 });
  });

  it('names the cycle it found', async () => {
    const r = await readPreset(dir);
    if (r.ok) throw new Error('expected problems');
    expect(r.problems.find((p) => p.file === 'units.csv' && p.line === 7)!.message).toContain('U6 → U7 → U6');
  });

  it('reports missing files, as a whole (line 0)', () => {
    const r = parsePreset({ 'city.json': BROKEN['city.json'] });
    if (r.ok) throw new Error('expected problems');
    const whole = r.problems.filter((p) => p.line === 0).map((p) => p.file);
    expect(whole).toEqual(['territory.csv', 'units.csv', 'users.csv', 'categories.csv', 'time-limit-policies.json', 'hotline-lines.csv']);
  });

  it('reports malformed CSV and JSON with their line', () => {
    const r = parsePreset({
      'territory.csv': 'code,name,level,parent_code\nD1,东区,district,\nD2,"西区"x,district,\n',
      'units.csv': 'code,name,kind\nU1,城管局\n',
      'hotline-lines.csv': 'number,name,merged_on,extra_column\n',
      'time-limit-policies.json': '[\n  { "code": "p1",\n    "name": "x" \n    "priority": 1 }\n]',
    });
    if (r.ok) throw new Error('expected problems');
    const keys = r.problems.map(key);
    expect(keys).toContain('territory.csv:3:');
    expect(keys).toContain('units.csv:2:'); // fewer fields than the header
    expect(keys).toContain('hotline-lines.csv:1:extra_column');
    expect(keys).toContain('time-limit-policies.json:4:');
  });

  it('accepts the demo city as it is', async () => {
    const r = await readPreset(DEMO_DIR);
    expect(r.ok ? [] : r.problems).toEqual([]);
  });
});

describe(`importing a broken preset on ${testDialect}`, () => {
  let w: Awaited<ReturnType<typeof demoWorld>>;
  beforeAll(async () => {
    w = await demoWorld();
  });
  afterAll(async () => w?.database.dispose());

  it('imports nothing and throws PRESET_INVALID with every problem', async () => {
    const err = await importCityFromDir(w.deps, dir, w.ctx).catch((e) => e);
    expect(isAppError(err) && err.code).toBe('PRESET_INVALID');
    expect(err.status).toBe(422);
    const read = await readPreset(dir);
    expect(err.details.problems).toEqual(read.ok ? [] : read.problems);
    expect(new Set(err.details.problems.map(key)).size).toBe(EXPECTED.length);
    expect(await tableCounts(w.db)).toEqual({ cities: 0, territories: 0, units: 0, hotlineLines: 0, users: 0, categories: 0, policies: 0, audit: 0 });
  });
});
