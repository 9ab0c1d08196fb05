/**
 * The `hotline` command, run as a user would: `node bin/hotline.js ...` in a child process over a
 * SQLite file of its own (also when the suite runs on MariaDB). Each spawn costs a few seconds, so
 * they all start together in beforeAll and each test awaits its own.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let tmp: string;
const dbFile = (name: string) => join(tmp, `${name}.sqlite`);

/** Runs `node bin/hotline.js ...args` over the SQLite file `db`. */
function hotline(db: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/hotline.js', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: `sqlite:${dbFile(db)}`, LOG_LEVEL: 'silent', NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A preset with one problem in each of four files; the comments give the line the CLI must name. */
const BROKEN_PRESET: Record<string, string> = {
  'city.json': [
    '{',
    '  "id": "Bad City",', // city.json:2
    '  "name": "坏市",',
    '  "isDemo": false,',
    '  "settings": {',
    '    "officeHours": { "seasons": [{ "from": "01-01", "to": "12-31", "periods": [["09:00", "17:00"]] }] },',
    '    "timeLimitPreset": "zhucheng",',
    '    "returnWindowHours": 24',
    '  }',
    '}',
  ].join('\n'),
  'territory.csv': [
    'code,name,level,parent_code',
    'D1,东区,district,',
    'S1,东街道,street,D1',
    'S1,重复街道,street,D1', // territory.csv:4 duplicate code
    'C1,东社区,community,XX', // territory.csv:5 unknown parent
  ].join('\n'),
  'units.csv': 'code,name,kind,parent_code,territory_code,sms_phone,duty_person,duty_phone\nU1,城管局,department,,,12345abc,,\n', // units.csv:2
  'users.csv': 'username,display_name,role,unit_code,territory_code,phone,password\nhandler2,经办人二,unit_handler,NOUNIT,,,demo12345\n', // users.csv:2
  'categories.csv': 'code,name,level,parent_code,keywords,default_type,default_urgency,policy_code,utility\n',
  'time-limit-policies.json': '[]',
  'hotline-lines.csv': 'number,name,merged_on\n',
};

const runs = {} as Record<'deadlineDays' | 'deadlineHours' | 'yearMissing' | 'brokenImport' | 'demoImport' | 'userAdd' | 'userPasswordWeak' | 'userPassword' | 'route' | 'categoriesImport' | 'keyNoUnit' | 'keyAdd' | 'keyList' | 'freshRoute' | 'freshNoLoad', Promise<Run>>;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'hotline-cli-'));
  const broken = join(tmp, 'broken-preset');
  await mkdir(broken);
  for (const [name, text] of Object.entries(BROKEN_PRESET)) await writeFile(join(broken, name), text);

  runs.deadlineDays = hotline('days', ['deadline', '--from', '2025-09-30T16:00:00+08:00', '--working-days', '3']);
  runs.deadlineHours = hotline('hours', ['deadline', '--from', '2025-10-10T16:00:00+08:00', '--working-hours', '2']);
  runs.yearMissing = hotline('missing', ['deadline', '--from', '2026-12-30T16:00:00+08:00', '--working-days', '3']);
  runs.brokenImport = hotline('broken', ['city', 'import', broken]);
  runs.demoImport = hotline('users', ['city', 'import', 'cities/demo']);
  runs.userAdd = runs.demoImport.then(() =>
    hotline('users', ['user', 'add', '--username', 'cli-water9', '--name', '自来水经办人 九', '--role', 'unit_handler', '--unit', 'util-water', '--password', 'blue-river-meter-9', '--phone', '13700000099']),
  );
  // On a database of its own, beside the long chain on `users`.
  runs.userPasswordWeak = hotline('passwords', ['city', 'import', 'cities/demo'])
    .then(() => hotline('passwords', ['user', 'password', '--username', 'water1', '--password', 'qwerty123456']));
  runs.userPassword = runs.userPasswordWeak.then(() => hotline('passwords', ['user', 'password', '--username', 'water1', '--password', 'green-valve-reset-7']));
  runs.route = runs.userAdd.then(() =>
    hotline('users', ['route', '--text', '白龙南路88号楼下水管爆了，路面全是水', '--address', '白龙南路88号', '--urgency', '特急', '--category', '01021603']),
  );
  // A newcomer's first command on a fresh checkout, before any `npm start`.
  runs.freshRoute = hotline('fresh', ['route', '--text', '白龙南路88号楼下水管爆了，路面全是水', '--address', '白龙南路88号'], { LOAD_CITY_ON_START: 'true', CITY_DIR: 'cities/demo' });
  runs.freshNoLoad = hotline('fresh-off', ['route', '--text', '路灯不亮'], { LOAD_CITY_ON_START: 'false', CITY_DIR: 'cities/demo' });
  const badCategories = join(tmp, 'categories.csv');
  await writeFile(badCategories, 'code,name,level,parent_code,keywords,default_type,default_urgency,policy_code,utility\n01,城乡建设,1,,,,,,0\n0101,子类,2,NOPE,,,,,0\n');
  runs.categoriesImport = runs.route.then(() => hotline('users', ['categories', 'import', badCategories]));
  runs.keyNoUnit = runs.categoriesImport.then(() => hotline('users', ['apikey', 'add', '--name', 'unit app', '--role', 'unit_handler', '--scopes', 'tickets:read']));
  runs.keyAdd = runs.keyNoUnit.then(() => hotline('users', ['apikey', 'add', '--name', 'telephony gateway', '--role', 'agent', '--scopes', 'calls:write']));
  runs.keyList = runs.keyAdd.then(() => hotline('users', ['apikey', 'list']));
  // Settle every run before the tests, so that a failing one does not leave a process behind.
  await Promise.allSettled(Object.values(runs));
}, 180_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the hotline CLI', () => {
  it('deadline --from 2025-09-30T16:00+08:00 --working-days 3 → 2025-10-11T16:00:00+08:00 (National Day, then the make-up Saturday)', async () => {
    const r = await runs.deadlineDays;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('2025-10-11T16:00:00+08:00\n');
  });

  it('deadline --working-hours 2 from Friday 2025-10-10 16:00 → 1.5 h on Friday, 0.5 h on the make-up Saturday 10-11 → 09:00', async () => {
    // Office hours 08:30–12:00 and 14:00–17:30; Saturday 2025-10-11 is a make-up workday (调休上班).
    const r = await runs.deadlineHours;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('2025-10-11T09:00:00+08:00\n');
  });

  it('deadline into a year without calendar data exits non-zero with CALENDAR_YEAR_MISSING, printing no date', async () => {
    const r = await runs.yearMissing;
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('CALENDAR_YEAR_MISSING');
    expect(r.stderr).toContain('2027');
  });

  it('city import of a broken preset exits non-zero, lists every problem as file:line, and imports nothing', async () => {
    const r = await runs.brokenImport;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('PRESET_INVALID');
    for (const where of ['city.json:2 id', 'territory.csv:4 code', 'territory.csv:5 parent_code', 'units.csv:2 sms_phone', 'users.csv:2 unit_code']) {
      expect(r.stderr).toContain(where);
    }
    const db = new Database(dbFile('broken'), { readonly: true });
    try {
      for (const table of ['cities', 'territories', 'units', 'users']) {
        expect((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n, table).toBe(0);
      }
    } finally {
      db.close();
    }
  });

  it('city import of the demo preset, then user add with a unit code → the user is stored with that unit, hashed password', async () => {
    const imported = await runs.demoImport;
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ cityId: 'demo', changed: true });

    const added = await runs.userAdd;
    expect(added.code, added.stderr).toBe(0);
    const printed = JSON.parse(added.stdout);
    expect(printed).toMatchObject({ username: 'cli-water9', displayName: '自来水经办人 九', role: 'unit_handler', cityId: 'demo' });
    expect(printed).not.toHaveProperty('password');
    expect(printed).not.toHaveProperty('passwordHash');

    const db = new Database(dbFile('users'), { readonly: true });
    try {
      const row = db.prepare('SELECT * FROM users WHERE username = ?').get('cli-water9') as Record<string, unknown>;
      const water = db.prepare("SELECT id FROM units WHERE city_id = 'demo' AND code = 'util-water'").get() as { id: string };
      expect(row).toMatchObject({ city_id: 'demo', role: 'unit_handler', unit_id: water.id, phone: '13700000099', active: 1 });
      expect(row.password_hash).toMatch(/^\$argon2id\$/);
      expect(String(row.password_hash)).not.toContain('blue-river-meter-9');
    } finally {
      db.close();
    }
  });

  it("user password resets a user's password under the policy (a common one refused, nothing changed); the user must change it at the next login", async () => {
    const weak = await runs.userPasswordWeak;
    expect(weak.code).not.toBe(0);
    expect(weak.stderr).toContain('PASSWORD_TOO_COMMON');
    expect(weak.stderr).toContain('该密码过于常见');
    const reset = await runs.userPassword;
    expect(reset.code, reset.stderr).toBe(0);
    expect(JSON.parse(reset.stdout)).toMatchObject({ username: 'water1', passwordChangeRequired: true, sessionsEnded: 0 });
    const db = new Database(dbFile('passwords'), { readonly: true });
    try {
      const row = db.prepare('SELECT id, password_change_required FROM users WHERE username = ?').get('water1') as { id: string; password_change_required: number };
      expect(row.password_change_required).toBe(1);
      const trail = db.prepare("SELECT action FROM audit_events WHERE entity_id = ? AND action LIKE 'user.password%'").all(row.id) as { action: string }[];
      expect(trail.map((a) => a.action)).toEqual(['user.password_reset']);
    } finally {
      db.close();
    }
  });

  it('apikey add issues a scoped key (printed once), refuses a unit role without a unit; apikey list shows no secret', async () => {
    const refused = await runs.keyNoUnit;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('API_KEY_FIELDS_INVALID');
    expect(refused.stderr).toContain('承办单位人员必须指定单位');
    const added = await runs.keyAdd;
    expect(added.code, added.stderr).toBe(0);
    const printed = JSON.parse(added.stdout);
    expect(printed.key).toMatch(/^hk_/);
    expect(printed.apiKey).toMatchObject({ name: 'telephony gateway', role: 'agent', scopes: ['calls:write'], revokedAt: null });
    const listed = await runs.keyList;
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ id: printed.id, scopes: ['calls:write'] })]);
    expect(listed.stdout).not.toContain(printed.key);
  });

  it('route prints the plan as one JSON object: category path, territory, unit, rule, deadlines, explanation', async () => {
    const r = await runs.route;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const plan = JSON.parse(r.stdout);
    expect(plan).toMatchObject({
      category: { code: '01021603', name: '供水管道爆裂', path: [{ name: '城乡建设' }, { name: '城市建设和市政管理' }, { name: '自来水供应' }, { name: '供水管道爆裂' }] },
      territory: { status: 'resolved' },
      rule: 'urgent',
      leadUnit: { code: 'util-water' },
      urgency: 'emergency',
    });
    expect(Object.keys(plan.deadlines)).toEqual(expect.arrayContaining(['acknowledge', 'onSite', 'reply']));
    expect(plan.explanation.length).toBeGreaterThan(2);
  });

  it('route on a fresh database loads the demo city the way `npm start` does (saying so on stderr), then prints the plan', async () => {
    const r = await runs.freshRoute;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('no city yet: imported the city preset cities/demo');
    expect(JSON.parse(r.stdout)).toMatchObject({ leadUnit: { code: 'util-water' }, territory: { status: 'resolved' } });
    const db = new Database(dbFile('fresh'), { readonly: true });
    expect(db.prepare('select count(*) as n from cities').get()).toEqual({ n: 1 });
    db.close();
  });

  it('with LOAD_CITY_ON_START=false a command that needs a city stops with NO_CITY and says what to run first', async () => {
    const r = await runs.freshNoLoad;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NO_CITY');
    expect(r.stderr).toContain('npx hotline city import cities/demo');
    expect(r.stdout).toBe('');
  });

  it('categories import of a file with an unknown parent exits non-zero naming the line, and changes nothing', async () => {
    const r = await runs.categoriesImport;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('CATEGORIES_INVALID');
    expect(r.stderr).toContain('categories.csv:3 parent_code');
    const db = new Database(dbFile('users'), { readonly: true });
    try {
      expect((db.prepare("SELECT COUNT(*) AS n FROM categories WHERE city_id = 'demo' AND active = 1").get() as { n: number }).n).toBe(1107);
    } finally {
      db.close();
    }
  });
});
