/**
 * Measuring the classifier: accuracy, macro-F1, top-3 hit rate, time per ticket, per-label precision and
 * recall, the confusion table, and stratified, seeded k-fold cross-validation.
 */
import { performance } from 'node:perf_hooks';
import { badRequest } from '../../core';
import { CategoryClassifier, documentFrequencies, isFrequencies, stratifiedFolds, type TrainOptions, type TrainingExample } from './model';
import { DEFAULT_FEATURE_OPTIONS } from './tokenize';

export interface LabelMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Test items whose actual label this is. */
  support: number;
}

export interface EvaluationReport {
  n: number;
  /** Share of items whose top suggestion is the actual label. */
  accuracy: number;
  /** Unweighted mean of the per-label F1 over every label that is actual or predicted at least once. */
  macroF1: number;
  /** Share of items whose actual label is among the first three suggestions. */
  top3: number;
  /** Prediction time per item (tokenising included), milliseconds. */
  msPerItem: number;
  perLabel: Record<string, LabelMetrics>;
  /** confusion[actual][predicted] = count; NO_SUGGESTION when the classifier declined. */
  confusion: Record<string, Record<string, number>>;
}

/** The predicted label of an item the classifier gave no suggestion for (text too short, no known words). */
export const NO_SUGGESTION = '(none)';

const r4 = (x: number) => Number(x.toFixed(4));
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Metrics of ranked predictions: `ranked[i]` is the suggestion list for item i (best first, may be empty).
 * Precision of a label never predicted is 0, as is recall of a label never actual; F1 is 0 when both are.
 */
export function scoreRankings(actual: string[], ranked: string[][], msPerItem = 0): EvaluationReport {
  if (actual.length !== ranked.length) throw badRequest('CLASSIFIER_EVAL_LENGTH', 'actual and predicted differ in length', '实际与预测数量不一致');
  const n = actual.length;
  let hit = 0;
  let hit3 = 0;
  const confusion: Record<string, Record<string, number>> = {};
  const labels = new Set<string>();
  actual.forEach((a, i) => {
    const top = ranked[i][0] ?? NO_SUGGESTION;
    labels.add(a);
    if (top !== NO_SUGGESTION) labels.add(top);
    if (top === a) hit++;
    if (ranked[i].slice(0, 3).includes(a)) hit3++;
    confusion[a] ??= {};
    confusion[a][top] = (confusion[a][top] ?? 0) + 1;
  });
  const perLabel: Record<string, LabelMetrics> = {};
  let f1Sum = 0;
  const sorted = [...labels].sort(byCodePoint);
  for (const l of sorted) {
    const tp = confusion[l]?.[l] ?? 0;
    const support = Object.values(confusion[l] ?? {}).reduce((a, b) => a + b, 0);
    let predicted = 0;
    for (const row of Object.values(confusion)) predicted += row[l] ?? 0;
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    f1Sum += f1;
    perLabel[l] = { precision: r4(precision), recall: r4(recall), f1: r4(f1), support };
  }
  const orderedConfusion: Record<string, Record<string, number>> = {};
  for (const a of Object.keys(confusion).sort(byCodePoint)) {
    orderedConfusion[a] = {};
    for (const p of Object.keys(confusion[a]).sort(byCodePoint)) orderedConfusion[a][p] = confusion[a][p];
  }
  return {
    n,
    accuracy: n ? r4(hit / n) : 0,
    macroF1: sorted.length ? r4(f1Sum / sorted.length) : 0,
    top3: n ? r4(hit3 / n) : 0,
    msPerItem: Number(msPerItem.toFixed(3)),
    perLabel,
    confusion: orderedConfusion,
  };
}

/** Ranked labels for each test item, and the time it took per item. */
function predictAll(model: CategoryClassifier, test: TrainingExample[]): { ranked: string[][]; ms: number } {
  const t0 = performance.now();
  const ranked = test.map((e) => model.predict(e, 3).suggestions.map((s) => s.label));
  return { ranked, ms: performance.now() - t0 };
}

/**
 * Trains on `train`, predicts `test`, scores the predictions. `options` are the training options (rules,
 * unlabelled text for IDF, smoothing…).
 */
export function evaluate(args: { train: TrainingExample[]; test: TrainingExample[]; options?: TrainOptions }): EvaluationReport {
  const model = CategoryClassifier.train(args.train, args.options);
  const { ranked, ms } = predictAll(model, args.test);
  return scoreRankings(args.test.map((e) => e.label), ranked, args.test.length ? ms / args.test.length : 0);
}

export interface CrossValidationReport extends EvaluationReport {
  k: number;
  seed: number;
  /** Accuracy, macro-F1 and top-3 of each fold; the pooled figures above are over all out-of-fold predictions. */
  folds: { n: number; accuracy: number; macroF1: number; top3: number }[];
}

/**
 * Stratified k-fold cross-validation: every example is predicted once by a model that never saw it; the
 * metrics are pooled over all of them. The same examples, k and seed give the same folds and figures
 * (timings aside). Unlabelled text, if given, is counted once and shared by the folds: it carries no labels.
 */
export function crossValidateExamples(examples: TrainingExample[], args: { k?: number; seed?: number; options?: TrainOptions } = {}): CrossValidationReport {
  const k = args.k ?? 5;
  const seed = args.seed ?? 1;
  const options: TrainOptions = { ...args.options };
  if (options.unlabelled && !(isFrequencies(options.unlabelled))) {
    options.unlabelled = documentFrequencies(options.unlabelled, options.features ?? DEFAULT_FEATURE_OPTIONS);
  }
  const folds = stratifiedFolds(examples.map((e) => e.label), k, seed);
  const ranked: string[][] = new Array(examples.length);
  const perFold: CrossValidationReport['folds'] = [];
  let ms = 0;
  for (let f = 0; f < k; f++) {
    const train = examples.filter((_, i) => folds[i] !== f);
    const testIdx = examples.map((_, i) => i).filter((i) => folds[i] === f);
    if (!testIdx.length) continue;
    const model = CategoryClassifier.train(train, options);
    const r = predictAll(model, testIdx.map((i) => examples[i]));
    ms += r.ms;
    testIdx.forEach((i, j) => (ranked[i] = r.ranked[j]));
    const m = scoreRankings(testIdx.map((i) => examples[i].label), r.ranked);
    perFold.push({ n: m.n, accuracy: m.accuracy, macroF1: m.macroF1, top3: m.top3 });
  }
  const pooled = scoreRankings(examples.map((e) => e.label), ranked, examples.length ? ms / examples.length : 0);
  return { ...pooled, k, seed, folds: perFold };
}
