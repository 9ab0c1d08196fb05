import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CategoryClassifier, KeywordMatcher, crossValidateExamples, charNgrams, evaluate, extractFeatures, keywordsFromName, normalizeText,
  readLabelledCsv, rulesFromCategories, rulesFromTaxonomy, scoreRankings, seededRandom, stratifiedFolds, words, NO_SUGGESTION,
  type TrainingExample,
} from '../../routing/classifier';
import { AppError } from '../../core';

/** Hand-written tickets of four fields, six each: enough to train and to fit the calibration (≥ 20). */
const TRAIN: TrainingExample[] = [
  { label: '环境保护', title: '化工厂夜间排放废气', text: '我们小区旁边的化工厂每天晚上排放刺鼻废气，空气污染严重，居民无法开窗' },
  { label: '环境保护', title: '河道污水直排', text: '工厂把污水直接排进河里，河水发黑发臭，鱼都死了，请环保部门查处' },
  { label: '环境保护', title: '工地噪音扰民', text: '附近工地深夜施工噪音很大，严重影响休息，噪声超标' },
  { label: '环境保护', title: '养殖场粪便污染', text: '村里养猪场粪便随意排放，污染水源和土壤，臭气熏天' },
  { label: '环境保护', title: '焚烧垃圾冒黑烟', text: '有人在空地焚烧垃圾和塑料，黑烟滚滚，大气污染' },
  { label: '环境保护', title: '企业偷排废水', text: '这家企业晚上偷排废水，环评手续也没有，要求环保局处理' },
  { label: '交通运输', title: '公交线路调整建议', text: '希望增加公交线路，公交车班次太少，等车要一个小时' },
  { label: '交通运输', title: '出租车拒载绕路', text: '出租车司机拒载，还故意绕路多收费，请运管部门处理' },
  { label: '交通运输', title: '快递不派送上门', text: '快递员不派件到家，让我们自己去网点取件，邮政快递服务差' },
  { label: '交通运输', title: '网约车安全问题', text: '网约车司机没有资质，车辆不合规，乘客安全没有保障' },
  { label: '交通运输', title: '客运站黑车拉客', text: '汽车客运站门口黑车拉客，客运秩序混乱，票价乱涨' },
  { label: '交通运输', title: '公交站台损坏', text: '公交站台的站牌损坏，公交车不按站停靠' },
  { label: '教育文体', title: '学校乱收费', text: '孩子所在学校收取补课费和资料费，教育收费不规范，请教育局调查' },
  { label: '教育文体', title: '幼儿园入学难', text: '小区配套幼儿园迟迟不开园，孩子入学难，学位不够' },
  { label: '教育文体', title: '教师工资拖欠', text: '乡村教师的工资和绩效迟迟不发，老师待遇太低' },
  { label: '教育文体', title: '中考招生政策', text: '咨询今年中考招生录取政策，学籍不在本地能否报考' },
  { label: '教育文体', title: '体育场馆收费', text: '公共体育馆对市民收费太高，全民健身场地不开放' },
  { label: '教育文体', title: '校外培训机构', text: '校外培训机构无证办学，退费困难，学生负担重' },
  { label: '劳动和社会保障', title: '公司拖欠工资', text: '公司拖欠我们农民工三个月工资，老板跑路，要求劳动监察处理' },
  { label: '劳动和社会保障', title: '社保断缴', text: '单位没有给员工缴纳社保，养老保险断缴，医疗保险也没交' },
  { label: '劳动和社会保障', title: '退休金调整', text: '咨询企业退休人员养老金调整，退休待遇什么时候发放' },
  { label: '劳动和社会保障', title: '劳动合同纠纷', text: '公司不签劳动合同，辞退员工不给经济补偿' },
  { label: '劳动和社会保障', title: '失业金申领', text: '失业保险金怎么申领，失业登记需要什么材料' },
  { label: '劳动和社会保障', title: '工伤认定', text: '工作时受伤，单位不给申报工伤，工伤保险待遇怎么办' },
];

const train = () => CategoryClassifier.train(TRAIN, { seed: 7 });

