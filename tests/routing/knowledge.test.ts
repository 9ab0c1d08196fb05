import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext, Role } from '../../core';
import { listAudit } from '../../audit';
import { importCityFromDir } from '../../app/city-preset';
import { listCategories } from '../../routing';
import { createKnowledgeService, importKnowledgeIn, parseKnowledgeJson, type KnowledgeService } from '../../routing/knowledge';
import { testDialect } from '../helpers/db';
import { DEMO_DIR, demoWorld } from '../city-preset/demo-fixture';

let w: Awaited<ReturnType<typeof demoWorld>>;
let kb: KnowledgeService;
let demoJson: string;
let ids: Map<string, string>;
let waterUnit: string;
let powerUnit: string;

const ctxOf = (role: Role, id: string, unitId: string | null = null, cityId = 'demo'): CommandContext => ({
  actor: { kind: 'user', id, name: `user ${id}`, role, cityId, unitId, territoryId: null, territoryPath: null },
  requestId: `test-${id}`,
});
const agent = ctxOf('agent', 'u-agent');
const agent2 = ctxOf('agent', 'u-agent2');
const dispatcher = ctxOf('dispatcher', 'u-dispatcher');
const supervisor = ctxOf('supervisor', 'u-supervisor');
const admin = ctxOf('admin', 'u-admin');
const START = new Date('2025-10-09T02:00:00Z');

const newService = (indexCheckMs?: number) =>
  createKnowledgeService({ db: w.db, dialect: w.database.dialect, clock: w.clock, directory: w.directory, categories: (cityId) => listCategories(w.db, cityId), indexCheckMs });

const importDemo = async (json = demoJson) => {
  const { items: units } = await w.directory.listUnits('demo');
  const r = await w.db.transaction().execute((trx) => importKnowledgeIn(trx, w.ctx, { cityId: 'demo', json, units, now: w.clock.now(), dialect: w.database.dialect }));
  kb.invalidate('demo');
  return r;
};
const top = async (q: string, opts: { categoryCode?: string } = {}) => (await kb.search('demo', q, opts))[0]?.articleId;
const codeOf = (articleId: string | undefined) => [...ids.entries()].find(([, id]) => id === articleId)?.[0];

beforeAll(async () => {
  w = await demoWorld();
  await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
  kb = newService();
  demoJson = await readFile(join(DEMO_DIR, 'knowledge.json'), 'utf8');
  ids = (await importDemo()).idsByCode;
  waterUnit = (await w.directory.findUnitByCode('demo', 'util-water'))!.id;
  powerUnit = (await w.directory.findUnitByCode('demo', 'util-power'))!.id;
});
afterAll(async () => w?.database.dispose());

