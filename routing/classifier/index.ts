/**
 * Category classifier (工单智能分类) of the routing part: suggests the top-3 leaf categories of a ticket
 * from its text (通话记录 transcript, 诉求情况 situation, 诉求 demand, 标题 title), with probabilities and
 * the words that drove them, in well under a millisecond per ticket.
 *
 * A complement naive Bayes model over jieba words and character bigrams, plus keyword rules from the
 * category tree, combined in a calibrated softmax. Trained from labelled history, updated online when an
 * agent confirms or corrects a category (`learn`), persisted as JSON (`toJSON`/`fromJSON`), reproducible
 * (same data, same seed → same model, same scores).
 *
 * ```ts
 * const rules = rulesFromCategories(await listCategories(db, cityId)); // labels: leaf category codes
 * const model = CategoryClassifier.train(history, { rules });
 * const { suggestions, confident, reason } = model.predict({ title, situation, demand });
 * model.learn({ title, situation, demand }, confirmedCategoryId);
 * await store(JSON.stringify(model.toJSON()));
 * ```
 */

export {
  /** The classifier: `train`, `predict`, `learn`, `probabilities`, `toJSON`, `fromJSON`. */
  CategoryClassifier,
  /** Defaults of the model's options (smoothing, evidence, thresholds, calibration folds, seed). */
  DEFAULT_CLASSIFIER_OPTIONS,
  /** Document frequencies of a corpus (unlabelled text helps IDF); pass as `unlabelled` to `train`. */
  documentFrequencies,
  /** The seeded PRNG (mulberry32) the classifier uses: no `Math.random` anywhere. */
  seededRandom,
  /** Stratified, seeded fold numbers. */
  stratifiedFolds,
} from './model';
export type {
  Calibration, ClassifierJSON, ClassifierOptions, DocumentFrequencies, DrivingWord, LowConfidenceReason, Prediction, Suggestion,
  TrainOptions, TrainingExample,
} from './model';

export {
  /** Evaluates a train/test split: accuracy, macro-F1, top-3, ms per item, per-label metrics, confusion. */
  evaluate,
  /** Stratified, seeded k-fold cross-validation over labelled examples, pooled metrics plus per fold. */
  crossValidateExamples,
  /** Metrics of given ranked predictions (no model involved). */
  scoreRankings,
  /** The predicted label recorded when the classifier declined to suggest. */
  NO_SUGGESTION,
} from './evaluate';
export type { CrossValidationReport, EvaluationReport, LabelMetrics } from './evaluate';

export {
  /** Keyword rules for the leaf categories of a category tree (own name and keywords, ancestors' at less weight). */
  rulesFromCategories,
  /** Keyword rules for one level of a 3-level taxonomy, from the names of the levels below. */
  rulesFromTaxonomy,
  /** Keywords a category name yields (the name and its words, minus generic ones). */
  keywordsFromName,
  /** Finds rule keywords in ticket text; the classifier uses it, the console may show its hits. */
  KeywordMatcher,
} from './keyword-rules';
export type { CategoryNodeLike, KeywordHit, KeywordMatcherOptions, KeywordRule, KeywordScores, KeywordScoring } from './keyword-rules';

export {
  /** The shared jieba segmenter (lazy). The address parser tokenises with the same instance. */
  segmenter,
  /** Adds a custom dictionary (place names, roads, communities) to the shared segmenter via jieba `loadDict`. */
  loadDictionary,
  /** NFKC, lower case, Excel escapes and anonymised place codes removed, white space collapsed. */
  normalizeText,
  /** jieba words without stopwords, numbers, codes and single characters. */
  words,
  /** CJK character n-grams, skipping those with a function character. */
  charNgrams,
  /** The classifier's features of a ticket (`w:` words, `c2:` bigrams, title weighted). */
  extractFeatures,
  /** Stopwords, courtesy phrases of letters to officials included. */
  STOPWORDS,
  DEFAULT_FEATURE_OPTIONS,
} from './tokenize';
export type { DictionaryEntry, FeatureOptions, TicketText } from './tokenize';

export {
  /** Labelled CSV (`id,title,text,label`; BOM, CRLF and multi-line quoted text handled). */
  readLabelledCsv,
  /** Unlabelled message CSV (Teddy 留言 files or `title,text`), for IDF. */
  readUnlabelledCsv,
  /** 3-level taxonomy CSV (一级分类,二级分类,三级分类). */
  readTaxonomyCsv,
  /** The shared data folder (`../shared/data`), or null when absent. */
  sharedDataDir,
  /** A file in the shared data folder, or null when absent. */
  sharedDataFile,
} from './csv';
export type { LabelledExample, TaxonomyRow } from './csv';

export {
  /** `hotline classifier eval --train FILE --test FILE` → one JSON object. */
  classifierEvalCommand,
  /** `hotline classifier train --data FILE` → summary and model JSON. */
  classifierTrainCommand,
  /** `hotline classifier cv --data FILE` → k-fold cross-validation report. */
  crossValidate,
  /** The training options the commands use for a labelled file (taxonomy rules for its labels, IDF from unlabelled messages). */
  cliTrainOptions,
} from './cli';
export type { ClassifierCliOptions, ClassifierEvalOutput, ClassifierTrainOutput, CliSources } from './cli';

/** The city's classifier: model per city, persisted, learning from agents' confirmations. */
export { createClassifierService, type ClassifierService, type ClassifierServiceDeps, type CitySuggestion } from './classifier.service';
