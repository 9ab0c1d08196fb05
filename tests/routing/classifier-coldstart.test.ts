/**
 * The classifier's cold start on the demo city's category tree (cities/demo/categories.csv, 1,107 nodes):
 * no history, only the tree's names and keywords. It must rank the leaf a caller describes first and
 * say so with a probability that means something (the routing plan takes a category from free text only
 * when `confident` and the top score ≥ CLASSIFIER_CONFIDENCE_FLOOR), while ambiguous, generic and
 * garbage text stays unconfident; and the agents' confirmations must take over as they accumulate.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { performance } from 'node:perf_hooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { CategoryClassifier, KeywordMatcher, rulesFromCategories, type CategoryNodeLike, type KeywordRule, type Prediction } from '../../routing/classifier';
import { CLASSIFIER_CONFIDENCE_FLOOR } from '../../routing/dispatch/routing.service';

const CSV = fileURLToPath(new URL('../../cities/demo/categories.csv', import.meta.url));

function demoTree(): (CategoryNodeLike & { level: number })[] {
  const rows = parse(readFileSync(CSV, 'utf8'), { columns: true, bom: true, skip_empty_lines: true }) as Record<string, string>[];
  return rows.map((r) => ({
    id: r.code, code: r.code, name: r.name, level: Number(r.level), parentId: r.parent_code || null, keywords: r.keywords ? r.keywords.split('|') : [],
  }));
}

/** What callers say, and the leaf it belongs to (codes from cities/demo/categories.csv). */
const CLEAR: [string, string][] = [
  ['白龙南路88号楼下水管爆了，路面全是水', '01021603'], // 供水管道爆裂: 水管爆了 beats 路面
  ['小区门口路面冒水，好像是管子破了', '01021603'],
  ['楼道里有煤气味，很担心', '01021301'], // 燃气泄漏
  ['家里暖气不热，屋里才十几度', '01020801'], // 暖气不热
  ['电梯困人了，有老人被困在里面，快来人', '01100303'], // 电梯困人
  ['公司拖欠工资三个月了，老板不露面', '15030601'], // 拖欠工资
  ['社保卡丢了怎么补办', '15020101'], // 社会保险咨询
  ['我们楼下的井盖丢了，晚上很危险', '01021102'], // 井盖缺失破损, not one of the forty 井盖 components
  ['邻居在楼顶加盖了一层，属于违建', '01030201'], // 私搭乱建
  ['小区里广场舞噪音扰民，每天晚上到十点', '04020302'], // 社会生活噪声
  ['我家突然停电了，整栋楼都没电', '01021501'], // 停电
  ['家里一直没水，已经两天了', '01021601'], // 突发停水
  ['自来水发黄还有异味，水浑浊', '01021604'], // 水质异常
  ['出租车司机拒载还绕路', '06010501'], // 出租车拒载绕路
  ['工地夜间施工噪音太大，睡不着', '04020301'], // 建筑施工噪声
  ['物业乱收费，物业服务差', '01100301'], // 物业服务投诉
  ['孩子学校乱收补课费和资料费', '14030301'], // 学校乱收费
  ['医院挂号难，看病难', '12060101'], // 医疗服务投诉
  ['身份证过期了怎么补办身份证', '13040501'], // 身份证办理咨询
  ['新生儿落户需要什么材料', '13040101'], // 户籍办理咨询
  ['在饭店吃饭食物中毒了', '12040101'], // 食品安全投诉
  ['景区宰客，导游强制购物', '11010301'], // 旅游投诉
  ['垃圾没人收，垃圾桶溢出来了', '01021401'], // 生活垃圾未及时清运
  ['门口有人摆摊占道经营', '01020201'], // 占道经营 (城管执法), before the GB/T 占道经营 matter
  ['下水道堵了，污水外溢', '01021103'], // 下水道堵塞
  ['路面塌陷了一个大坑', '01021101'], // 路面破损
  ['电梯坏了好几天没人修', '01100302'], // 电梯故障
  ['家里停气了，燃气灶打不着火', '01021302'], // 燃气停供
  ['小区电线垂落，很危险', '01021502'], // 电力线路隐患
  ['暖气片漏水，地上全是水', '01020802'], // 供热管道漏水
];

