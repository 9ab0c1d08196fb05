import type { Kysely } from 'kysely';
import type { DB, DialectName } from '../../db';
import { transactionWithRetry } from '../../db';
import { recordAudit } from '../../audit';
import {
  badRequest, CENTER_ROLES, conflict, dbTimeToIso, forbidden, fromDbTime, newId, notFound, systemClock, toDbTime, UNIT_ROLES, parseJsonColumn,
  type Actor, type Clock, type CommandContext,
} from '../../core';
import type { DirectoryService } from '../../directory';
import { KnowledgeRepository, type ArticleListFilter, type ArticleRow, type RevisionRow } from './knowledge.repository';
import {
  assertContent, assertMayReview, assertMayWrite, isValidAt, mayArchive, maySeeDrafts, ownerForNewArticle, sameContent,
  type ArticleContent, type ArticleStatus, type RevisionStatus,
} from './domain/articles';
import { Bm25Index } from './domain/bm25';
import { documentTerms, isPair, queryTerms, surfaceOf } from './domain/tokens';

/** A category as the knowledge base needs it (the routing `Category` fits). */
export interface KnowledgeCategory {
  id: string;
  code: string;
  parentId: string | null;
  active?: boolean;
}

export interface KnowledgeDeps {
  db: Kysely<DB>;
  dialect: DialectName;
  clock?: Clock;
  directory: Pick<DirectoryService, 'getUnit'>;
  /** The city's categories: article categories are checked against them, and a category filter covers its branch. */
  categories: (cityId: string) => Promise<KnowledgeCategory[]>;
  /**
   * How often a search asks the database whether another process changed the city's articles
   * (default 10 s); changes made through this service apply to the index at once.
   */
  indexCheckMs?: number;
  /** When `bestAnswer` calls its answer confident. */
  confidence?: Partial<ConfidenceRule>;
}

/**
 * When the best answer is good enough to be given on the spot (即办) without a second look:
 * it covers most of what was asked (by idf weight of the query's words), clearly beats the runner-up,
 * and scores above a floor.
 */
export interface ConfidenceRule {
  minCoverage: number;
  minMargin: number;
  minScore: number;
}
export const DEFAULT_CONFIDENCE: ConfidenceRule = { minCoverage: 0.6, minMargin: 1.25, minScore: 4 };

/** One revision of an article. Times are ISO 8601 in China time. */
export interface KnowledgeRevision {
  id: string;
  articleId: string;
  number: number;
  status: RevisionStatus;
  question: string;
  answer: string;
  categoryCode: string | null;
  keywords: string[];
  validFrom: string | null;
  validTo: string | null;
  sourceDocument: string | null;
  authorId: string | null;
  authorName: string | null;
  createdAt: string;
  updatedBy: string | null;
  updatedAt: string;
  submittedBy: string | null;
  submittedAt: string | null;
  reviewedBy: string | null;
  reviewedAt: string | null;
  rejectReason: string | null;
  publishedAt: string | null;
}

/** A knowledge article (知识): what agents see is `published`; `pending` is the revision being written or reviewed. */
export interface KnowledgeArticle {
  id: string;
  cityId: string;
  /** An external key (city presets); null for articles written in the console. */
  code: string | null;
  /** The unit that owns it; null for the hotline center. */
  ownerUnitId: string | null;
  status: ArticleStatus;
  /** Bumped by every change: send it back with an edit. */
  version: number;
  published: KnowledgeRevision | null;
  pending: KnowledgeRevision | null;
  /** Published, not archived, and within its validity now: what search shows. */
  inForce: boolean;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  archivedBy: string | null;
  archivedAt: string | null;
  archiveReason: string | null;
}

export interface ArticleInput {
  question: string;
  answer: string;
  categoryCode?: string | null;
  keywords?: string[];
  validFrom?: Date | null;
  validTo?: Date | null;
  sourceDocument?: string | null;
}
export interface NewArticle extends ArticleInput {
  /** Only an admin names another unit; unit staff write for their unit, center staff for the center. */
  ownerUnitId?: string | null;
}
export type ArticlePatch = Partial<ArticleInput>;

export interface ArticleListQuery {
  state?: ArticleListFilter['state'];
  ownerUnitId?: string | null;
  page?: number;
  pageSize?: number;
}

/** A search result: the published revision of an article in force. */
export interface SearchHit {
  articleId: string;
  revisionId: string;
  revisionNumber: number;
  question: string;
  answer: string;
  categoryCode: string | null;
  keywords: string[];
  ownerUnitId: string | null;
  validFrom: string | null;
  validTo: string | null;
  sourceDocument: string | null;
  score: number;
  /** The words of the query found in the article. */
  matchedTerms: string[];
}

export interface BestAnswer extends SearchHit {
  /** Only a confident answer counts for "answer on the spot" (即办). */
  confident: boolean;
  /** Share of the query's words (by idf) found in the article, 0–1. */
  coverage: number;
  /** Score over the runner-up's; null without one. */
  margin: number | null;
  /** Why it is not confident (empty when it is). */
  reasonsZh: string[];
}

