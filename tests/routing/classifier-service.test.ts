import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../app/context';
import { testConfig } from '../../app/config';
import { startTestApp, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const TEXT = '东门外每天清晨大货车鸣笛，吵得睡不着';
const CODE = '04020302'; // 社会生活噪声: no keyword of the tree says so, only the confirmations

describe(`the city's classifier on ${testDialect}`, () => {
  it('starts from the category tree\'s keywords and claims no confidence it has not earned', async () => {
    const r = await t.ctx.classifier.classify('demo', { text: '路灯不亮好几天了，晚上走路很危险' });
    expect(r.suggestions[0].code).toBe('01020401'); // 路灯不亮
    expect(r.suggestions[0].words).toContain('路灯不亮');
    expect(r.confident).toBe(false);
    expect((await t.ctx.classifier.status('demo')).version).toBe(0);
  });

  it('learns from confirmations at once, keeps them in the database, and a restarted node has learned them too', async () => {
    const node = await t.ctx.database.db.selectFrom('categories').select(['code']).where('city_id', '=', 'demo').where('code', '=', CODE).executeTakeFirst();
    expect(node).toBeTruthy();
    const before = await t.ctx.classifier.classify('demo', { text: TEXT });
    // Naive Bayes compares categories: confirmations of two of them, as a working center has.
    for (let i = 0; i < 6; i++) {
      await t.ctx.classifier.learn('demo', { ticketId: `T${i}`, text: `${TEXT}（第${i}次反映）`, title: null, categoryCode: CODE, suggestedCode: before.suggestions[0]?.code ?? null, actorId: 'agent' });
      await t.ctx.classifier.learn('demo', { ticketId: `U${i}`, text: `医院挂号排队三个小时，看病太难（第${i}次）`, title: null, categoryCode: '12060101', suggestedCode: null, actorId: 'agent' });
    }
    // The same confirmation twice is logged once.
    await t.ctx.classifier.learn('demo', { ticketId: 'T0', text: TEXT, title: null, categoryCode: CODE, suggestedCode: null, actorId: 'agent' });
    const rows = await t.ctx.database.db.selectFrom('classifier_feedback').selectAll().where('city_id', '=', 'demo').execute();
    expect(rows).toHaveLength(12);
    const after = await t.ctx.classifier.classify('demo', { text: TEXT });
    expect(after.suggestions[0].code).toBe(CODE);

    const restarted = await createContext(testConfig(), { database: t.database });
    const replayed = await restarted.classifier.classify('demo', { text: TEXT });
    expect(replayed.suggestions[0]).toEqual(after.suggestions[0]);
  });

  it('training from labelled history stores a new model version that every node loads', async () => {
    const examples = Array.from({ length: 12 }, (_, i) => ({ id: String(i), title: '', text: i % 2 ? `小区路灯不亮第${i}天` : `楼上装修噪音扰民第${i}天`, label: i % 2 ? '01020401' : '04020302' }));
    const r = await t.ctx.classifier.train('demo', examples, 'test history');
    expect(r).toMatchObject({ version: 1, examples: 12 });
    const restarted = await createContext(testConfig(), { database: t.database });
    expect((await restarted.classifier.status('demo')).version).toBe(1);
    expect((await restarted.classifier.classify('demo', { text: '楼上装修噪音太大了' })).suggestions[0].code).toBe('04020302');
  });

  it('two nodes saving a model at the same moment both succeed, with versions of their own', async () => {
    // Each context is a node with its own classifier over the one database; they race on (city, version).
    const nodes = await Promise.all(Array.from({ length: 6 }, () => createContext(testConfig(), { database: t.database })));
    const examples = Array.from({ length: 8 }, (_, i) => ({ id: String(i), title: '', text: i % 2 ? `路灯不亮第${i}天` : `装修噪音扰民第${i}天`, label: i % 2 ? '01020401' : '04020302' }));
    const results = await Promise.all(nodes.map((n, i) => n.classifier.train('demo', examples, `node ${i}`)));
    expect(new Set(results.map((r) => r.version)).size).toBe(nodes.length);
  });
});