/** Texts two leaves of the tree claim alike: both are suggested, neither with confidence. */
const AMBIGUOUS: [string, string[]][] = [
  ['路灯不亮好几天了，晚上走路很危险', ['01020401', 'S01037-01']], // 路灯不亮 (市政) and 路灯损坏 (数字城管), both hear 路灯不亮
  ['楼顶私搭乱建', ['01030201', 'S06001']], // two leaves named 私搭乱建 (城乡规划 and the GB/T matter)
  ['家里暖气有问题', ['01020801', '01020802']], // 暖气 is their parent's keyword
];

/** Only generic words of the tree: a suggestion, no certainty. */
const GENERIC = ['小区里的事情没人管', '噪音太大了，睡不着', '这里很危险', '工资的事情怎么办', '井盖松动了'];

/** Nothing to go on. */
const NOTHING = ['', '   ', '好的', 'asdfgh qwerty zxcvb', '鑫犇骉麤猋', '我想反映一个问题，希望有关部门处理一下'];

let nodes: ReturnType<typeof demoTree>;
let rules: KeywordRule[];
let cold: () => CategoryClassifier;
beforeAll(() => {
  nodes = demoTree();
  rules = rulesFromCategories(nodes);
  cold = () => CategoryClassifier.train([], { rules });
});

const labels = (p: Prediction) => p.suggestions.map((s) => s.label);

