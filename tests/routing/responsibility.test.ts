import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError, type CommandContext, type Role } from '../../core';
import { listAudit } from '../../audit';
import { importCityFromDir } from '../../app/city-preset';
import { listCategories } from '../../routing';
import {
  createResponsibilityService, csvLookups, importResponsibilityCsvIn, itemsHash, parseResponsibilityCsv, RESPONSIBILITY_CSV_COLUMNS,
  type ResponsibilityService, type ResponsibilityVersion,
} from '../../routing/responsibility';
import { testDialect } from '../helpers/db';
import { DEMO_DIR, demoWorld } from '../city-preset/demo-fixture';

let w: Awaited<ReturnType<typeof demoWorld>>;
let svc: ResponsibilityService;
let demoCsv: string;

const ctxOf = (role: Role, id: string, cityId = 'demo'): CommandContext => ({
  actor: { kind: 'user', id, name: id, role, cityId, unitId: null, territoryId: null, territoryPath: null },
  requestId: `test-${id}`,
});
const dispatcher = ctxOf('dispatcher', 'u-dispatcher');
const supervisor = ctxOf('supervisor', 'u-supervisor');
const admin = ctxOf('admin', 'u-admin');

const HEADER = RESPONSIBILITY_CSV_COLUMNS.join(',');
const csvOf = (...rows: string[]) => [HEADER, ...rows].join('\n') + '\n';
const at = (iso: string) => new Date(iso);
const count = async (table: 'responsibility_versions' | 'responsibility_items') =>
  Number((await w.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
const versionsTable = async () => count('responsibility_versions');

/** Imports a CSV as a draft, proposes it (dispatcher) and approves it (supervisor) from `effectiveFrom`. */
async function publish(csv: string, effectiveFrom: Date, note = 'test'): Promise<ResponsibilityVersion> {
  const draft = await svc.importCsv(dispatcher, 'demo', csv, note);
  await svc.propose(dispatcher, draft.id);
  return svc.approve(supervisor, draft.id, effectiveFrom);
}

beforeAll(async () => {
  w = await demoWorld();
  await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
  svc = createResponsibilityService({ db: w.db, dialect: w.database.dialect, clock: w.clock, directory: w.directory, categories: (cityId) => listCategories(w.db, cityId) });
  demoCsv = await readFile(join(DEMO_DIR, 'responsibility.csv'), 'utf8');
});
afterAll(async () => w?.database.dispose());

describe(`the responsibility list CSV on ${testDialect}`, () => {
  it('reports every problem with its line and imports nothing', async () => {
    const before = await versionsTable();
    const itemsBefore = await count('responsibility_items');
    const csv = csvOf(
      'R-1,01021601,,city,util-water,,抢修,1小时内到场,96116,《城市供水条例》', // line 2: fine
      'R-2,99999999,,city,util-water,,抢修,1小时内到场,96116,', // 3: unknown category
      'R-3,01021601,,city,no-such-unit,dept-swj|ghost,抢修,1小时内到场,96116,', // 4: unknown lead and co unit
      'R-4,01021601,,province,util-water,,抢修,1小时内到场,96116,', // 5: bad level
      'R-1,01021601,,city,util-water,,抢修,1小时内到场,96116,', // 6: duplicate item code
      'R-6,01021601,,city,util-water,,抢修,1小时内到场,12-34,', // 7: bad phone
      'R-7,01021401,小区,street,dept-cgj,,清运,24小时内,,', // 8: lead named on a street item
      'R-8,01021401,,city,,,清运,24小时内,,', // 9: city item without a lead
      'R-9,01021401,,city,dept-cgj,dept-cgj,清运,,,', // 10: lead also co-handling; standard missing
    );
    const err = await svc.importCsv(dispatcher, 'demo', csv, 'broken').catch((e) => e);
    expect(isAppError(err) && err.code).toBe('RESPONSIBILITY_CSV_INVALID');
    expect(err.status).toBe(422);
    const problems = err.details.problems as { line: number; field?: string; messageZh: string }[];
    expect(problems.map((p) => [p.line, p.field])).toEqual([
      [3, 'category_code'],
      [4, 'lead_unit_code'],
      [4, 'co_unit_codes'],
      [5, 'territory_level'],
      [6, 'item_code'],
      [7, 'contact_phone'],
      [8, 'lead_unit_code'],
      [9, 'lead_unit_code'],
      [10, 'co_unit_codes'],
      [10, 'standard'],
    ]);
    expect(problems.find((p) => p.line === 6)!.messageZh).toContain('首次出现在第2行');
    expect(problems.find((p) => p.line === 4 && p.field === 'co_unit_codes')!.messageZh).toContain('ghost');
    expect(await versionsTable()).toBe(before);
    expect(await count('responsibility_items')).toBe(itemsBefore);
  });

  it('reports a missing or unknown column, an empty file and malformed quoting', () => {
    const lookups = csvLookups([{ code: '01021601' }], [{ id: 'u1', code: 'util-water', kind: 'utility' }]);
    const noColumn = parseResponsibilityCsv('item_code,category_code,extra\nR-1,01021601,x\n', lookups);
    expect(noColumn.ok).toBe(false);
    if (!noColumn.ok) {
      expect(noColumn.problems.filter((p) => p.messageZh.startsWith('缺少列')).map((p) => p.field)).toEqual(RESPONSIBILITY_CSV_COLUMNS.slice(2));
      expect(noColumn.problems.some((p) => p.field === 'extra' && p.line === 1)).toBe(true);
    }
    const empty = parseResponsibilityCsv(csvOf(), lookups);
    expect(empty).toMatchObject({ ok: false, problems: [{ line: 0, messageZh: '文件中没有任何清单事项' }] });
    const quoting = parseResponsibilityCsv(csvOf('R-1,01021601,,city,util-water,,"unterminated,x,y,z,w'), lookups);
    expect(quoting.ok).toBe(false);
    // Line numbers follow the file: blank lines and multi-line quoted fields count.
    const lines = parseResponsibilityCsv(csvOf('', 'R-1,01021601,,city,util-water,,"第一步\n第二步",标准,,', 'R-2,bad,,city,util-water,,x,y,,'), lookups);
    expect(lines).toMatchObject({ ok: false, problems: [{ line: 5, field: 'category_code' }] });
  });

  it('accepts Chinese level names and an empty level (city), and keeps the parsed fields', () => {
    const lookups = csvLookups([{ code: '01021401' }], [{ id: 'u1', code: 'dept-cgj', kind: 'department' }, { id: 'u2', code: 'dept-cgj-hwzx', kind: 'department' }]);
    const r = parseResponsibilityCsv(
      csvOf('A,01021401, 小区 | 楼下 |小区,街道,,dept-cgj-hwzx,清运,24小时内,0536-1234567,', 'B,01021401,,,dept-cgj,,清运,24小时内,13800000002,', 'C,01021401,村,社区/村,,,清运,24小时内,,'),
      lookups,
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.items.map((i) => [i.itemCode, i.actingLevel, i.situationKeywords, i.leadUnit?.code ?? null, i.coUnits.map((u) => u.code)])).toEqual([
        ['A', 'street', ['小区', '楼下'], null, ['dept-cgj-hwzx']],
        ['B', 'city', [], 'dept-cgj', []],
        ['C', 'community', ['村'], null, []],
      ]);
      expect(r.items[0].contactPhone).toBe('0536-1234567');
    }
  });

  it('the demo list is valid: 40+ items over the demo categories, with shared functions and territorial items', async () => {
    const categories = await listCategories(w.db, 'demo');
    const { items: units } = await w.directory.listUnits('demo');
    const r = parseResponsibilityCsv(demoCsv, csvLookups(categories, units));
    if (!r.ok) throw new Error(JSON.stringify(r.problems.slice(0, 5)));
    expect(r.items.length).toBeGreaterThanOrEqual(40);
    const levels = new Set(r.items.map((i) => i.actingLevel));
    expect([...levels].sort()).toEqual(['city', 'community', 'district', 'street']);
    const leadsOf = (code: string) => r.items.filter((i) => i.categoryCode === code).map((i) => i.leadUnit?.code ?? i.actingLevel);
    expect(leadsOf('01020201')).toEqual(['dept-cgj-zfdd', 'dept-scjgj', 'street']); // 占道经营: 城管 + 市场监管 + 街道
    expect(leadsOf('04020302')).toEqual(expect.arrayContaining(['dept-sthjj', 'dept-gaj'])); // 社会生活噪声: 生态环境 + 公安 (夜间)
    for (const utility of ['util-water', 'util-power', 'util-gas', 'util-heat']) expect(r.items.some((i) => i.leadUnit?.code === utility)).toBe(true);
  });
});

describe(`versions of the list on ${testDialect}`, () => {
  const T1 = at('2025-11-01T00:00:00+08:00');
  const T2 = at('2026-01-01T00:00:00+08:00');
  let baseline: ResponsibilityVersion | null;
  let v1: ResponsibilityVersion;
  let v2: ResponsibilityVersion;
  const v1Csv = csvOf(
    'N-1,04020302,,city,dept-sthjj,,核查噪声,3个工作日内办结,12369,《中华人民共和国噪声污染防治法》',
    'N-2,04020302,夜间|深夜,city,dept-gaj,dept-sthjj,出警制止,30分钟内到场,,',
  );
  const v2Csv = csvOf('N-1,04020302,,city,dept-cgj-zfdd,dept-sthjj,城管执法,2个工作日内办结,12319,');

  beforeAll(async () => {
    // A city preset may already have brought a list in force; these versions take effect later.
    baseline = await svc.activeVersionAt('demo', w.clock.now());
  });

  it('imports a draft, proposes it, and only another person approves it (four-eyes)', async () => {
    const draft = await svc.importCsv(dispatcher, 'demo', v1Csv, '噪声 v1');
    expect(draft).toMatchObject({ status: 'draft', state: 'draft', itemCount: 2, note: '噪声 v1', createdBy: 'u-dispatcher', effectiveFrom: null });
    // A draft cannot be approved before it is proposed.
    await expect(svc.approve(supervisor, draft.id, T1)).rejects.toMatchObject({ code: 'RESPONSIBILITY_VERSION_STATE', status: 409 });
    const proposed = await svc.propose(dispatcher, draft.id);
    expect(proposed).toMatchObject({ status: 'proposed', proposedBy: 'u-dispatcher' });
    await expect(svc.propose(dispatcher, draft.id)).rejects.toMatchObject({ code: 'RESPONSIBILITY_VERSION_STATE' });
    await expect(svc.approve(dispatcher, draft.id, T1)).rejects.toMatchObject({ code: 'FOUR_EYES', status: 403 });
    await expect(svc.approve(ctxOf('agent', 'u-agent'), draft.id, T1)).rejects.toMatchObject({ code: 'ROLE_FORBIDDEN', status: 403 });
    await expect(svc.approve(supervisor, draft.id, at('2025-10-01T00:00:00+08:00'))).rejects.toMatchObject({ code: 'EFFECTIVE_FROM_IN_PAST' });
    v1 = await svc.approve(supervisor, draft.id, T1);
    expect(v1).toMatchObject({ status: 'approved', state: 'scheduled', decidedBy: 'u-supervisor', effectiveFrom: '2025-11-01T00:00:00+08:00' });
    expect((await listAudit(w.db, 'responsibility_version', v1.id)).map((a) => [a.action, a.actorId])).toEqual([
      ['responsibility_version.imported', 'u-dispatcher'],
      ['responsibility_version.proposed', 'u-dispatcher'],
      ['responsibility_version.approved', 'u-supervisor'],
    ]);
  });

  it('takes effect on its date: before it, the earlier list (if any) answers', async () => {
    expect((await svc.activeVersionAt('demo', w.clock.now()))?.id ?? null).toBe(baseline?.id ?? null);
    const before = await svc.match('demo', { categoryCode: '04020302', text: '深夜有人喧哗', at: at('2025-10-31T23:59:59+08:00') });
    expect(before.versionId).toBe(baseline?.id ?? null);
    const after = await svc.match('demo', { categoryCode: '04020302', text: '深夜有人喧哗', at: T1 });
    expect(after).toMatchObject({ versionId: v1.id, versionNumber: v1.number });
    expect(after.items.map((i) => i.itemCode)).toEqual(['N-2', 'N-1']);
    w.clock.set(at('2025-11-02T09:00:00+08:00'));
    expect((await svc.getVersionInfo('demo', v1.id)).state).toBe('active');
    expect((await svc.activeVersionAt('demo', w.clock.now()))!.id).toBe(v1.id);
  });

  it('a newer version supersedes it from its own date; tickets keep the old version id', async () => {
    v2 = await publish(v2Csv, T2, '噪声 v2');
    expect(v2.state).toBe('scheduled');
    expect(v2.number).toBe(v1.number + 1);
    // A ticket routed now (before T2) gets v1.
    const ticketAtT = await svc.match('demo', { categoryCode: '04020302', text: '', at: at('2025-12-15T10:00:00+08:00') });
    expect(ticketAtT.versionId).toBe(v1.id);
    w.clock.set(at('2026-01-02T09:00:00+08:00'));
    const fresh = await svc.match('demo', { categoryCode: '04020302', text: '深夜有人喧哗' });
    expect(fresh.versionId).toBe(v2.id);
    expect(fresh.items.map((i) => [i.itemCode, i.actingUnit?.code])).toEqual([['N-1', 'dept-cgj-zfdd']]);
    // The old version is history, still readable and matchable by its id (re-dispatching an old ticket).
    expect(await svc.getVersionInfo('demo', v1.id)).toMatchObject({ state: 'superseded', status: 'approved' });
    const old = await svc.match('demo', { categoryCode: '04020302', text: '深夜有人喧哗', versionId: v1.id });
    expect(old.items.map((i) => i.itemCode)).toEqual(['N-2', 'N-1']);
    expect((await svc.getVersion('demo', v1.id, { pageSize: 1 })).items).toHaveLength(1);
    // Matching at an instant in the past still uses what was in force then.
    expect((await svc.match('demo', { categoryCode: '04020302', at: at('2025-12-15T10:00:00+08:00') })).versionId).toBe(v1.id);
    const listed = await svc.listVersions('demo');
    expect(listed.find((v) => v.id === v2.id)!.state).toBe('active');
    expect(listed.find((v) => v.id === v1.id)!.state).toBe('superseded');
  });

  it('rejects with a reason; withdraws an approved version before its date; never one in force', async () => {
    const draft = await svc.importCsv(admin, 'demo', v1Csv, 'to reject');
    await expect(svc.reject(supervisor, draft.id, '  ')).rejects.toMatchObject({ code: 'REASON_REQUIRED', status: 400 });
    await svc.propose(admin, draft.id);
    const rejected = await svc.reject(supervisor, draft.id, '公安职责需再确认');
    expect(rejected).toMatchObject({ status: 'rejected', state: 'rejected', rejectReason: '公安职责需再确认', decidedBy: 'u-supervisor' });
    await expect(svc.propose(admin, draft.id)).rejects.toMatchObject({ code: 'RESPONSIBILITY_VERSION_STATE' });
    expect((await listAudit(w.db, 'responsibility_version', draft.id)).at(-1)).toMatchObject({ action: 'responsibility_version.rejected', reason: '公安职责需再确认' });

    const scheduled = await publish(v1Csv, at('2026-03-01T00:00:00+08:00'));
    expect(scheduled.state).toBe('scheduled');
    const withdrawn = await svc.reject(dispatcher, scheduled.id, '推迟');
    expect(withdrawn.state).toBe('rejected');
    expect((await svc.match('demo', { categoryCode: '04020302', at: at('2026-03-02T00:00:00+08:00') })).versionId).toBe(v2.id);

    await expect(svc.reject(supervisor, v2.id, 'too late')).rejects.toMatchObject({ code: 'RESPONSIBILITY_VERSION_STATE', status: 409 });
    await expect(svc.reject(supervisor, v1.id, 'history')).rejects.toMatchObject({ code: 'RESPONSIBILITY_VERSION_STATE' });
  });

  it('only list managers import, and never for another city; another city sees no version', async () => {
    await expect(svc.importCsv(ctxOf('agent', 'u-agent'), 'demo', v1Csv)).rejects.toMatchObject({ code: 'ROLE_FORBIDDEN' });
    await expect(svc.importCsv(ctxOf('admin', 'u-x', 'elsewhere'), 'demo', v1Csv)).rejects.toMatchObject({ code: 'CITY_FORBIDDEN' });
    await expect(svc.getVersionInfo('elsewhere', v1.id)).rejects.toMatchObject({ code: 'RESPONSIBILITY_VERSION_NOT_FOUND', status: 404 });
    await expect(svc.propose(ctxOf('admin', 'u-x', 'elsewhere'), v1.id)).rejects.toMatchObject({ status: 404 });
    expect(await svc.listVersions('elsewhere')).toEqual([]);
  });
});

describe(`matching a ticket to the items on ${testDialect}`, () => {
  let versionId: string;
  const territory = async (code: string) => (await w.directory.findTerritoryByCode('demo', code))!.id;

  beforeAll(async () => {
    // The demo list, in force from a date after the versions above.
    w.clock.set(at('2026-06-01T09:00:00+08:00'));
    const v = await publish(demoCsv, at('2026-06-01T10:00:00+08:00'), 'demo list');
    w.clock.set(at('2026-06-02T09:00:00+08:00'));
    versionId = v.id;
  });

  it('the most specific category wins: exact items before those of an ancestor', async () => {
    const r = await svc.match('demo', { categoryCode: '04020302', text: '楼下商铺喇叭一直响' });
    expect(r.versionId).toBe(versionId);
    expect(r.items[0]).toMatchObject({ itemCode: 'DEMO-04020302-01', rank: 1, why: { category: 'exact', distance: 0, keywordsHit: ['商铺', '喇叭'] }, actingUnit: { code: 'dept-sthjj' } });
    const last = r.items.at(-1)!;
    expect(last).toMatchObject({ itemCode: 'DEMO-040203-01', why: { category: 'ancestor', distance: 1 } });
    // 物业服务投诉 (01100301) has no item of its own: the items of 物业服务 (011003) cover it.
    const covered = await svc.match('demo', { categoryCode: '01100301', text: '物业不管事' });
    expect(covered.items.map((i) => [i.itemCode, i.why.category, i.why.distance])).toEqual([
      ['DEMO-011003-01', 'ancestor', 1],
      ['DEMO-011003-02', 'ancestor', 1],
      ['DEMO-011003-03', 'ancestor', 1],
    ]);
    // A category nothing covers: no items (属地兜底 is the dispatcher's rule).
    expect((await svc.match('demo', { categoryCode: '020101', text: '' })).items).toEqual([]);
  });

  it('keywords break ties among the items of one category; unmentioned situations go last', async () => {
    const night = await svc.match('demo', { categoryCode: '04020302', text: '楼上邻居半夜聚会，吵得睡不着' });
    expect(night.items.slice(0, 2).map((i) => [i.itemCode, i.why.keywordsHit])).toEqual([
      ['DEMO-04020302-02', ['半夜', '聚会']],
      ['DEMO-04020302-01', []],
    ]);
    expect(night.items[0]).toMatchObject({ actingUnit: { code: 'dept-gaj', name: '演示市公安局' }, coHandlingUnits: [{ code: 'dept-sthjj' }], why: { situationUnconfirmed: false } });
    expect(night.items[1].why).toMatchObject({ situationUnconfirmed: true });
    expect(night.items[0].why.explanationZh).toContain('情形关键词命中：半夜、聚会');
    const broadband = await svc.match('demo', { categoryCode: '080102', text: '家里宽带断网两天了' });
    expect(broadband.items.map((i) => i.leadUnit?.code)).toEqual(['co-telecom', 'co-mobile', 'co-cable']);
    const tv = await svc.match('demo', { categoryCode: '080102', text: '有线电视没信号' });
    expect(tv.items[0].leadUnit?.code).toBe('co-cable');
    // A general item (no keywords) ranks above a specific one whose situation was not mentioned.
    const water = await svc.match('demo', { categoryCode: '01021601', text: '家里停水了' });
    expect(water.items.map((i) => i.itemCode)).toEqual(['DEMO-01021601-01', 'DEMO-01021601-02', 'DEMO-010216-01', 'DEMO-010216-02']);
    const highRise = await svc.match('demo', { categoryCode: '01021601', text: '高层楼上没水，一楼有水' });
    expect(highRise.items[0]).toMatchObject({ itemCode: 'DEMO-01021601-02', coHandlingUnits: [{ code: 'dept-zjj' }] });
  });

  it('territorial items resolve the street or community of the ticket\'s place', async () => {
    const grid = await territory('990102001001002'); // 滨江社区第二网格, 滨江街道
    const r = await svc.match('demo', { categoryCode: '01021401', text: '小区楼下垃圾好几天没人收', territoryId: grid });
    expect(r.items[0]).toMatchObject({ itemCode: 'DEMO-01021401-02', actingLevel: 'street', leadUnit: null, actingUnit: { code: 'st-990102001', name: '滨江街道办事处' }, why: { keywordsHit: ['小区', '楼下'] } });
    const village = await territory('990121100201001'); // 王家庄村第一网格
    const rural = await svc.match('demo', { categoryCode: '01021401', text: '村里的垃圾堆了一周', territoryId: village });
    expect(rural.items[0]).toMatchObject({ itemCode: 'DEMO-01021401-03', actingLevel: 'community', actingUnit: { code: 'cm-990121100201', name: '王家庄村民委员会' } });
    // The district acts on 学区 questions.
    const school = await svc.match('demo', { categoryCode: '14050101', text: '我家属于哪个学区', territoryId: grid });
    expect(school.items[0]).toMatchObject({ itemCode: 'DEMO-14050101-02', actingLevel: 'district', actingUnit: { code: 'gov-990102' } });
    // Without a place, or in a community without a committee in the directory, the level is named but no unit.
    const nowhere = await svc.match('demo', { categoryCode: '01021401', text: '小区垃圾' });
    expect(nowhere.items[0]).toMatchObject({ actingLevel: 'street', actingUnit: null });
    const noCommittee = await svc.match('demo', { categoryCode: '04020302', text: '广场舞太吵', territoryId: await territory('990102001003001') });
    expect(noCommittee.items[0]).toMatchObject({ itemCode: 'DEMO-04020302-03', actingUnit: null });
  });

  it('takes the category path when given, and finds it from the categories otherwise', async () => {
    const given = await svc.match('demo', { categoryCode: '01021302', categoryPath: ['01', '0102', '010213'], text: '燃气打不着火' });
    const found = await svc.match('demo', { categoryCode: '01021302', text: '燃气打不着火' });
    expect(given.items.map((i) => i.itemCode)).toEqual(['DEMO-010213-01']);
    expect(found.items).toEqual(given.items);
    expect(found.items[0].why).toMatchObject({ category: 'ancestor', distance: 1 });
  });
});

describe(`export and preset import on ${testDialect}`, () => {
  it('exports a version as CSV that imports to the same items', async () => {
    const tricky = csvOf('Q-1,01021601,"a|b",city,util-water,dept-swj|dept-cgj,"第一步, 联系市民\n第二步 ""上门""",1小时内到场,96116,"《条例》, 第一款"');
    const v = await svc.importCsv(dispatcher, 'demo', tricky, 'tricky');
    const exported = await svc.exportCsv('demo', v.id);
    expect(exported.startsWith('\uFEFF' + RESPONSIBILITY_CSV_COLUMNS.join(','))).toBe(true);
    const again = await svc.importCsv(dispatcher, 'demo', exported, 'round trip');
    expect(again.sourceHash).toBe(v.sourceHash);
    const strip = (items: Awaited<ReturnType<ResponsibilityService['itemsOf']>>) => items.map(({ id: _id, versionId: _v, ...rest }) => rest);
    expect(strip(await svc.itemsOf('demo', again.id))).toEqual(strip(await svc.itemsOf('demo', v.id)));
    expect((await svc.itemsOf('demo', v.id))[0]).toMatchObject({ procedure: '第一步, 联系市民\n第二步 "上门"', legalBasis: '《条例》, 第一款', situationKeywords: ['a', 'b'] });

    const demo = (await svc.listVersions('demo')).find((x) => x.note === 'demo list')!;
    const demoExport = await svc.exportCsv('demo', demo.id);
    const categories = await listCategories(w.db, 'demo');
    const { items: units } = await w.directory.listUnits('demo');
    const reparsed = parseResponsibilityCsv(demoExport, csvLookups(categories, units));
    expect(reparsed.ok && itemsHash(reparsed.items)).toBe(demo.sourceHash);
    expect(reparsed.ok && reparsed.items.length).toBe(demo.itemCount);
  });

  it('a preset import is approved at once and idempotent; its problems name lines', async () => {
    const { items: units } = await w.directory.listUnits('demo');
    const now = w.clock.now();
    const effective = new Date(now.getTime() + 60_000);
    const changed = demoCsv.replace('2小时内到场，3个工作日内办结', '1小时内到场，3个工作日内办结');
    const first = await w.db.transaction().execute((trx) => importResponsibilityCsvIn(trx, w.ctx, { cityId: 'demo', csv: changed, units, now, effectiveFrom: effective }));
    expect(first).toMatchObject({ outcome: 'created', items: 79 });
    expect(await svc.getVersionInfo('demo', first.versionId)).toMatchObject({ status: 'approved', state: 'scheduled', note: 'city preset' });
    w.clock.set(new Date(effective.getTime() + 1));
    const second = await w.db.transaction().execute((trx) => importResponsibilityCsvIn(trx, w.ctx, { cityId: 'demo', csv: changed, units, now: w.clock.now() }));
    expect(second).toEqual({ outcome: 'unchanged', versionId: first.versionId, number: first.number, items: 79 });
    expect((await listAudit(w.db, 'responsibility_version', first.versionId)).map((a) => a.action)).toEqual(['responsibility_version.preset_imported']);
    const before = await versionsTable();
    const err = await w.db
      .transaction()
      .execute((trx) => importResponsibilityCsvIn(trx, w.ctx, { cityId: 'demo', csv: changed.replace('DEMO-010216-02,010216', 'DEMO-010216-02,0x0216'), units, now: w.clock.now() }))
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'RESPONSIBILITY_CSV_INVALID', details: { problems: [{ line: 3, field: 'category_code' }] } });
    expect(await versionsTable()).toBe(before);
  });
});