/** A ticket an article was used for (answer given on the spot), with the revision given. */
export interface KnowledgeUsage {
  id: string;
  articleId: string;
  revisionId: string;
  revisionNumber: number;
  ticketId: string;
  usedBy: string | null;
  usedAt: string;
  /** False once the article has been revised or archived since: the citizen may have been told something outdated. */
  current: boolean;
}

export type KnowledgeService = ReturnType<typeof createKnowledgeService>;

const ENTITY = 'knowledge_article';

const parseJson = parseJsonColumn;

function toUsage(u: { id: string; article_id: string; revision_id: string; revision_number: number | string; ticket_id: string; used_by: string | null; used_at: string }): Omit<KnowledgeUsage, 'current'> {
  return {
    id: u.id,
    articleId: u.article_id,
    revisionId: u.revision_id,
    revisionNumber: Number(u.revision_number),
    ticketId: u.ticket_id,
    usedBy: u.used_by,
    usedAt: dbTimeToIso(u.used_at)!,
  };
}
const ms = (s: string | null) => (s ? fromDbTime(s).getTime() : null);
const dbOrNull = (d: Date | null | undefined) => (d ? toDbTime(d) : null);

export function toRevision(r: RevisionRow): KnowledgeRevision {
  return {
    id: r.id,
    articleId: r.article_id,
    number: Number(r.number),
    status: r.status as RevisionStatus,
    question: r.question,
    answer: r.answer,
    categoryCode: r.category_code,
    keywords: parseJson<string[]>(r.keywords, []),
    validFrom: dbTimeToIso(r.valid_from),
    validTo: dbTimeToIso(r.valid_to),
    sourceDocument: r.source_document,
    authorId: r.author_id,
    authorName: r.author_name,
    createdAt: dbTimeToIso(r.created_at)!,
    updatedBy: r.updated_by,
    updatedAt: dbTimeToIso(r.updated_at)!,
    submittedBy: r.submitted_by,
    submittedAt: dbTimeToIso(r.submitted_at),
    reviewedBy: r.reviewed_by,
    reviewedAt: dbTimeToIso(r.reviewed_at),
    rejectReason: r.reject_reason,
    publishedAt: dbTimeToIso(r.published_at),
  };
}

const contentOf = (r: RevisionRow): ArticleContent => ({
  question: r.question,
  answer: r.answer,
  categoryCode: r.category_code,
  keywords: parseJson<string[]>(r.keywords, []),
  validFrom: r.valid_from ? fromDbTime(r.valid_from) : null,
  validTo: r.valid_to ? fromDbTime(r.valid_to) : null,
  sourceDocument: r.source_document,
});

const contentColumns = (c: ArticleContent) => ({
  question: c.question,
  answer: c.answer,
  category_code: c.categoryCode,
  keywords: JSON.stringify(c.keywords),
  valid_from: dbOrNull(c.validFrom),
  valid_to: dbOrNull(c.validTo),
  source_document: c.sourceDocument,
});

/** The content as audit rows show it (times as ISO, no huge answers). */
const auditContent = (c: ArticleContent) => ({
  question: c.question,
  answerLength: [...c.answer].length,
  categoryCode: c.categoryCode,
  keywords: c.keywords,
  validFrom: c.validFrom ? dbTimeToIso(toDbTime(c.validFrom)) : null,
  validTo: c.validTo ? dbTimeToIso(toDbTime(c.validTo)) : null,
  sourceDocument: c.sourceDocument,
});

export interface NewRevisionFields {
  articleId: string;
  cityId: string;
  number: number;
  status: RevisionStatus;
  content: ArticleContent;
  actor: Pick<Actor, 'id' | 'name'>;
  now: Date;
}

export function revisionRow(f: NewRevisionFields): RevisionRow {
  const at = toDbTime(f.now);
  const published = f.status === 'published';
  return {
    id: newId(),
    article_id: f.articleId,
    city_id: f.cityId,
    number: f.number,
    status: f.status,
    ...contentColumns(f.content),
    author_id: f.actor.id,
    author_name: f.actor.name.slice(0, 64),
    created_at: at,
    updated_by: f.actor.id,
    updated_at: at,
    submitted_by: published ? f.actor.id : null,
    submitted_at: published ? at : null,
    reviewed_by: published ? f.actor.id : null,
    reviewed_at: published ? at : null,
    reject_reason: null,
    published_at: published ? at : null,
  };
}

interface IndexPayload {
  articleId: string;
  revisionId: string;
  number: number;
  question: string;
  answer: string;
  categoryCode: string | null;
  keywords: string[];
  ownerUnitId: string | null;
  validFrom: number | null;
  validTo: number | null;
  sourceDocument: string | null;
}

interface CityIndex {
  index: Bm25Index<IndexPayload>;
  /** The published revision indexed for each article. */
  revisionOf: Map<string, string>;
  signature: string;
  checkedAt: number;
  syncedAt: number;
}

