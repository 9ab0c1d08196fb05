/**
 * Category classifier (工单智能分类) speed: a full `predict` (normalise, jieba, bigrams, keyword rules, model,
 * softmax, the words behind the top 3) per ticket, against the least any bag-of-words classifier must do:
 * one bare Map read per token of the ticket. On the real Teddy messages when ../shared/data is present
 * (trained on them with the taxonomy's rules), otherwise on a small built-in set.
 */
import { performance } from 'node:perf_hooks';
import {
  CategoryClassifier, cliTrainOptions, extractFeatures, readLabelledCsv, sharedDataFile, type TicketText, type TrainingExample,
} from '../routing/classifier';
import { fmt, percentile, type BenchResult } from './harness';

const BUILT_IN: TrainingExample[] = [
  { label: '环境保护', title: '化工厂夜间排放废气', text: '小区旁边的化工厂每天晚上排放刺鼻废气，空气污染严重，居民无法开窗，多次反映没有结果。' },
  { label: '环境保护', title: '工地噪音扰民', text: '附近工地深夜施工噪音很大，严重影响休息，噪声超标，请环保部门查处。' },
  { label: '交通运输', title: '公交线路调整建议', text: '希望增加公交线路，公交车班次太少，等车要一个小时，上下班出行很不方便。' },
  { label: '交通运输', title: '出租车拒载绕路', text: '出租车司机拒载，还故意绕路多收费，请运管部门处理，规范出租车市场。' },
  { label: '教育文体', title: '学校乱收费', text: '孩子所在学校收取补课费和资料费，教育收费不规范，请教育局调查处理。' },
  { label: '教育文体', title: '幼儿园入学难', text: '小区配套幼儿园迟迟不开园，孩子入学难，学位不够，家长很着急。' },
  { label: '劳动和社会保障', title: '公司拖欠工资', text: '公司拖欠我们农民工三个月工资，老板跑路，要求劳动监察部门处理。' },
  { label: '劳动和社会保障', title: '社保断缴', text: '单位没有给员工缴纳社保，养老保险断缴，医疗保险也没交，怎么维权。' },
];

/** Times `n` predictions (cycling through the tickets) against `n` tickets' worth of bare Map reads. */
export function benchClassifier(n = 2000): BenchResult & { msPerItem: number; itemsPerSec: number; baselineMapReadsPerSec: number; ratio: number } {
  const file = sharedDataFile('messages', 'teddy2020-labeled-dev-245.csv');
  const labelled = file ? readLabelledCsv(file) : null;
  const examples: TrainingExample[] = labelled ?? BUILT_IN;
  // IDF from unlabelled text changes no timing worth the seconds it takes to count: left out here.
  const options = labelled ? cliTrainOptions(labelled, { unlabelled: false }).options : {};
  const model = CategoryClassifier.train(examples, options);
  const tickets: TicketText[] = examples.map((e) => ({ title: e.title, text: e.text }));

  // Warm-up: JIT, jieba's dictionary.
  for (let i = 0; i < Math.min(200, n); i++) model.predict(tickets[i % tickets.length]);

  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    model.predict(tickets[i % tickets.length]);
    times.push(performance.now() - s);
  }
  const classifierMs = performance.now() - t0;

  // Baseline: the tokens of each ticket (already extracted) looked up in a Map of the model's vocabulary.
  const vocabulary = new Map(model.toJSON().features.map((row, i) => [row[0], i] as const));
  const tokens = tickets.map((t) => [...extractFeatures(t, model.options.features).keys()]);
  let reads = 0;
  let sink = 0;
  for (let i = 0; i < Math.min(200, n); i++) for (const k of tokens[i % tokens.length]) sink += vocabulary.get(k) ?? 0;
  const b0 = performance.now();
  for (let i = 0; i < n; i++) {
    for (const k of tokens[i % tokens.length]) {
      sink += vocabulary.get(k) ?? 0;
      reads++;
    }
  }
  const baselineMs = performance.now() - b0;
  if (sink === -1) process.stdout.write('');

  times.sort((a, b) => a - b);
  return {
    name: `routing.classifier predict top-3 vs bare Map reads of its tokens (${file ? 'Teddy 245' : 'built-in'} tickets)`,
    items: n,
    msPerItem: fmt(classifierMs / n, 3),
    p95Ms: fmt(percentile(times, 95), 3),
    itemsPerSec: fmt((n / classifierMs) * 1000, 0),
    tokensPerItem: fmt(reads / n, 0),
    baselineMapReadsPerSec: fmt((reads / baselineMs) * 1000, 0),
    // How many times longer a prediction takes than reading its tokens from a Map.
    ratio: fmt(classifierMs / baselineMs, 1),
  };
}
