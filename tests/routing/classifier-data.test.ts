/**
 * The classifier on the real Teddy Cup messages in ../shared/data (not in the repository: no licence).
 * Skipped, with the reason in the suite name, when that folder is absent.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CategoryClassifier, classifierEvalCommand, classifierTrainCommand, cliTrainOptions, crossValidate, normalizeText, readLabelledCsv, sharedDataFile,
  words, type LabelledExample, type TrainOptions,
} from '../../routing/classifier';

const FILE = sharedDataFile('messages', 'teddy2020-labeled-dev-245.csv');
const suite = FILE ? 'the classifier on the 245 labelled Teddy messages' : 'SKIPPED: ../shared/data/messages/teddy2020-labeled-dev-245.csv is absent';
if (!FILE) console.warn(`[classifier-data] ${suite}`);

const LABELS = ['交通运输', '劳动和社会保障', '卫生计生', '商贸旅游', '城乡建设', '教育文体', '环境保护'];

describe.skipIf(!FILE)(suite, () => {
  let examples: LabelledExample[];
  let options: TrainOptions;
  let model: CategoryClassifier;

  beforeAll(() => {
    examples = readLabelledCsv(FILE!);
    options = cliTrainOptions(examples).options;
    model = CategoryClassifier.train(examples, options);
  }, 120_000);

  it('reads the real CSV: BOM, CRLF, quoted multi-line text, 7 labels', () => {
    expect(examples).toHaveLength(245);
    expect([...new Set(examples.map((e) => e.label))].sort()).toEqual(LABELS);
    expect(examples.every((e) => e.id && e.text.trim())).toBe(true);
    expect(examples.some((e) => e.text.includes('\n'))).toBe(true);
    const e = examples.find((x) => x.id === '10073')!;
    expect(e.title).toBe('A2区暮云街道的交通规划严重滞后');
    expect(e.label).toBe('交通运输');
  });

  it('tokenises real text: place names, digits and Excel escapes', () => {
    const e = examples.find((x) => x.id === '10073')!;
    const text = normalizeText(e.text);
    expect(text).not.toContain('_x000d_');
    const w = words(text);
    expect(w).toEqual(expect.arrayContaining(['暮云', '街道', '云塘', '社区', '公交线路', '红绿灯']));
    expect(w.some((x) => /^\d+$/.test(x))).toBe(false); // 2015年1月14日 leaves no number words
    expect(w).not.toContain('a2');
  });

  it('trains reproducibly on the real data', () => {
    const again = CategoryClassifier.train(examples, options);
    expect(JSON.stringify(again.toJSON())).toBe(JSON.stringify(model.toJSON()));
    expect(model.calibration.fitted).toBe(true);
  });

  it('ranks the right label in the top 3 for obvious tickets', () => {
    const cases: [string, string][] = [
      ['孩子就读的小学乱收补课费和资料费，请教育局查处', '教育文体'],
      ['医院看病收费太贵，医生乱开药', '卫生计生'],
      ['公司拖欠工资半年，也不交社保', '劳动和社会保障'],
      ['化工厂排放废气，空气污染严重', '环境保护'],
      ['公交车线路调整后站点太远，出行不方便', '交通运输'],
      ['小区物业不作为，楼顶违章建筑没人管', '城乡建设'],
      ['商场虚假促销，价格欺诈，销售假冒商品', '商贸旅游'],
    ];
    for (const [text, label] of cases) {
      const p = model.predict({ title: text, text });
      expect(p.suggestions.slice(0, 3).map((s) => s.label), text).toContain(label);
    }
  });

  it('5-fold cross-validation stays above its floor (measured 0.84 accuracy, 0.84 macro-F1, 0.97 top-3)', () => {
    const r = crossValidate(FILE!, 5, 1);
    expect(r.n).toBe(245);
    expect(r.accuracy).toBeGreaterThanOrEqual(0.78);
    expect(r.macroF1).toBeGreaterThanOrEqual(0.75);
    expect(r.top3).toBeGreaterThanOrEqual(0.93);
    expect(Object.keys(r.confusion).sort()).toEqual(LABELS);
    // Latency is measured, not asserted here (bench/routing-classifier.bench.ts times it).
    expect(r.msPerItem).toBeGreaterThan(0);
  }, 180_000);

  it('the CLI functions return the JSON the commands print, and the trained model file loads', () => {
    const ev = classifierEvalCommand(FILE!, FILE!, { unlabelled: false });
    expect(Object.keys(ev)).toEqual(['n', 'accuracy', 'macroF1', 'top3', 'msPerItem', 'perLabel']);
    expect(ev.n).toBe(245);
    expect(Object.keys(ev.perLabel).sort()).toEqual(LABELS);
    const out = join(mkdtempSync(join(tmpdir(), 'classifier-')), 'model.json');
    const tr = classifierTrainCommand(FILE!, { unlabelled: false, out });
    expect(tr).toMatchObject({ n: 245, modelFile: out, sources: { ruleLabels: 7, unlabelledDocs: 0 } });
    expect(tr.model).toBeUndefined();
    const loaded = CategoryClassifier.fromJSON(readFileSync(out, 'utf8'));
    expect(loaded.labelSet.sort()).toEqual(LABELS);
    expect(loaded.predict('化工厂排放废气，空气污染严重').suggestions[0].label).toBe('环境保护');
  }, 120_000);
});