describe(`the demo knowledge base on ${testDialect}`, () => {
  it('is valid: 25+ published articles, some expired and one not yet in force', async () => {
    const categories = await listCategories(w.db, 'demo');
    const { items: units } = await w.directory.listUnits('demo');
    const parsed = parseKnowledgeJson(demoJson, { categoryCodes: new Set(categories.map((c) => c.code)), units: new Map(units.map((u) => [u.code, { id: u.id, active: u.active }])) });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.slice(0, 5)));
    expect(parsed.articles.length).toBeGreaterThanOrEqual(25);
    const now = START.getTime();
    expect(parsed.articles.filter((a) => a.content.validTo && a.content.validTo.getTime() < now).map((a) => a.code)).toEqual(['kb-gn-sj-2024', 'kb-jmyb-2024']);
    expect(parsed.articles.filter((a) => a.content.validFrom && a.content.validFrom.getTime() > now).map((a) => a.code)).toEqual(['kb-zs-2026']);
    expect(ids.size).toBe(parsed.articles.length);
    const sbk = await kb.getArticle(agent.actor, ids.get('kb-sbk-bb')!);
    expect(sbk).toMatchObject({ status: 'published', code: 'kb-sbk-bb', inForce: true, published: { number: 1, status: 'published', categoryCode: '15020101' }, pending: null });
    // validTo as a date covers the whole day (China time).
    expect((await kb.getArticle(agent.actor, ids.get('kb-gjj-tq')!)).published!.validTo).toBe('2026-12-31T23:59:59+08:00');
  });

  it('re-importing changes nothing; a changed article gets a new published revision; problems name the article', async () => {
    expect(await importDemo()).toMatchObject({ created: 0, updated: 0, unchanged: ids.size });
    const edited = demoJson.replace('咨询电话：12329。', '咨询电话：12329（工作日）。');
    expect(await importDemo(edited)).toMatchObject({ created: 0, updated: 1, unchanged: ids.size - 1 });
    const gjj = await kb.getArticle(agent.actor, ids.get('kb-gjj-tq')!);
    expect(gjj.published).toMatchObject({ number: 2 });
    expect(gjj.published!.answer).toContain('12329（工作日）');
    expect((await kb.revisionsOf(agent.actor, gjj.id)).map((r) => [r.number, r.status])).toEqual([[2, 'published'], [1, 'superseded']]);
    expect(await importDemo()).toMatchObject({ updated: 1 }); // and back
    const broken = JSON.parse(demoJson);
    broken.articles[1].categoryCode = 'nope';
    broken.articles[2].ownerUnitCode = 'ghost';
    broken.articles[3].code = broken.articles[0].code;
    broken.articles[4].validTo = '2025-02-30';
    broken.articles[5].extra = 1;
    const { items: units } = await w.directory.listUnits('demo');
    const err = await w.db.transaction().execute((trx) => importKnowledgeIn(trx, w.ctx, { cityId: 'demo', json: JSON.stringify(broken), units, now: w.clock.now(), dialect: w.database.dialect })).catch((e) => e);
    expect(err.code).toBe('KNOWLEDGE_PRESET_INVALID');
    expect(err.details.problems.map((p: { index: number; field?: string }) => [p.index, p.field])).toEqual([
      [1, 'categoryCode'],
      [2, 'ownerUnitCode'],
      [3, 'code'],
      [4, 'validTo'],
      [5, 'extra'],
    ]);
  });
});

describe(`search on ${testDialect}`, () => {
  it('finds the right article first for natural caller questions', async () => {
    const cases: [string, string][] = [
      ['我的社保卡丢了怎么办', 'kb-sbk-bb'],
      ['公积金怎么取出来', 'kb-gjj-tq'],
      ['孩子刚出生怎么上户口', 'kb-xsr-lh'],
      ['今年什么时候开始供暖', 'kb-gn-sj-2025'],
      ['垃圾几点可以扔', 'kb-ljfl-sj'],
      ['停水通知在哪里查', 'kb-ts-tz'],
      ['外地人居住证怎么办', 'kb-jzz-bl'],
      ['看病医保能报销多少', 'kb-yb-bx'],
      ['坐出租车把手机丢车上了', 'kb-czc-swzh'],
      ['老人坐公交免费吗', 'kb-gj-lnk'],
      ['怎么领失业金', 'kb-syj-sl'],
      ['家里困难想申请低保', 'kb-db-sq'],
      ['房产证多久能办下来', 'kb-bdc-bz'],
      ['身份证丢了能在外地补办吗', 'kb-sfz-bl'],
    ];
    const got = await Promise.all(cases.map(async ([q]) => codeOf(await top(q))));
    expect(got).toEqual(cases.map(([, code]) => code));
  });

  it('hides expired and future articles, and shows them when their time comes', async () => {
    const hits = await kb.search('demo', '供暖季什么时候开始', { limit: 20 });
    expect(hits.map((h) => codeOf(h.articleId))).toContain('kb-gn-sj-2025');
    expect(hits.map((h) => codeOf(h.articleId))).not.toContain('kb-gn-sj-2024');
    const school = (await kb.search('demo', '小学一年级招生报名时间', { limit: 20 })).map((h) => codeOf(h.articleId));
    expect(school).toContain('kb-zs-2025');
    expect(school).not.toContain('kb-zs-2026');
    expect((await kb.search('demo', '居民医保缴费', { limit: 20 })).map((h) => codeOf(h.articleId))).not.toContain('kb-jmyb-2024');
    try {
      w.clock.set(new Date('2026-05-02T00:00:00+08:00'));
      expect(await top('小学一年级招生报名时间')).toBe(ids.get('kb-zs-2026'));
      expect((await kb.search('demo', '供暖季什么时候开始', { limit: 20 })).map((h) => codeOf(h.articleId))).not.toContain('kb-gn-sj-2025');
      expect((await kb.getArticle(agent.actor, ids.get('kb-gn-sj-2025')!)).inForce).toBe(false);
    } finally {
      w.clock.set(START);
    }
  });

  it('filters by a category branch; explains the match', async () => {
    const hits = await kb.search('demo', '怎么缴费', { categoryCode: '0102', limit: 20 });
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits) expect(h.categoryCode!.startsWith('0102')).toBe(true);
    expect((await kb.search('demo', '怎么缴费', { categoryCode: '15', limit: 20 })).every((h) => h.categoryCode!.startsWith('15'))).toBe(true);
    const [first] = await kb.search('demo', '社保卡补办');
    expect(first).toMatchObject({ question: '社保卡丢失了怎么补办？', revisionNumber: 1, ownerUnitId: (await w.directory.findUnitByCode('demo', 'dept-rsj'))!.id });
    expect(first.matchedTerms).toEqual(expect.arrayContaining(['社保卡', '补办']));
    expect(await kb.search('demo', '的了吗')).toEqual([]);
  });

  it('bestAnswer: confident only when the answer covers the question and stands out', async () => {
    const sure = await kb.bestAnswer('demo', '社保卡丢了怎么补办');
    expect(sure).toMatchObject({ articleId: ids.get('kb-sbk-bb'), confident: true, reasonsZh: [] });
    expect(sure!.coverage).toBeGreaterThanOrEqual(0.6);
    const vague = await kb.bestAnswer('demo', '暖气不热怎么办');
    expect(vague!.confident).toBe(false);
    expect(vague!.reasonsZh.length).toBeGreaterThan(0);
    expect(await kb.bestAnswer('demo', '你好')).toBeNull();
    // A category outside the answer's branch: not confident; the right branch: confident.
    const wrongBranch = await kb.bestAnswer('demo', '公积金怎么取出来', { categoryCode: '150204' });
    expect(wrongBranch).toMatchObject({ articleId: ids.get('kb-gjj-tq'), confident: false, reasonsZh: ['答案与工单分类不符'] });
    expect(await kb.bestAnswer('demo', '公积金怎么取出来', { categoryCode: '0110' })).toMatchObject({ confident: true });
    // Expired articles never answer.
    const heating = await kb.bestAnswer('demo', '2024—2025年度供暖季什么时候开始');
    expect(heating?.articleId).not.toBe(ids.get('kb-gn-sj-2024'));
  });
});

