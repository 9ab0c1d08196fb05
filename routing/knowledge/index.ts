/**
 * The knowledge base (知识库) behind answers on the spot (即办): articles written by the center or a
 * unit, reviewed by a second person, published for a validity period; BM25 search over jieba words;
 * the best answer with a confidence flag for the dispatch rule; and which answer was given on which ticket.
 */
export {
  /**
   * Builds the service. Writes (audited): create, update (a published article gets a new revision),
   * submit, approve / reject / review (not the author), archive, remove (never-published drafts),
   * recordUse. Reads: getArticle, revisionsOf, listArticles, search, bestAnswer, usagesOf,
   * usagesOfTicket; invalidate(cityId) after a preset import.
   */
  createKnowledgeService,
  DEFAULT_CONFIDENCE,
  type KnowledgeService,
  type KnowledgeDeps,
  type KnowledgeCategory,
  type ConfidenceRule,
  type KnowledgeArticle,
  type KnowledgeRevision,
  type ArticleInput,
  type NewArticle,
  type ArticlePatch,
  type ArticleListQuery,
  type SearchHit,
  type BestAnswer,
  type KnowledgeUsage,
} from './knowledge.service';
/** A preset's knowledge.json in the caller's transaction, published at once, idempotent by code. */
export {
  importKnowledgeIn,
  parseKnowledgeJson,
  type KnowledgeProblem,
  type KnowledgeLookups,
  type PresetArticle,
  type PresetKnowledgeInput,
  type PresetKnowledgeResult,
} from './knowledge.import';
/** The fastify plugin of /knowledge; options `{ knowledge }`. */
export { knowledgeRoutes, type KnowledgeRoutesOptions } from './knowledge.routes';
/** Statuses, roles and content rules of articles. */
export {
  ArticleStatus, RevisionStatus, RevisionStatusLabelZh, CENTER_WRITER_ROLES, UNIT_WRITER_ROLES, REVIEWER_ROLES, CONTENT_LIMITS, isValidAt,
  type ArticleContent,
} from './domain/articles';
/** The search primitives (an in-memory BM25 index, jieba search tokens), for reuse. */
export { Bm25Index, type Bm25Hit, type QueryTerm } from './domain/bm25';
export { queryTerms, documentTerms, searchWords } from './domain/tokens';
