/**
 * The classifier's command-line functions, for `hotline classifier eval|train|cv`. They return plain JSON
 * objects; the caller prints them (one line each).
 *
 * Beside the labelled file they use, when present, two pieces of shared knowledge that carry no labels of
 * the test set: the Teddy 3-level taxonomy (keyword rules for the labels of the training file) and the
 * unlabelled Teddy messages (IDF statistics). Pass `taxonomy: false` / `unlabelled: false` to do without.
 */
import { writeFileSync } from 'node:fs';
import { readLabelledCsv, readTaxonomyCsv, readUnlabelledCsv, sharedDataFile, type LabelledExample } from './csv';
import { crossValidateExamples, evaluate, type CrossValidationReport, type EvaluationReport } from './evaluate';
import { rulesFromTaxonomy, type KeywordRule } from './keyword-rules';
import { CategoryClassifier, documentFrequencies, type Calibration, type ClassifierJSON, type TrainOptions } from './model';
import { DEFAULT_FEATURE_OPTIONS } from './tokenize';

export interface ClassifierCliOptions {
  /** Taxonomy CSV for keyword rules; default: the shared Teddy taxonomy if present; false: no rules. */
  taxonomy?: string | false;
  /** Unlabelled message CSVs for IDF; default: the shared Teddy message files if present; false: none. */
  unlabelled?: string[] | false;
  /** Seed of the calibration folds (and of the CV folds in `crossValidate`). */
  seed?: number;
}

/** What a command used besides the labelled file, for the record. */
export interface CliSources {
  taxonomy: string | null;
  unlabelled: string[];
  ruleLabels: number;
  unlabelledDocs: number;
}

const TAXONOMY = ['taxonomy', 'teddy2020-3level.csv'];
const UNLABELLED = [
  ['messages', 'teddy2020-messages-4326.csv'],
  ['messages', 'teddy2020-messages-with-replies-2816.csv'],
];

/**
 * Training options for labelled examples: rules only for the labels that occur in them (the Teddy files
 * label 7 of the taxonomy's 15 first-level categories; rules for the 8 others would only add wrong
 * choices), IDF counted on the unlabelled messages once.
 */
export function cliTrainOptions(examples: LabelledExample[], opts: ClassifierCliOptions = {}): { options: TrainOptions; sources: CliSources } {
  const labels = new Set(examples.map((e) => e.label));
  const taxonomyFile = opts.taxonomy === false ? null : (opts.taxonomy ?? sharedDataFile(...TAXONOMY));
  const rules: KeywordRule[] = taxonomyFile ? rulesFromTaxonomy(readTaxonomyCsv(taxonomyFile), 1).filter((r) => labels.has(r.label)) : [];
  const unlabelledFiles =
    opts.unlabelled === false ? [] : (opts.unlabelled ?? UNLABELLED.map((p) => sharedDataFile(...p)).filter((f): f is string => !!f));
  const texts = unlabelledFiles.flatMap((f) => readUnlabelledCsv(f));
  const unlabelled = texts.length ? documentFrequencies(texts, DEFAULT_FEATURE_OPTIONS) : undefined;
  return {
    options: { rules, unlabelled, seed: opts.seed ?? 1 },
    sources: { taxonomy: taxonomyFile, unlabelled: unlabelledFiles, ruleLabels: new Set(rules.map((r) => r.label)).size, unlabelledDocs: texts.length },
  };
}

/** The one-line summary `hotline classifier eval` prints. */
export type ClassifierEvalOutput = Pick<EvaluationReport, 'n' | 'accuracy' | 'macroF1' | 'top3' | 'msPerItem' | 'perLabel'>;

/** `hotline classifier eval --train FILE --test FILE`: trains on one labelled CSV, measures on the other. */
export function classifierEvalCommand(trainFile: string, testFile: string, opts: ClassifierCliOptions = {}): ClassifierEvalOutput {
  const train = readLabelledCsv(trainFile);
  const test = readLabelledCsv(testFile);
  const { options } = cliTrainOptions(train, opts);
  const r = evaluate({ train, test, options });
  return { n: r.n, accuracy: r.accuracy, macroF1: r.macroF1, top3: r.top3, msPerItem: r.msPerItem, perLabel: r.perLabel };
}

export interface ClassifierTrainOutput {
  n: number;
  /** Examples per label. */
  labels: Record<string, number>;
  features: number;
  calibration: Calibration;
  sources: CliSources;
  /** The model to store (`CategoryClassifier.fromJSON` reads it back); absent when written to `out`. */
  model?: ClassifierJSON;
  modelFile?: string;
}

/**
 * `hotline classifier train --data FILE`: trains on all of a labelled CSV. Returns the model JSON, or with
 * `out` writes it there and returns the summary only (the model is a few hundred kB).
 */
export function classifierTrainCommand(dataFile: string, opts: ClassifierCliOptions & { out?: string } = {}): ClassifierTrainOutput {
  const examples = readLabelledCsv(dataFile);
  const { options, sources } = cliTrainOptions(examples, opts);
  const model = CategoryClassifier.train(examples, options);
  const labels: Record<string, number> = {};
  for (const e of [...examples].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))) labels[e.label] = (labels[e.label] ?? 0) + 1;
  const json = model.toJSON();
  const out: ClassifierTrainOutput = { n: examples.length, labels, features: model.stats().features, calibration: model.calibration, sources };
  if (opts.out) {
    writeFileSync(opts.out, JSON.stringify(json));
    out.modelFile = opts.out;
  } else out.model = json;
  return out;
}

/** `hotline classifier cv --data FILE --k 5 --seed 1`: stratified, seeded k-fold cross-validation. */
export function crossValidate(file: string, k = 5, seed = 1, opts: ClassifierCliOptions = {}): CrossValidationReport {
  const examples = readLabelledCsv(file);
  const { options } = cliTrainOptions(examples, { ...opts, seed: opts.seed ?? seed });
  return crossValidateExamples(examples, { k, seed, options });
}