describe('cold start on the demo category tree', () => {
  it('reads the demo tree: 1,107 nodes, rules for its leaves', () => {
    expect(nodes).toHaveLength(1107);
    const leaves = new Set(rules.map((r) => r.label));
    for (const [, code] of CLEAR) expect(leaves.has(code), code).toBe(true);
  });

  it('puts the leaf a caller describes first, confidently, and above the routing floor', () => {
    const model = cold();
    for (const [text, code] of CLEAR) {
      const p = model.predict(text);
      expect(labels(p)[0], `${text}: ${JSON.stringify(p.suggestions.map((s) => [s.label, s.score.toFixed(3), s.keywords]))}`).toBe(code);
      expect(p.confident, text).toBe(true);
      expect(p.reason).toBeUndefined();
      const [top, second] = p.suggestions;
      expect(top.score).toBeGreaterThanOrEqual(0.6);
      expect(top.score).toBeGreaterThanOrEqual(CLASSIFIER_CONFIDENCE_FLOOR);
      if (second) expect(top.score).toBeGreaterThanOrEqual(2 * second.score);
      expect(top.keywords.length, text).toBeGreaterThan(0);
    }
  });

  it('weighs a long keyword few leaves hear above a short one many hear, and takes the longest match', () => {
    const m = new KeywordMatcher(rules);
    // 水管爆了: one leaf, four characters; 路面: a few leaves, two characters; 井盖: forty leaves.
    expect(m.specificity('水管爆了')).toBeCloseTo(3, 10);
    expect(m.specificity('路面')).toBeLessThan(1);
    expect(m.specificity('井盖')).toBeLessThan(0.6);
    expect(m.specificity('井盖丢了')).toBeGreaterThan(5 * m.specificity('井盖'));

    const model = cold();
    const p = model.predict('白龙南路88号楼下水管爆了，路面全是水');
    const road = p.suggestions.find((s) => s.label === '01021101'); // 路面破损, by 路面
    expect(road?.keywords).toEqual(['路面']);
    expect(p.suggestions[0].score).toBeGreaterThan(10 * road!.score);
    // 井盖丢了 hides the 井盖 inside it: none of the forty 井盖 components is suggested.
    const lid = model.predict('我们楼下的井盖丢了');
    expect(lid.suggestions[0].keywords).toEqual(['井盖丢了']);
    expect(lid.suggestions.some((s) => /^[BS]01/.test(s.label))).toBe(false);
    // 水管爆了 is one match, not also 水管: the hits of the top leaf are whole phrases.
    expect(p.suggestions[0].keywords).toEqual(['水管爆了']);
  });

  it('suggests both leaves of an ambiguous text in the top 3, without confidence', () => {
    const model = cold();
    for (const [text, codes] of AMBIGUOUS) {
      const p = model.predict(text);
      for (const c of codes) expect(labels(p).slice(0, 3), text).toContain(c);
      expect(p.confident, text).toBe(false);
      expect(p.reason).toBe('low score');
      expect(p.suggestions[0].score).toBeLessThan(0.6);
    }
  });

  it('claims no certainty for generic words, and gives nothing for garbage or empty text', () => {
    const model = cold();
    for (const text of GENERIC) {
      const p = model.predict(text);
      expect(p.suggestions.length, text).toBeGreaterThan(0);
      expect(p.confident, text).toBe(false);
      expect(p.reason).toBe('low score');
      expect(p.suggestions.every((s) => s.score < 0.5), text).toBe(true);
    }
    for (const text of NOTHING) {
      const p = model.predict(text);
      expect(p.suggestions, text).toEqual([]);
      expect(p.confident).toBe(false);
      expect(['text too short', 'no known words']).toContain(p.reason);
    }
  });

  it('suggests only leaves the text speaks of; the probabilities of all leaves still sum to 1', () => {
    const model = cold();
    const p = model.predict('楼道里有煤气味，很担心');
    expect(labels(p)).toEqual(['01021301']);
    const all = [...model.probabilities('楼道里有煤气味，很担心').values()];
    expect(all.length).toBe(new Set(rules.map((r) => r.label)).size);
    expect(all.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
  });

  it('matches Latin and digit keywords as whole words only', () => {
    const m = new KeywordMatcher([
      { label: 'ktv', keywords: ['ktv噪音', 'ktv'] },
      { label: 'lamp', keywords: ['01037'] },
    ]);
    expect([...m.score('楼下ktv噪音').scores.keys()]).toEqual(['ktv']);
    expect(m.score('楼下ktv噪音').hits.get('ktv')!.map((h) => h.keyword)).toEqual(['ktv噪音']);
    expect(m.score('xktvy 很吵').scores.size).toBe(0);
    expect(m.score('部件01037损坏').scores.get('lamp')).toBeGreaterThan(0);
    expect(m.score('门牌号010375').scores.size).toBe(0);
  });

  it('is deterministic and survives toJSON/fromJSON, and reads a version 1 model', () => {
    const a = cold();
    const b = cold();
    const json = JSON.stringify(a.toJSON());
    expect(JSON.stringify(b.toJSON())).toBe(json);
    expect(a.toJSON().version).toBe(2);
    const c = CategoryClassifier.fromJSON(json);
    expect(JSON.stringify(c.toJSON())).toBe(json);
    for (const [text] of [...CLEAR, ...AMBIGUOUS]) expect(c.predict(text)).toEqual(a.predict(text));

    // Version 1 had none of the new options. Unfitted (rules with default constants): today's scoring.
    const v1 = JSON.parse(json);
    v1.version = 1;
    for (const k of ['ruleScoring', 'unseenLogit', 'coldMinConfidence', 'coldMinMargin', 'coldExamples']) delete v1.options[k];
    const old = CategoryClassifier.fromJSON(v1);
    expect(old.options).toMatchObject({ ruleScoring: 'specific', unseenLogit: 1 });
    expect(old.predict(CLEAR[0][0])).toEqual(a.predict(CLEAR[0][0]));
    // Fitted: its constants belong to the flat scoring and plain softmax it was fitted with.
    v1.calibration = { scale: 2, ruleWeight: 0.5, fitted: true, nll: 1 };
    expect(CategoryClassifier.fromJSON(v1).options).toMatchObject({ ruleScoring: 'flat', unseenLogit: null });
  });

  it('predicts well within 5 ms', () => {
    const model = cold();
    const texts = [...CLEAR, ...AMBIGUOUS].map(([t]) => t);
    for (const t of texts) model.predict(t);
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) for (const t of texts) model.predict(t);
    const ms = (performance.now() - t0) / (20 * texts.length);
    expect(ms).toBeLessThan(5);
  });
});