describe(`writing and review on ${testDialect}`, () => {
  let articleId: string;

  it('a center article: draft → in review → rejected back with a reason → published; not by its author', async () => {
    const created = await kb.create(agent, {
      question: '演示市图书馆几点开门？',
      answer: '演示市图书馆开放时间为周二至周日9:00—17:00，周一闭馆。（演示数据）',
      keywords: ['图书馆', '开门', '开放时间', '借书'],
      validFrom: new Date('2025-10-01T00:00:00+08:00'),
    });
    articleId = created.id;
    expect(created).toMatchObject({ status: 'draft', ownerUnitId: null, version: 1, published: null, pending: { number: 1, status: 'draft', authorId: 'u-agent' }, inForce: false });
    expect((await kb.search('demo', '图书馆几点开门', { limit: 50 })).map((h) => h.articleId)).not.toContain(articleId); // drafts are not searchable

    await expect(kb.submit(ctxOf('grid_member', 'u-grid'), articleId)).rejects.toMatchObject({ code: 'KNOWLEDGE_WRITE_FORBIDDEN' });
    const submitted = await kb.submit(agent2, articleId);
    expect(submitted).toMatchObject({ status: 'draft', pending: { status: 'in_review', submittedBy: 'u-agent2' } });
    await expect(kb.submit(agent, articleId)).rejects.toMatchObject({ code: 'KNOWLEDGE_REVISION_STATE' });
    await expect(kb.approve(ctxOf('agent', 'u-agent3'), articleId)).rejects.toMatchObject({ code: 'ROLE_FORBIDDEN' });
    await expect(kb.update(agent, articleId, undefined, { answer: '改' })).rejects.toMatchObject({ code: 'KNOWLEDGE_IN_REVIEW', status: 409 });
    await expect(kb.reject(supervisor, articleId, ' ')).rejects.toMatchObject({ code: 'REASON_REQUIRED' });

    const rejected = await kb.review(supervisor, articleId, { decision: 'reject', reason: '请补充节假日开放安排' });
    expect(rejected.pending).toMatchObject({ status: 'draft', rejectReason: '请补充节假日开放安排', reviewedBy: 'u-supervisor' });
    const edited = await kb.update(dispatcher, articleId, rejected.version, { answer: '演示市图书馆开放时间为周二至周日9:00—17:00，周一闭馆；法定节假日正常开放。（演示数据）' });
    expect(edited.pending).toMatchObject({ number: 1, status: 'draft', updatedBy: 'u-dispatcher' });
    await expect(kb.update(dispatcher, articleId, rejected.version, { answer: 'stale' })).rejects.toMatchObject({ code: 'KNOWLEDGE_ARTICLE_CHANGED' });
    await kb.submit(agent, articleId);
    // The dispatcher edited this revision: another reviewer must approve it.
    await expect(kb.approve(dispatcher, articleId)).rejects.toMatchObject({ code: 'FOUR_EYES', status: 403 });
    await expect(kb.approve(ctxOf('dispatcher', 'u-agent'), articleId)).rejects.toMatchObject({ code: 'FOUR_EYES' });
    const published = await kb.review(supervisor, articleId, { decision: 'approve' });
    expect(published).toMatchObject({ status: 'published', inForce: true, pending: null, published: { number: 1, status: 'published', reviewedBy: 'u-supervisor', rejectReason: null } });
    expect(await top('图书馆几点开门')).toBe(articleId);
    expect((await listAudit(w.db, 'knowledge_article', articleId)).map((a) => [a.action, a.actorId])).toEqual([
      ['knowledge_article.created', 'u-agent'],
      ['knowledge_article.submitted', 'u-agent2'],
      ['knowledge_article.rejected', 'u-supervisor'],
      ['knowledge_article.updated', 'u-dispatcher'],
      ['knowledge_article.submitted', 'u-agent'],
      ['knowledge_article.published', 'u-supervisor'],
    ]);
  });

  it('editing a published article starts a revision; the old one stays published until the new one is', async () => {
    const before = await kb.getArticle(agent.actor, articleId);
    const unchanged = await kb.update(agent, articleId, before.version, { question: before.published!.question });
    expect(unchanged.version).toBe(before.version); // nothing changed, nothing written
    const revising = await kb.update(agent, articleId, before.version, { question: '演示市图书馆的开放时间？', keywords: ['图书馆', '开放时间', '闭馆'] });
    expect(revising).toMatchObject({ status: 'published', published: { number: 1 }, pending: { number: 2, status: 'draft' } });
    // Agents still see revision 1.
    const hit = (await kb.search('demo', '图书馆开门'))[0];
    expect(hit).toMatchObject({ articleId, revisionNumber: 1, question: '演示市图书馆几点开门？' });
    // A second edit changes the pending draft in place.
    const again = await kb.update(agent, articleId, revising.version, { validTo: new Date('2026-12-31T23:59:59+08:00') });
    expect(again.pending).toMatchObject({ number: 2, validTo: '2026-12-31T23:59:59+08:00' });
    await kb.submit(agent, articleId);
    const published = await kb.approve(dispatcher, articleId);
    expect(published).toMatchObject({ published: { number: 2, question: '演示市图书馆的开放时间？' }, pending: null });
    expect((await kb.search('demo', '图书馆开放时间'))[0]).toMatchObject({ articleId, revisionNumber: 2 });
    expect((await kb.revisionsOf(agent.actor, articleId)).map((r) => [r.number, r.status])).toEqual([[2, 'published'], [1, 'superseded']]);
  });

  it("units write their own articles; the center writes the center's", async () => {
    const water1 = ctxOf('unit_handler', 'u-water1', waterUnit);
    const power1 = ctxOf('unit_handler', 'u-power1', powerUnit);
    const own = await kb.create(water1, { question: '新装自来水怎么申请？', answer: '持不动产权证书和身份证到供水营业厅申请，工程人员5个工作日内上门勘察。（演示数据）', categoryCode: '010216' });
    expect(own.ownerUnitId).toBe(waterUnit);
    await expect(kb.create(water1, { question: 'x', answer: 'y', ownerUnitId: powerUnit })).rejects.toMatchObject({ code: 'KNOWLEDGE_WRITE_FORBIDDEN' });
    await expect(kb.create(agent, { question: 'x', answer: 'y', ownerUnitId: waterUnit })).rejects.toMatchObject({ code: 'KNOWLEDGE_WRITE_FORBIDDEN' });
    await expect(kb.create(ctxOf('grid_member', 'u-grid'), { question: 'x', answer: 'y' })).rejects.toMatchObject({ code: 'KNOWLEDGE_WRITE_FORBIDDEN' });
    await expect(kb.update(power1, own.id, undefined, { answer: '改' })).rejects.toMatchObject({ code: 'KNOWLEDGE_WRITE_FORBIDDEN', status: 403 });
    await expect(kb.update(agent, own.id, undefined, { answer: '改' })).rejects.toMatchObject({ code: 'KNOWLEDGE_WRITE_FORBIDDEN' });
    await expect(kb.create(water1, { question: ' ', answer: 'y', categoryCode: 'nope' })).rejects.toMatchObject({
      code: 'KNOWLEDGE_ARTICLE_INVALID',
      details: { problems: [{ field: 'question' }, { field: 'categoryCode' }] },
    });
    await expect(kb.create(water1, { question: 'q', answer: 'a', validFrom: new Date('2026-01-01T00:00:00Z'), validTo: new Date('2025-01-01T00:00:00Z') })).rejects.toMatchObject({
      details: { problems: [{ field: 'validTo' }] },
    });
    const byAdmin = await kb.create(admin, { question: '停电后冰箱坏了能赔吗？', answer: '……（演示数据）', ownerUnitId: powerUnit });
    expect(byAdmin.ownerUnitId).toBe(powerUnit);
    const submitted = await kb.submit(ctxOf('unit_manager', 'u-water-mgr', waterUnit), own.id);
    // The draft is visible to the center and the owning unit, not to another unit or the grid.
    expect((await kb.getArticle(agent.actor, own.id)).pending?.status).toBe('in_review');
    await expect(kb.getArticle(power1.actor, own.id)).rejects.toMatchObject({ code: 'KNOWLEDGE_ARTICLE_NOT_FOUND' });
    await expect(kb.getArticle(ctxOf('grid_member', 'u-grid').actor, own.id)).rejects.toMatchObject({ status: 404 });
    const inReview = await kb.listArticles(dispatcher.actor, { state: 'in_review' });
    expect(inReview.items.map((a) => a.id)).toContain(submitted.id);
    const powerView = await kb.listArticles(power1.actor, { pageSize: 200 });
    expect(powerView.items.some((a) => a.id === own.id)).toBe(false);
    expect(powerView.items.some((a) => a.id === byAdmin.id)).toBe(true);
    await kb.approve(supervisor, own.id);
    const published = await kb.getArticle(power1.actor, own.id);
    expect(published).toMatchObject({ status: 'published', pending: null });
    const waters = await kb.listArticles(dispatcher.actor, { ownerUnitId: waterUnit, pageSize: 200 });
    expect(waters.items.map((a) => a.id)).toContain(own.id);
    expect(waters.items.every((a) => a.ownerUnitId === waterUnit)).toBe(true);
    expect((await kb.listArticles(dispatcher.actor, { ownerUnitId: null, pageSize: 200 })).items.every((a) => a.ownerUnitId === null)).toBe(true);
  });

  it('records which answer was given on which ticket; a later revision marks it outdated', async () => {
    const sbk = ids.get('kb-sbk-bb')!;
    const first = await kb.recordUse(agent, sbk, 'ticket-1');
    expect(first).toMatchObject({ articleId: sbk, ticketId: 'ticket-1', revisionNumber: 1, usedBy: 'u-agent', current: true });
    const repeat = await kb.recordUse(agent2, sbk, 'ticket-1');
    expect(repeat.id).toBe(first.id);
    await kb.recordUse(ctxOf('unit_handler', 'u-rsj'), sbk, 'ticket-2');
    await expect(kb.recordUse(ctxOf('grid_member', 'u-grid'), sbk, 'ticket-3')).rejects.toMatchObject({ code: 'ROLE_FORBIDDEN' });
    expect((await listAudit(w.db, 'knowledge_article', sbk)).filter((a) => a.action === 'knowledge_article.used')).toHaveLength(2);

    const rsj = ctxOf('unit_manager', 'u-rsj-mgr', (await w.directory.findUnitByCode('demo', 'dept-rsj'))!.id);
    const a = await kb.update(rsj, sbk, undefined, { answer: '社保卡补办流程已调整：……（演示数据）' });
    await kb.submit(rsj, a.id);
    // Until the new revision is published, the usages are current.
    expect((await kb.usagesOf(sbk)).every((u) => u.current)).toBe(true);
    await kb.approve(supervisor, sbk);
    const usages = await kb.usagesOf(sbk, { cityId: 'demo' });
    expect(usages.map((u) => [u.ticketId, u.revisionNumber, u.current])).toEqual([
      ['ticket-2', 1, false],
      ['ticket-1', 1, false],
    ]);
    await kb.recordUse(agent, sbk, 'ticket-4');
    expect((await kb.usagesOf(sbk))[0]).toMatchObject({ ticketId: 'ticket-4', revisionNumber: 2, current: true });
    expect((await kb.usagesOfTicket('ticket-1')).map((u) => u.articleId)).toEqual([sbk]);
    await expect(kb.usagesOf(sbk, { cityId: 'elsewhere' })).rejects.toMatchObject({ status: 404 });
  });

  it('archives: hidden from search, no new usage, no edit; usages stay. Deletes only never-published drafts', async () => {
    const sbk = ids.get('kb-sbk-bb')!;
    await expect(kb.archive(ctxOf('unit_handler', 'u-water1', waterUnit), sbk)).rejects.toMatchObject({ code: 'KNOWLEDGE_WRITE_FORBIDDEN' });
    const archived = await kb.archive(supervisor, sbk, '政策调整，改由新条目答复');
    expect(archived).toMatchObject({ status: 'archived', inForce: false, archivedBy: 'u-supervisor', archiveReason: '政策调整，改由新条目答复' });
    expect((await kb.search('demo', '社保卡丢了怎么补办', { limit: 50 })).map((h) => h.articleId)).not.toContain(sbk);
    await expect(kb.recordUse(agent, sbk, 'ticket-9')).rejects.toMatchObject({ code: 'KNOWLEDGE_NOT_PUBLISHED', status: 409 });
    await expect(kb.update(admin, sbk, undefined, { answer: 'x' })).rejects.toMatchObject({ code: 'KNOWLEDGE_ARTICLE_ARCHIVED' });
    await expect(kb.archive(supervisor, sbk)).rejects.toMatchObject({ code: 'KNOWLEDGE_ARTICLE_ARCHIVED' });
    expect(await kb.usagesOf(sbk)).toHaveLength(3);
    // Archived articles are history: only the center still sees them.
    await expect(kb.getArticle(ctxOf('grid_member', 'u-grid').actor, sbk)).rejects.toMatchObject({ status: 404 });

    const draft = await kb.create(agent, { question: '写错了', answer: '草稿' });
    await expect(kb.remove(agent2, ids.get('kb-gjj-tq')!)).rejects.toMatchObject({ code: 'KNOWLEDGE_ARTICLE_PUBLISHED' });
    await kb.remove(agent2, draft.id);
    await expect(kb.getArticle(agent.actor, draft.id)).rejects.toMatchObject({ code: 'KNOWLEDGE_ARTICLE_NOT_FOUND' });
    expect((await listAudit(w.db, 'knowledge_article', draft.id)).map((a) => a.action)).toEqual(['knowledge_article.created', 'knowledge_article.deleted']);
  });

  it('another process sees a change at its next check; the index follows without a restart', async () => {
    const other = newService(0);
    expect((await other.search('demo', '图书馆开放时间'))[0].question).toBe('演示市图书馆的开放时间？');
    const created = await kb.create(agent, { question: '演示市博物馆周一开放吗？', answer: '演示市博物馆周一闭馆（节假日除外）。（演示数据）', keywords: ['博物馆', '周一'] });
    await kb.submit(agent, created.id);
    await kb.approve(supervisor, created.id);
    expect((await other.search('demo', '博物馆周一开放吗'))[0]?.articleId).toBe(created.id);
    await kb.archive(admin, created.id);
    expect((await other.search('demo', '博物馆周一开放吗')).map((h) => h.articleId)).not.toContain(created.id);
  });
});