describe('tokenisation', () => {
  it('normalises full-width text, Excel escapes, masked numbers and anonymised place codes', () => {
    expect(normalizeText('尊敬的领导：_x000D_\n  Ａ市Ａ３区ｗｉｆｉ　信号差，单号*****')).toBe('尊敬的领导: wifi 信号差,单号');
    // The anonymised codes go only when they stand alone: 海口市 stays.
    expect(normalizeText('A市A3区白龙南路, G4县洲口镇, 海口市')).toBe('白龙南路, 洲口镇, 海口市');
  });

  it('cuts real text into content words: stopwords, courtesy phrases, numbers and codes dropped, Latin words kept', () => {
    const w = words(normalizeText('尊敬的领导您好！A3区暮云街道公交站牌不完善，2019年4月以来PM2.5超标，谢谢'));
    expect(w).toEqual(expect.arrayContaining(['暮云', '街道', '公交站', '完善', 'pm2.5', '超标']));
    for (const gone of ['尊敬', '领导', '您好', '谢谢', '2019', '年', 'a3', '的', '以来']) expect(w).not.toContain(gone);
  });

  it('makes CJK bigrams within runs, skipping those with a function character', () => {
    expect(charNgrams('坑坑洼洼的路', 2)).toEqual(['坑坑', '坑洼', '洼洼']);
    expect(charNgrams('噪音abc扰民', 2)).toEqual(['噪音', '扰民']);
    expect(charNgrams('垃圾清运', 3)).toEqual(['垃圾清', '圾清运']);
  });

  it('weights the title and keeps the same keys in the same order for the same text', () => {
    const f = extractFeatures({ title: '噪音', text: '噪音扰民' });
    expect(f.get('w:噪音')).toBe(4); // 3 from the title, 1 from the body
    expect(f.get('w:扰民')).toBe(1);
    expect([...extractFeatures({ title: '噪音', text: '噪音扰民' }).keys()]).toEqual([...f.keys()]);
  });
});

describe('keyword rules', () => {
  it('derives keywords from category names without generic words', () => {
    const k = keywordsFromName('城乡居民养老保险');
    expect(k).toEqual(expect.arrayContaining(['城乡居民养老保险', '养老保险']));
    expect(keywordsFromName('其他')).toEqual([]);
    expect(keywordsFromName('燃气供应')).toContain('燃气');
  });

  it('builds rules for the leaves of a category tree, ancestors at half weight, name words at half their node\'s, inactive nodes ignored', () => {
    const tree = [
      { id: 'a', code: '01', name: '城市管理', parentId: null },
      { id: 'b', code: '0101', name: '市容环境', parentId: 'a' },
      { id: 'c', code: '010101', name: '暴露垃圾', parentId: 'b', keywords: ['垃圾堆', '垃圾没人清'] },
      { id: 'd', code: '010102', name: '乱贴广告', parentId: 'b', keywords: ['小广告'] },
      { id: 'e', code: '010103', name: '旧事项', parentId: 'b', active: false },
    ];
    const rules = rulesFromCategories(tree, { labelBy: 'code' });
    expect([...new Set(rules.map((r) => r.label))]).toEqual(['010101', '010102']);
    const at = (label: string, weight: number) => rules.filter((r) => r.label === label && r.weight === weight).flatMap((r) => r.keywords);
    // The name and the curated keywords at the node's weight, the name's jieba words at half of it.
    expect(at('010101', 1)).toEqual(['暴露垃圾', '垃圾堆', '垃圾没人清']);
    expect(at('010101', 0.5)).toEqual(expect.arrayContaining(['暴露', '垃圾', '市容环境']));
    expect(at('010101', 0.25)).toEqual(expect.arrayContaining(['市容', '城市管理']));
    expect(at('010101', 0.125)).toContain('城市');
  });

  it('matches keywords once per ticket, twice in the title, giving shared keywords to each label', () => {
    const rules = [
      { label: 'env', keywords: ['噪音', '污染'] },
      { label: 'build', keywords: ['噪音', '工地'] },
    ];
    // Specific scoring (default): a keyword both labels hear says less than one only one hears.
    const specific = new KeywordMatcher(rules).score({ title: '工地噪音', text: '噪音噪音噪音污染' });
    const shared = Math.log(2) / Math.log(3);
    expect(specific.scores.get('env')).toBeCloseTo(2 * shared + 1, 12);
    expect(specific.scores.get('build')).toBeCloseTo(2 * shared + 2, 12);
    const m = new KeywordMatcher(rules, { scoring: 'flat' });
    const s = m.score({ title: '工地噪音', text: '噪音噪音噪音污染' });
    expect(s.scores.get('env')).toBe(2 + 1);
    expect(s.scores.get('build')).toBe(2 + 2);
    expect(s.hits.get('env')!.map((h) => h.keyword)).toEqual(['噪音', '污染']);
  });

  it('turns a 3-level taxonomy into rules for one level', () => {
    const rules = rulesFromTaxonomy([
      { level1: '环境保护', level2: '环境污染', level3: '噪音污染' },
      { level1: '环境保护', level2: '环境污染', level3: '其他' },
      { level1: '交通运输', level2: '出租车管理', level3: '网约车问题' },
    ]);
    const env = rules.filter((r) => r.label === '环境保护').flatMap((r) => r.keywords);
    expect(env).toEqual(expect.arrayContaining(['环境保护', '环境污染', '噪音污染', '噪音']));
    expect(env).not.toContain('其他');
  });
});