describe('from cold start to learned', () => {
  // Confirmations of two categories (complement NB compares categories), in words the tree does not have.
  const HONKING = [
    '东门外每天清晨大货车鸣笛，吵得睡不着', '凌晨货车一直按喇叭，吵死了', '大货车半夜鸣笛扰人清梦', '每天早上五点就有车鸣笛', '门口货车鸣笛声音特别大',
    '清晨有大车长时间鸣笛', '大车过路鸣喇叭，孩子被吵醒', '半夜总有货车按喇叭', '街上汽车鸣笛声吵得人睡不着', '天不亮货车就开始鸣笛',
  ];
  const SMOKE = [
    '隔壁工厂烟囱冒黑烟，呛得人咳嗽', '厂里烟囱天天冒黑烟', '附近工厂排的烟很呛人', '烟囱冒出的烟熏得人头疼', '工厂烟尘落满窗台',
    '黑烟从烟囱里一直冒', '空气里一股刺鼻的烟味', '工厂晚上偷偷排烟', '烟囱排出黄烟', '厂子排烟呛得喘不过气',
  ];
  const NOISE = '04020302'; // 社会生活噪声
  const AIR = '040206'; // 大气污染

  it('lets confirmed categories win over the rules as confirmations accumulate, claiming confidence only when earned', () => {
    const model = cold();
    for (const t of [...HONKING, ...SMOKE]) expect(model.predict(t).suggestions, t).toEqual([]);
    const probe = '清晨大货车鸣笛吵得睡不着';
    const weak = '小区门口大货车鸣笛，吵得睡不着'; // 小区: a generic keyword of four leaves
    expect(labels(model.predict(probe))).toEqual([]);
    expect(labels(model.predict(weak))[0]).not.toBe(NOISE);

    const scores: number[] = [];
    for (let i = 0; i < 10; i++) {
      model.learn(HONKING[i], NOISE);
      model.learn(SMOKE[i], AIR);
      const p = model.predict(probe);
      expect(p.suggestions[0].label).toBe(NOISE);
      scores.push(p.suggestions[0].score);
      // One or two confirmations are no certainty.
      if (i < 2) expect(p.confident).toBe(false);
    }
    // The model's share grows with every confirmation.
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeGreaterThan(scores[i - 1]);
    expect(model.predict(weak).suggestions[0].label).toBe(NOISE);
    expect(model.predict('工厂烟囱一直冒黑烟').suggestions[0].label).toBe(AIR);
    // What the rules know clearly stays known.
    const gas = model.predict('楼道里有煤气味，很担心');
    expect(gas.confident).toBe(true);
    expect(gas.suggestions[0].label).toBe('01021301');

    // Ten more of each: the confirmed categories are now called confidently.
    for (let i = 0; i < 10; i++) {
      model.learn(`${HONKING[i]}（再次反映）`, NOISE);
      model.learn(`${SMOKE[i]}（再次反映）`, AIR);
    }
    const p = model.predict(probe);
    expect(p.confident).toBe(true);
    expect(p.suggestions[0].label).toBe(NOISE);
    // Learned state survives serialisation.
    expect(CategoryClassifier.fromJSON(JSON.parse(JSON.stringify(model.toJSON()))).predict(probe)).toEqual(p);
  });
});