type PublishedRow = Awaited<ReturnType<KnowledgeRepository['listPublishedForIndex']>>[number];

const payloadOf = (r: PublishedRow): IndexPayload => ({
  articleId: r.article_id,
  revisionId: r.id,
  number: Number(r.number),
  question: r.question,
  answer: r.answer,
  categoryCode: r.category_code,
  keywords: parseJson<string[]>(r.keywords, []),
  ownerUnitId: r.owner_unit_id,
  validFrom: ms(r.valid_from),
  validTo: ms(r.valid_to),
  sourceDocument: r.source_document,
});

/** Even without a change seen, the index is compared with the database after this long (a missed change cannot last). */
const INDEX_MAX_AGE_MS = 10 * 60_000;
/** Articles tokenised between two yields to the event loop. */
const SYNC_BATCH = 500;

/**
 * The knowledge base (知识库): articles written by the center or a unit, reviewed by a second person,
 * published with a validity period, archived when withdrawn; a BM25 search over jieba tokens of the
 * published articles in force, `bestAnswer` for the "answer on the spot" rule, and the record of which
 * answer was given on which ticket.
 */
export function createKnowledgeService(deps: KnowledgeDeps) {
  const clock = deps.clock ?? systemClock;
  const checkMs = deps.indexCheckMs ?? 10_000;
  const rule: ConfidenceRule = { ...DEFAULT_CONFIDENCE, ...deps.confidence };
  const repo = new KnowledgeRepository(deps.db, deps.dialect);
  const indexes = new Map<string, CityIndex>();
  const syncing = new Map<string, Promise<CityIndex>>();
  const categoriesCache = new Map<string, { list: KnowledgeCategory[]; until: number }>();

  const articleNotFound = (id: string) => notFound('KNOWLEDGE_ARTICLE_NOT_FOUND', `no knowledge article ${id}`, `知识 ${id} 不存在`, { id });

  async function categoriesOf(cityId: string): Promise<KnowledgeCategory[]> {
    const hit = categoriesCache.get(cityId);
    if (hit && hit.until > Date.now()) return hit.list;
    const list = await deps.categories(cityId);
    categoriesCache.set(cityId, { list, until: Date.now() + 60_000 });
    return list;
  }

  async function activeCategoryCodes(cityId: string): Promise<Set<string>> {
    return new Set((await deps.categories(cityId)).filter((c) => c.active !== false).map((c) => c.code));
  }

  /** A category's branch: itself, its ancestors and its descendants (a question on 供水 fits 停水 and 公用事业). */
  async function branchOf(cityId: string, code: string): Promise<Set<string>> {
    const list = await categoriesOf(cityId);
    const byId = new Map(list.map((c) => [c.id, c]));
    const self = list.find((c) => c.code === code);
    const out = new Set<string>([code]);
    if (!self) return out;
    for (let p = self.parentId ? byId.get(self.parentId) : undefined; p; p = p.parentId ? byId.get(p.parentId) : undefined) out.add(p.code);
    const isBelow = (c: KnowledgeCategory): boolean => {
      for (let p = c.parentId ? byId.get(c.parentId) : undefined; p; p = p.parentId ? byId.get(p.parentId) : undefined) if (p.id === self.id) return true;
      return false;
    };
    for (const c of list) if (isBelow(c)) out.add(c.code);
    return out;
  }

  /**
   * Brings the city's index in line with the database: adds or replaces the articles whose published
   * revision changed and drops those no longer published. Only what changed is tokenised, so another
   * process's edit costs one article, not a rebuild. Yields to the event loop between batches: the first
   * build of a large base (~50k articles, some seconds) does not stall other requests.
   */
  async function sync(cityId: string, current: CityIndex | undefined): Promise<CityIndex> {
    // The signature first: a change made while this runs shows as a new signature at the next check.
    const signature = await repo.signature(cityId);
    const target = current ?? { index: new Bm25Index<IndexPayload>(), revisionOf: new Map<string, string>(), signature: '', checkedAt: 0, syncedAt: 0 };
    const live = new Map((await repo.listPublishedRevisionIds(cityId)).map((r) => [r.id, r.published_revision_id!]));
    for (const articleId of [...target.revisionOf.keys()]) {
      if (!live.has(articleId)) {
        target.index.remove(articleId);
        target.revisionOf.delete(articleId);
      }
    }
    const changed = [...live].filter(([articleId, revisionId]) => target.revisionOf.get(articleId) !== revisionId).map(([articleId]) => articleId);
    for (let i = 0; i < changed.length; i += SYNC_BATCH) {
      for (const r of await repo.listPublishedForIndex(cityId, changed.slice(i, i + SYNC_BATCH))) {
        const p = payloadOf(r);
        target.index.upsert(r.article_id, documentTerms(p), p);
        target.revisionOf.set(r.article_id, r.id);
      }
      if (i + SYNC_BATCH < changed.length) await new Promise((resolve) => setImmediate(resolve));
    }
    const now = Date.now();
    target.signature = signature;
    target.checkedAt = now;
    target.syncedAt = now;
    indexes.set(cityId, target);
    return target;
  }

  /** One sync at a time per city; callers arriving meanwhile share it. */
  function syncOnce(cityId: string): Promise<CityIndex> {
    let pending = syncing.get(cityId);
    if (!pending) {
      pending = sync(cityId, indexes.get(cityId)).finally(() => syncing.delete(cityId));
      syncing.set(cityId, pending);
    }
    return pending;
  }

  /** The city's index: built on first use, brought up to date when the articles changed (here or in another process). */
  async function indexOf(cityId: string): Promise<Bm25Index<IndexPayload>> {
    const current = indexes.get(cityId);
    const now = Date.now();
    if (!current) return (await syncOnce(cityId)).index;
    if (now - current.checkedAt < checkMs) return current.index;
    if (now - current.syncedAt < INDEX_MAX_AGE_MS && (await repo.signature(cityId)) === current.signature) {
      current.checkedAt = now;
      return current.index;
    }
    return (await syncOnce(cityId)).index;
  }

  /** After a committed change: the index, if built, follows at once (after a sync already under way, which may have missed it). */
  async function afterChange(cityId: string): Promise<void> {
    const pending = syncing.get(cityId);
    if (pending) await pending.catch(() => undefined);
    if (indexes.has(cityId)) await syncOnce(cityId);
  }

  async function revisionsOfRow(a: ArticleRow, r: KnowledgeRepository = repo) {
    const rows = await r.listRevisionsByIds([a.published_revision_id, a.pending_revision_id].filter((x): x is string => !!x));
    const byId = new Map(rows.map((x) => [x.id, x]));
    return {
      published: a.published_revision_id ? (byId.get(a.published_revision_id) ?? null) : null,
      pending: a.pending_revision_id ? (byId.get(a.pending_revision_id) ?? null) : null,
    };
  }

  async function view(a: ArticleRow, opts: { withPending: boolean }): Promise<KnowledgeArticle> {
    const { published, pending } = await revisionsOfRow(a);
    const now = clock.now().getTime();
    return {
      id: a.id,
      cityId: a.city_id,
      code: a.code,
      ownerUnitId: a.owner_unit_id,
      status: a.status as ArticleStatus,
      version: Number(a.version),
      published: published ? toRevision(published) : null,
      pending: opts.withPending && pending ? toRevision(pending) : null,
      inForce: a.status === 'published' && !!published && isValidAt(ms(published.valid_from), ms(published.valid_to), now),
      createdBy: a.created_by,
      createdAt: dbTimeToIso(a.created_at)!,
      updatedAt: dbTimeToIso(a.updated_at)!,
      archivedBy: a.archived_by,
      archivedAt: dbTimeToIso(a.archived_at),
      archiveReason: a.archive_reason,
    };
  }

  /** An article of the actor's city that the actor may see (drafts only for the center and the owning unit). */
  async function readable(actor: Pick<Actor, 'role' | 'unitId' | 'cityId'>, id: string): Promise<{ row: ArticleRow; seesDrafts: boolean }> {
    const row = await repo.findArticle(id);
    if (!row || (actor.role !== 'system' && row.city_id !== actor.cityId)) throw articleNotFound(id);
    const seesDrafts = maySeeDrafts(actor, row.owner_unit_id);
    if (!seesDrafts && row.status !== 'published') throw articleNotFound(id);
    return { row, seesDrafts };
  }

  interface Change {
    action: string;
    patch?: Partial<ArticleRow>;
    before?: unknown;
    after?: unknown;
    reason?: string | null;
  }

  /**
   * One audited change of an article in one transaction: loads it, lets `decide` write revisions and
   * say what changes, then bumps the article's version (409 when someone changed it meanwhile).
   */
  async function mutate(
    ctx: CommandContext,
    id: string,
    expectedVersion: number | undefined,
    decide: (trx: Kysely<DB>, r: KnowledgeRepository, a: ArticleRow, revs: { published: RevisionRow | null; pending: RevisionRow | null }, now: Date) => Promise<Change | null>,
  ): Promise<KnowledgeArticle> {
    const now = clock.now();
    const cityId = await transactionWithRetry(deps.db, async (trx) => {
      const r = new KnowledgeRepository(trx, deps.dialect);
      const a = await r.findArticle(id);
      if (!a || (ctx.actor.role !== 'system' && a.city_id !== ctx.actor.cityId)) throw articleNotFound(id);
      if (expectedVersion !== undefined && Number(a.version) !== expectedVersion) {
        throw conflict('KNOWLEDGE_ARTICLE_CHANGED', 'the article was changed meanwhile; reload it', '该知识已被他人修改，请刷新后重试', { id, version: Number(a.version) });
      }
      const change = await decide(trx, r, a, await revisionsOfRow(a, r), now);
      if (!change) return a.city_id;
      const ok = await r.updateArticleIfVersion(id, Number(a.version), { ...change.patch, version: Number(a.version) + 1, updated_at: toDbTime(now) });
      if (!ok) throw conflict('KNOWLEDGE_ARTICLE_CHANGED', 'the article was changed meanwhile; reload it', '该知识已被他人修改，请刷新后重试', { id });
      await recordAudit(trx, ctx, { entityType: ENTITY, entityId: id, action: change.action, before: change.before, after: change.after, reason: change.reason ?? null, cityId: a.city_id }, now);
      return a.city_id;
    });
    await afterChange(cityId);
    return view((await repo.findArticle(id))!, { withPending: true });
  }

  const archivedConflict = (id: string) => conflict('KNOWLEDGE_ARTICLE_ARCHIVED', 'the article is archived', '该知识已归档', { id });
  const noPending = (id: string, want: string, wantZh: string) =>
    conflict('KNOWLEDGE_REVISION_STATE', `the article has no revision ${want}`, `该知识没有「${wantZh}」的版本`, { id });

  async function checked(cityId: string, input: ArticleContent): Promise<ArticleContent> {
    return assertContent(input, await activeCategoryCodes(cityId));
  }

  const contentFrom = (i: ArticleInput): ArticleContent => ({
    question: i.question,
    answer: i.answer,
    categoryCode: i.categoryCode ?? null,
    keywords: i.keywords ?? [],
    validFrom: i.validFrom ?? null,
    validTo: i.validTo ?? null,
    sourceDocument: i.sourceDocument ?? null,
  });

  function toHit(h: { id: string; score: number; payload: IndexPayload; matched: string[] }): SearchHit {
    const p = h.payload;
    return {
      articleId: p.articleId,
      revisionId: p.revisionId,
      revisionNumber: p.number,
      question: p.question,
      answer: p.answer,
      categoryCode: p.categoryCode,
      keywords: p.keywords,
      ownerUnitId: p.ownerUnitId,
      validFrom: p.validFrom === null ? null : dbTimeToIso(toDbTime(new Date(p.validFrom))),
      validTo: p.validTo === null ? null : dbTimeToIso(toDbTime(new Date(p.validTo))),
      sourceDocument: p.sourceDocument,
      score: Math.round(h.score * 1000) / 1000,
      matchedTerms: [...new Set(h.matched.filter((t) => !isPair(t)).map(surfaceOf))],
    };
  }

  const api = {
    // ---- Writing and review ----

    /** Writes a new article as a draft (revision 1). */
    async create(ctx: CommandContext, input: NewArticle): Promise<KnowledgeArticle> {
      const cityId = ctx.actor.cityId;
      const owner = ownerForNewArticle(ctx.actor, input.ownerUnitId);
      if (owner && !(await deps.directory.getUnit(owner, cityId))) {
        throw notFound('UNIT_NOT_FOUND', `no unit ${owner}`, `承办单位 ${owner} 不存在`, { id: owner });
      }
      const content = await checked(cityId, contentFrom(input));
      const now = clock.now();
      const id = newId();
      await transactionWithRetry(deps.db, async (trx) => {
        const r = new KnowledgeRepository(trx, deps.dialect);
        const rev = revisionRow({ articleId: id, cityId, number: 1, status: 'draft', content, actor: ctx.actor, now });
        await r.insertRevision(rev);
        await r.insertArticle({
          id,
          city_id: cityId,
          code: null,
          owner_unit_id: owner,
          status: 'draft',
          pending_status: 'draft',
          published_revision_id: null,
          pending_revision_id: rev.id,
          version: 1,
          created_by: ctx.actor.id,
          created_at: toDbTime(now),
          updated_at: toDbTime(now),
          archived_by: null,
          archived_at: null,
          archive_reason: null,
        });
        await recordAudit(trx, ctx, { entityType: ENTITY, entityId: id, action: 'knowledge_article.created', after: { ownerUnitId: owner, revision: 1, ...auditContent(content) }, cityId }, now);
      });
      return view((await repo.findArticle(id))!, { withPending: true });
    },

    /**
     * Edits an article. A draft is changed in place; a published article gets a new draft revision
     * (the published one stays what agents see until the new one is approved). A revision in review
     * cannot be edited (409): the reviewer rejects it back first. `version` guards against lost updates.
     */
    async update(ctx: CommandContext, id: string, version: number | undefined, patch: ArticlePatch): Promise<KnowledgeArticle> {
      // Read before the transaction: on SQLite a read outside an open transaction waits for it forever.
      const cityOfArticle = (await repo.findArticle(id))?.city_id ?? ctx.actor.cityId;
      const categoryCodes = await activeCategoryCodes(cityOfArticle);
      return mutate(ctx, id, version, async (_trx, r, a, { published, pending }, now) => {
        assertMayWrite(ctx.actor, a.owner_unit_id);
        if (a.status === 'archived') throw archivedConflict(id);
        if (pending?.status === 'in_review') {
          throw conflict('KNOWLEDGE_IN_REVIEW', 'the article is in review; it can be edited after the review', '该知识正在审核，审核完成后才能修改', { id });
        }
        const base = pending ?? published;
        if (!base) throw articleNotFound(id);
        const old = contentOf(base);
        const next = assertContent({
          question: patch.question ?? old.question,
          answer: patch.answer ?? old.answer,
          categoryCode: patch.categoryCode !== undefined ? patch.categoryCode : old.categoryCode,
          keywords: patch.keywords ?? old.keywords,
          validFrom: patch.validFrom !== undefined ? patch.validFrom : old.validFrom,
          validTo: patch.validTo !== undefined ? patch.validTo : old.validTo,
          sourceDocument: patch.sourceDocument !== undefined ? patch.sourceDocument : old.sourceDocument,
        }, categoryCodes);
        if (sameContent(old, next)) return null;
        if (pending) {
          await r.updateRevision(pending.id, { ...contentColumns(next), updated_by: ctx.actor.id, updated_at: toDbTime(now) });
          return { action: 'knowledge_article.updated', before: { revision: Number(pending.number), ...auditContent(old) }, after: { revision: Number(pending.number), ...auditContent(next) } };
        }
        const number = await r.nextRevisionNumber(id);
        const rev = revisionRow({ articleId: id, cityId: a.city_id, number, status: 'draft', content: next, actor: ctx.actor, now });
        await r.insertRevision(rev);
        return {
          action: 'knowledge_article.revision_started',
          patch: { pending_revision_id: rev.id, pending_status: 'draft' },
          before: { revision: Number(published!.number), ...auditContent(old) },
          after: { revision: number, ...auditContent(next) },
        };
      });
    },

    /** Submits the draft revision for review (提交审核). */
    submit(ctx: CommandContext, id: string): Promise<KnowledgeArticle> {
      return mutate(ctx, id, undefined, async (_trx, r, a, { pending }, now) => {
        assertMayWrite(ctx.actor, a.owner_unit_id);
        if (a.status === 'archived') throw archivedConflict(id);
        if (pending?.status !== 'draft') throw noPending(id, 'in draft', '草稿');
        await r.updateRevision(pending.id, { status: 'in_review', submitted_by: ctx.actor.id, submitted_at: toDbTime(now), reject_reason: null });
        return { action: 'knowledge_article.submitted', patch: { pending_status: 'in_review' }, after: { revision: Number(pending.number) } };
      });
    },

    /**
     * Approves the revision in review: it is published, and the one published before is superseded.
     * Not by its author, editor or submitter (403 FOUR_EYES).
     */
    approve(ctx: CommandContext, id: string, note?: string | null): Promise<KnowledgeArticle> {
      return mutate(ctx, id, undefined, async (_trx, r, a, { published, pending }, now) => {
        if (pending?.status !== 'in_review') throw noPending(id, 'in review', '待审核');
        assertMayReview(ctx.actor, [pending.author_id, pending.updated_by, pending.submitted_by]);
        if (a.status === 'archived') throw archivedConflict(id);
        const at = toDbTime(now);
        await r.updateRevision(pending.id, { status: 'published', reviewed_by: ctx.actor.id, reviewed_at: at, published_at: at, reject_reason: null });
        if (published) await r.updateRevision(published.id, { status: 'superseded' });
        return {
          action: 'knowledge_article.published',
          patch: { status: 'published', published_revision_id: pending.id, pending_revision_id: null, pending_status: null },
          before: { publishedRevision: published ? Number(published.number) : null },
          after: { publishedRevision: Number(pending.number) },
          reason: note?.trim() || null,
        };
      });
    },

    /** Rejects the revision in review back to draft, with a reason the author sees. */
    async reject(ctx: CommandContext, id: string, reason: string): Promise<KnowledgeArticle> {
      if (!reason.trim()) throw badRequest('REASON_REQUIRED', 'a reason is required', '须填写驳回理由');
      return mutate(ctx, id, undefined, async (_trx, r, _a, { pending }, now) => {
        if (pending?.status !== 'in_review') throw noPending(id, 'in review', '待审核');
        assertMayReview(ctx.actor, [pending.author_id, pending.updated_by, pending.submitted_by]);
        await r.updateRevision(pending.id, { status: 'draft', reviewed_by: ctx.actor.id, reviewed_at: toDbTime(now), reject_reason: reason.trim() });
        return { action: 'knowledge_article.rejected', patch: { pending_status: 'draft' }, after: { revision: Number(pending.number) }, reason: reason.trim() };
      });
    },

    /** The reviewer's decision in one call: approve, or reject with a reason. */
    review(ctx: CommandContext, id: string, decision: { decision: 'approve'; note?: string | null } | { decision: 'reject'; reason: string }): Promise<KnowledgeArticle> {
      return decision.decision === 'approve' ? api.approve(ctx, id, decision.note) : api.reject(ctx, id, decision.reason);
    },

    /** Archives an article: hidden from search for good; its revisions and usages stay. */
    archive(ctx: CommandContext, id: string, reason?: string | null): Promise<KnowledgeArticle> {
      return mutate(ctx, id, undefined, async (_trx, _r, a, _revs, now) => {
        if (!mayArchive(ctx.actor, a.owner_unit_id)) {
          throw forbidden('KNOWLEDGE_WRITE_FORBIDDEN', 'only the owner or a reviewer may archive the article', '只有知识所属单位或审核人员可以归档');
        }
        if (a.status === 'archived') throw archivedConflict(id);
        return {
          action: 'knowledge_article.archived',
          patch: { status: 'archived', archived_by: ctx.actor.id, archived_at: toDbTime(now), archive_reason: reason?.trim() || null },
          before: { status: a.status },
          after: { status: 'archived' },
          reason: reason?.trim() || null,
        };
      });
    },

    /** Deletes an article that was never published (a draft written by mistake); published ones are archived instead. */
    async remove(ctx: CommandContext, id: string): Promise<void> {
      const now = clock.now();
      await transactionWithRetry(deps.db, async (trx) => {
        const r = new KnowledgeRepository(trx, deps.dialect);
        const a = await r.findArticle(id);
        if (!a || (ctx.actor.role !== 'system' && a.city_id !== ctx.actor.cityId)) throw articleNotFound(id);
        assertMayWrite(ctx.actor, a.owner_unit_id);
        if (a.published_revision_id || (await r.countUsages(id)) > 0) {
          throw conflict('KNOWLEDGE_ARTICLE_PUBLISHED', 'a published article is archived, not deleted', '已发布的知识只能归档，不能删除', { id });
        }
        const { pending } = await revisionsOfRow(a, r);
        await r.deleteArticle(id);
        await recordAudit(trx, ctx, { entityType: ENTITY, entityId: id, action: 'knowledge_article.deleted', before: pending ? auditContent(contentOf(pending)) : null, cityId: a.city_id }, now);
      });
    },

    // ---- Reading ----

    /** One article; drafts and reviews are shown to the center and the owning unit only. */
    async getArticle(actor: Pick<Actor, 'role' | 'unitId' | 'cityId'>, id: string): Promise<KnowledgeArticle> {
      const { row, seesDrafts } = await readable(actor, id);
      return view(row, { withPending: seesDrafts });
    },

    /** Every revision of an article, newest first (the center and the owning unit). */
    async revisionsOf(actor: Pick<Actor, 'role' | 'unitId' | 'cityId'>, id: string): Promise<KnowledgeRevision[]> {
      const { row, seesDrafts } = await readable(actor, id);
      if (!seesDrafts) return row.published_revision_id ? (await repo.listRevisionsByIds([row.published_revision_id])).map(toRevision) : [];
      return (await repo.listRevisions(id)).map(toRevision);
    },

    /** Articles of the actor's city, most recently changed first, by state and owner. */
    async listArticles(actor: Pick<Actor, 'role' | 'unitId' | 'cityId'>, q: ArticleListQuery = {}): Promise<{ items: KnowledgeArticle[]; total: number; page: number; pageSize: number }> {
      const page = q.page ?? 1;
      const pageSize = q.pageSize ?? 20;
      const visibility: ArticleListFilter['visibility'] = (CENTER_ROLES as ReadonlySet<string>).has(actor.role)
        ? { kind: 'all' }
        : UNIT_ROLES.has(actor.role) && actor.unitId
          ? { kind: 'published_or_unit', unitId: actor.unitId }
          : { kind: 'published' };
      const { rows, total } = await repo.pageArticles({ cityId: actor.cityId, state: q.state, ownerUnitId: q.ownerUnitId, visibility }, page, pageSize);
      const items = await Promise.all(rows.map((row) => view(row, { withPending: maySeeDrafts(actor, row.owner_unit_id) })));
      return { items, total, page, pageSize };
    },

    // ---- Search ----

    /**
     * Full-text search (BM25 over jieba words) of the published articles in force now: expired ones
     * (valid_to passed) and future ones are not shown. With `categoryCode`, only articles of that
     * category's branch (itself, ancestors, descendants).
     */
    async search(cityId: string, q: string, opts: { categoryCode?: string; limit?: number } = {}): Promise<SearchHit[]> {
      const terms = queryTerms(q);
      if (terms.length === 0) return [];
      const index = await indexOf(cityId);
      const now = clock.now().getTime();
      const branch = opts.categoryCode ? await branchOf(cityId, opts.categoryCode) : null;
      const hits = index.search(terms, {
        limit: Math.min(Math.max(opts.limit ?? 10, 1), 100),
        accept: (p) => isValidAt(p.validFrom, p.validTo, now) && (!branch || (p.categoryCode !== null && branch.has(p.categoryCode))),
      });
      return hits.map(toHit);
    },

    /**
     * The best published answer in force for what a caller asked, with a score and whether it is
     * confident enough to be given on the spot (即办): only a confident answer counts. A category,
     * when given, favours its branch and is required for confidence.
     */
    async bestAnswer(cityId: string, text: string, opts: { categoryCode?: string | null } = {}): Promise<BestAnswer | null> {
      const terms = queryTerms(text);
      if (terms.length === 0) return null;
      const index = await indexOf(cityId);
      const now = clock.now().getTime();
      const branch = opts.categoryCode ? await branchOf(cityId, opts.categoryCode) : null;
      const inBranch = (p: IndexPayload) => !branch || p.categoryCode === null || branch.has(p.categoryCode);
      const hits = index.search(terms, { limit: 2, accept: (p) => isValidAt(p.validFrom, p.validTo, now), boost: branch ? (p) => (inBranch(p) ? 1.3 : 1) : undefined });
      const top = hits[0];
      if (!top) return null;
      const words = terms.filter((t) => !isPair(t.term));
      const measured = words.length ? words : terms;
      const found = new Set(top.matched);
      let all = 0;
      let hit = 0;
      for (const t of measured) {
        const idf = index.idf(t.term) || index.maxIdf();
        all += idf;
        if (found.has(t.term)) hit += idf;
      }
      const coverage = all > 0 ? hit / all : 0;
      const second = hits[1];
      const margin = second ? top.score / second.score : null;
      const reasonsZh: string[] = [];
      if (coverage < rule.minCoverage) reasonsZh.push(`问题与答案匹配度不足（${Math.round(coverage * 100)}%）`);
      if (margin !== null && margin < rule.minMargin) reasonsZh.push('有其他相近答案，需人工确认');
      if (top.score < rule.minScore) reasonsZh.push('匹配得分过低');
      if (!inBranch(top.payload)) reasonsZh.push('答案与工单分类不符');
      return {
        ...toHit(top),
        confident: reasonsZh.length === 0,
        coverage: Math.round(coverage * 1000) / 1000,
        margin: margin === null ? null : Math.round(margin * 1000) / 1000,
        reasonsZh,
      };
    },

    /**
     * Makes the next search compare the city's index (or every city's) with the database and take in
     * what changed. Call after a preset import commits.
     */
    invalidate(cityId?: string): void {
      for (const [city, current] of indexes) {
        if (!cityId || city === cityId) {
          current.checkedAt = 0;
          current.syncedAt = 0;
        }
      }
      categoriesCache.clear();
    },

    /** Builds the city's index now (at start-up), so that the first call does not wait for it. */
    async warm(cityId: string): Promise<void> {
      await syncOnce(cityId);
    },

    // ---- Usage ----

    /**
     * Records that an article was used to answer a ticket, with the revision given; recording the same
     * article for the same ticket again changes nothing. The article must be published.
     */
    async recordUse(ctx: CommandContext, articleId: string, ticketId: string): Promise<KnowledgeUsage> {
      if (!(CENTER_ROLES as ReadonlySet<string>).has(ctx.actor.role) && !UNIT_ROLES.has(ctx.actor.role)) {
        throw forbidden('ROLE_FORBIDDEN', `role ${ctx.actor.role} does not answer tickets`, `角色 ${ctx.actor.role} 无权记录知识使用`);
      }
      const now = clock.now();
      await transactionWithRetry(deps.db, async (trx) => {
        const r = new KnowledgeRepository(trx, deps.dialect);
        const a = await r.findArticle(articleId);
        if (!a || (ctx.actor.role !== 'system' && a.city_id !== ctx.actor.cityId)) throw articleNotFound(articleId);
        if (a.status !== 'published' || !a.published_revision_id) {
          throw conflict('KNOWLEDGE_NOT_PUBLISHED', 'only a published article can be used to answer', '只有已发布的知识才能用于答复', { id: articleId });
        }
        const inserted = await r.insertUsage({ id: newId(), city_id: a.city_id, article_id: a.id, revision_id: a.published_revision_id, ticket_id: ticketId, used_by: ctx.actor.id, used_at: toDbTime(now) });
        if (inserted) {
          await recordAudit(trx, ctx, { entityType: ENTITY, entityId: a.id, action: 'knowledge_article.used', after: { ticketId, revisionId: a.published_revision_id }, cityId: a.city_id }, now);
        }
      });
      const usage = (await api.usagesOf(articleId)).find((u) => u.ticketId === ticketId);
      return usage!;
    },

    /** The tickets an article was used for, newest first, each with the revision given and whether it is still current. */
    async usagesOf(articleId: string, opts: { cityId?: string } = {}): Promise<KnowledgeUsage[]> {
      const a = await repo.findArticle(articleId);
      if (!a || (opts.cityId && a.city_id !== opts.cityId)) throw articleNotFound(articleId);
      return (await repo.listUsages(articleId)).map((u) => ({
        ...toUsage(u),
        current: a.status === 'published' && a.published_revision_id === u.revision_id,
      }));
    },

    /** The articles used on a ticket, in order. */
    async usagesOfTicket(ticketId: string): Promise<Omit<KnowledgeUsage, 'current'>[]> {
      return (await repo.listUsagesOfTicket(ticketId)).map(toUsage);
    },
  };
  return api;
}