describe('the model', () => {
  it('is reproducible: training twice gives identical JSON, and a stored model gives identical scores', () => {
    const a = train();
    const b = train();
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    const c = CategoryClassifier.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(JSON.stringify(c.toJSON())).toBe(JSON.stringify(a.toJSON()));
    const t = { title: '工厂偷排废水', text: '河里全是污水，臭气熏天' };
    expect(c.predict(t)).toEqual(a.predict(t));
    expect([...c.probabilities(t)]).toEqual([...a.probabilities(t)]);
  });

  it('does not depend on the order of training examples apart from calibration folds', () => {
    const a = CategoryClassifier.train(TRAIN, { calibrate: false }).toJSON();
    const b = CategoryClassifier.train([...TRAIN].reverse(), { calibrate: false }).toJSON();
    // Same counts and vocabulary; only the order in which labels were first seen differs.
    expect(a.features.length).toBe(b.features.length);
    expect(Object.fromEntries(a.labels.map((l) => [l.label, l.docs]))).toEqual(Object.fromEntries(b.labels.map((l) => [l.label, l.docs])));
  });

  it('refuses a malformed stored model', () => {
    expect(() => CategoryClassifier.fromJSON({ format: 'other' })).toThrow(AppError);
  });

  it('puts the right label first, with probabilities summing to 1 and the words behind it', () => {
    const model = train();
    const cases: [string, string][] = [
      ['小区附近工厂排放废气，空气污染很严重', '环境保护'],
      ['公交车班次太少，希望增加线路', '交通运输'],
      ['学校乱收费，要求教育局查处', '教育文体'],
      ['老板拖欠工资三个月不发', '劳动和社会保障'],
    ];
    for (const [text, label] of cases) {
      const p = model.predict(text);
      expect(p.suggestions.map((s) => s.label).slice(0, 3)).toContain(label);
      expect(p.suggestions[0].label).toBe(label);
      expect(p.suggestions[0].words.length).toBeGreaterThan(0);
    }
    const probs = [...model.probabilities('工厂排放废气').values()];
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    const top = model.predict('工厂排放废气，污染空气').suggestions;
    expect(top.reduce((a, s) => a + s.score, 0)).toBeLessThanOrEqual(1 + 1e-12);
    expect(top[0].words.map((w) => w.word).join()).toMatch(/废气|排放|污染/);
  });

  it('claims no certainty for empty, short or garbage text', () => {
    const model = train();
    for (const t of ['', '   ', '？？？', '1234567890', '好的', { title: '', text: '' }]) {
      const p = model.predict(t);
      expect(p).toEqual({ suggestions: [], confident: false, reason: 'text too short' });
    }
    for (const t of ['asdfgh qwerty zxcvb', '鑫犇骉麤猋', '☺☺☺☺ 啊啊啊啊啊啊 哈哈哈哈']) {
      const p = model.predict(t);
      expect(p.confident).toBe(false);
      expect(p.suggestions.every((s) => s.score < 0.5)).toBe(true);
    }
    expect(model.predict('asdfgh qwerty zxcvb')).toEqual({ suggestions: [], confident: false, reason: 'no known words' });
  });

  it('learns online: a correction moves the prediction without retraining, and new labels join', () => {
    const model = train();
    const text = '小区物业乱收停车费，业委会不管';
    const before = model.probabilities(text).get('交通运输')!;
    model.learn(text, '交通运输');
    const after = model.probabilities(text).get('交通运输')!;
    expect(after).toBeGreaterThan(before);
    for (let i = 0; i < 3; i++) model.learn({ title: '物业收费', text }, '城乡建设');
    expect(model.labelSet).toContain('城乡建设');
    expect(model.predict(text).suggestions[0].label).toBe('城乡建设');
    // The learned state survives serialisation.
    const copy = CategoryClassifier.fromJSON(model.toJSON());
    expect(copy.predict(text).suggestions[0].label).toBe('城乡建设');
    expect(() => model.learn(text, ' ')).toThrow(AppError);
  });

  it('suggests from keyword rules alone when there is no history, and uses rules beside the model', () => {
    const rules = [
      { label: 'noise', keywords: ['噪音', '噪声', '扰民'] },
      { label: 'garbage', keywords: ['垃圾', '垃圾桶'] },
    ];
    const cold = CategoryClassifier.train([], { rules });
    expect(cold.predict('楼下广场舞噪音扰民').suggestions[0].label).toBe('noise');
    expect(cold.predict('路边垃圾没人清理').suggestions[0].label).toBe('garbage');
    const warm = CategoryClassifier.train(TRAIN, { rules: [{ label: '环境保护', keywords: ['油烟'] }] });
    const p = warm.predict('楼下饭店油烟很大');
    expect(p.suggestions[0].label).toBe('环境保护');
    expect(p.suggestions[0].keywords).toContain('油烟');
  });
});

describe('evaluation', () => {
  it('computes the metrics of a hand-made case', () => {
    const actual = ['a', 'a', 'a', 'b', 'b', 'c'];
    const ranked = [['a', 'b'], ['a'], ['b', 'c', 'a'], ['b'], ['a', 'c', 'b'], []];
    const r = scoreRankings(actual, ranked, 0.5);
    expect(r.n).toBe(6);
    expect(r.accuracy).toBe(0.5); // a, a, b right
    expect(r.top3).toBe(Number((5 / 6).toFixed(4))); // all but the empty one
    // a: tp 2, predicted 3 (a,a,a from b), support 3 → p 2/3, r 2/3, f1 2/3
    expect(r.perLabel.a).toEqual({ precision: 0.6667, recall: 0.6667, f1: 0.6667, support: 3 });
    // b: tp 1, predicted 2 (b from a, b) → p 1/2, r 1/2
    expect(r.perLabel.b).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
    // c: never predicted → 0
    expect(r.perLabel.c).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(r.macroF1).toBe(Number(((2 / 3 + 0.5 + 0) / 3).toFixed(4)));
    expect(r.confusion).toEqual({ a: { a: 2, b: 1 }, b: { a: 1, b: 1 }, c: { [NO_SUGGESTION]: 1 } });
    expect(r.msPerItem).toBe(0.5);
  });

  it('makes stratified, seeded folds', () => {
    const labels = [...'aaaaaaaaaabbbbbcc'];
    const f = stratifiedFolds(labels, 5, 42);
    expect(stratifiedFolds(labels, 5, 42)).toEqual(f);
    expect(stratifiedFolds(labels, 5, 43)).not.toEqual(f);
    const sizes = [0, 1, 2, 3, 4].map((k) => f.filter((x) => x === k).length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    for (let k = 0; k < 5; k++) expect(labels.filter((l, i) => l === 'a' && f[i] === k).length).toBe(2);
    expect(() => stratifiedFolds(labels, 1, 1)).toThrow(AppError);
    const r = seededRandom(1);
    expect([r(), r()]).toEqual([seededRandom(1)(), (() => { const s = seededRandom(1); s(); return s(); })()]);
  });

  it('evaluates a split and cross-validates reproducibly', () => {
    const e = evaluate({ train: TRAIN.filter((_, i) => i % 3), test: TRAIN.filter((_, i) => !(i % 3)) });
    expect(e.n).toBe(8);
    expect(e.accuracy).toBeGreaterThan(0.5);
    const a = crossValidateExamples(TRAIN, { k: 3, seed: 5 });
    const b = crossValidateExamples(TRAIN, { k: 3, seed: 5 });
    expect({ ...a, msPerItem: 0 }).toEqual({ ...b, msPerItem: 0 });
    expect(a.folds).toHaveLength(3);
    expect(a.n).toBe(TRAIN.length);
  });
});

describe('labelled CSV', () => {
  it('reads a BOM, CRLF, quoted multi-line text and skips unlabelled rows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'classifier-'));
    const file = join(dir, 'x.csv');
    writeFileSync(file, '\uFEFFid,title,text,label\r\n1,标题,"第一行_x000D_\r\n第二行, 有逗号",环境保护\r\n2,无标签,正文,\r\n');
    expect(readLabelledCsv(file)).toEqual([{ id: '1', title: '标题', text: '第一行_x000D_\r\n第二行, 有逗号', label: '环境保护' }]);
    writeFileSync(file, 'id,title,label\r\n1,t,x\r\n');
    expect(() => readLabelledCsv(file)).toThrow(/missing column/);
    expect(() => readLabelledCsv(join(dir, 'none.csv'))).toThrow(AppError);
  });
});
