import type { Kysely } from 'kysely';
import type { DB, DialectName, KnowledgeArticlesTable, KnowledgeRevisionsTable, KnowledgeUsagesTable } from '../../db';
import { insertIgnore } from '../../db';

export type ArticleRow = KnowledgeArticlesTable;
export type RevisionRow = KnowledgeRevisionsTable;
export type UsageRow = KnowledgeUsagesTable;

export interface ArticleListFilter {
  cityId: string;
  /** draft / in_review: the pending revision's status; published / archived: the article's. */
  state?: 'draft' | 'in_review' | 'published' | 'archived';
  ownerUnitId?: string | null;
  /** What the reader may see: everything, published articles plus one unit's, or published only. */
  visibility: { kind: 'all' } | { kind: 'published_or_unit'; unitId: string } | { kind: 'published' };
}

/** The knowledge base's articles, revisions and usages. */
export class KnowledgeRepository {
  constructor(private readonly db: Kysely<DB>, private readonly dialect: DialectName) {}

  findArticle(id: string) {
    return this.db.selectFrom('knowledge_articles').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findArticleByCode(cityId: string, code: string) {
    return this.db.selectFrom('knowledge_articles').selectAll().where('city_id', '=', cityId).where('code', '=', code).executeTakeFirst();
  }

  async insertArticle(row: ArticleRow) {
    await this.db.insertInto('knowledge_articles').values(row).execute();
  }

  /** Writes a change only if nobody changed the article since `version` was read (optimistic lock). */
  async updateArticleIfVersion(id: string, version: number, patch: Partial<ArticleRow>): Promise<boolean> {
    const r = await this.db.updateTable('knowledge_articles').set(patch).where('id', '=', id).where('version', '=', version).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async deleteArticle(id: string) {
    await this.db.deleteFrom('knowledge_revisions').where('article_id', '=', id).execute();
    await this.db.deleteFrom('knowledge_articles').where('id', '=', id).execute();
  }

  findRevision(id: string) {
    return this.db.selectFrom('knowledge_revisions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listRevisionsByIds(ids: string[]) {
    if (ids.length === 0) return Promise.resolve([] as RevisionRow[]);
    return this.db.selectFrom('knowledge_revisions').selectAll().where('id', 'in', ids).execute();
  }

  listRevisions(articleId: string) {
    return this.db.selectFrom('knowledge_revisions').selectAll().where('article_id', '=', articleId).orderBy('number', 'desc').execute();
  }

  async nextRevisionNumber(articleId: string): Promise<number> {
    const row = await this.db.selectFrom('knowledge_revisions').select((eb) => eb.fn.max('number').as('n')).where('article_id', '=', articleId).executeTakeFirst();
    return Number(row?.n ?? 0) + 1;
  }

  async insertRevision(row: RevisionRow) {
    await this.db.insertInto('knowledge_revisions').values(row).execute();
  }

  async updateRevision(id: string, patch: Partial<RevisionRow>) {
    await this.db.updateTable('knowledge_revisions').set(patch).where('id', '=', id).execute();
  }

  async pageArticles(f: ArticleListFilter, page: number, pageSize: number) {
    let q = this.db.selectFrom('knowledge_articles').where('city_id', '=', f.cityId);
    if (f.state === 'draft' || f.state === 'in_review') q = q.where('pending_status', '=', f.state);
    else if (f.state) q = q.where('status', '=', f.state);
    if (f.ownerUnitId === null) q = q.where('owner_unit_id', 'is', null);
    else if (f.ownerUnitId) q = q.where('owner_unit_id', '=', f.ownerUnitId);
    const v = f.visibility;
    if (v.kind === 'published') q = q.where('status', '=', 'published');
    else if (v.kind === 'published_or_unit') q = q.where((eb) => eb.or([eb('status', '=', 'published'), eb('owner_unit_id', '=', v.unitId)]));
    const { total } = await q.select((eb) => eb.fn.countAll().as('total')).executeTakeFirstOrThrow();
    const rows = await q
      .selectAll()
      .orderBy('updated_at', 'desc')
      .orderBy('id', 'desc')
      .limit(pageSize)
      .offset((page - 1) * pageSize)
      .execute();
    return { rows, total: Number(total) };
  }

  /** The published revisions of the city's live articles (or of the given ones): what the search index holds. */
  listPublishedForIndex(cityId: string, articleIds?: string[]) {
    let q = this.db
      .selectFrom('knowledge_articles as a')
      .innerJoin('knowledge_revisions as r', 'r.id', 'a.published_revision_id')
      .select(['a.id as article_id', 'a.owner_unit_id', 'r.id', 'r.number', 'r.question', 'r.answer', 'r.category_code', 'r.keywords', 'r.valid_from', 'r.valid_to', 'r.source_document', 'r.published_at'])
      .where('a.city_id', '=', cityId)
      .where('a.status', '=', 'published');
    if (articleIds) {
      if (articleIds.length === 0) return Promise.resolve([]);
      q = q.where('a.id', 'in', articleIds);
    }
    return q.execute();
  }

  /** Which revision of each live article is published: what the index is compared with. */
  listPublishedRevisionIds(cityId: string) {
    return this.db
      .selectFrom('knowledge_articles')
      .select(['id', 'published_revision_id'])
      .where('city_id', '=', cityId)
      .where('status', '=', 'published')
      .where('published_revision_id', 'is not', null)
      .execute();
  }

  /** A cheap fingerprint of the city's articles: changes whenever any article changes (each change bumps `version`). */
  async signature(cityId: string): Promise<string> {
    const row = await this.db
      .selectFrom('knowledge_articles')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum<number>('version').as('v')])
      .where('city_id', '=', cityId)
      .executeTakeFirst();
    return `${Number(row?.n ?? 0)}:${Number(row?.v ?? 0)}`;
  }

  /** Inserts a usage unless the article was already recorded for the ticket; returns whether it did. */
  insertUsage(row: UsageRow): Promise<boolean> {
    return insertIgnore(this.db, this.dialect, 'knowledge_usages', row as unknown as Record<string, unknown>);
  }

  findUsage(articleId: string, ticketId: string) {
    return this.db.selectFrom('knowledge_usages').selectAll().where('article_id', '=', articleId).where('ticket_id', '=', ticketId).executeTakeFirst();
  }

  listUsages(articleId: string) {
    return this.db
      .selectFrom('knowledge_usages as u')
      .innerJoin('knowledge_revisions as r', 'r.id', 'u.revision_id')
      .select(['u.id', 'u.city_id', 'u.article_id', 'u.revision_id', 'u.ticket_id', 'u.used_by', 'u.used_at', 'r.number as revision_number'])
      .where('u.article_id', '=', articleId)
      .orderBy('u.used_at', 'desc')
      .orderBy('u.id', 'desc')
      .execute();
  }

  async countUsages(articleId: string): Promise<number> {
    const row = await this.db.selectFrom('knowledge_usages').select((eb) => eb.fn.countAll().as('n')).where('article_id', '=', articleId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Usages of a ticket (which answers a citizen was given). */
  listUsagesOfTicket(ticketId: string) {
    return this.db
      .selectFrom('knowledge_usages as u')
      .innerJoin('knowledge_revisions as r', 'r.id', 'u.revision_id')
      .select(['u.id', 'u.city_id', 'u.article_id', 'u.revision_id', 'u.ticket_id', 'u.used_by', 'u.used_at', 'r.number as revision_number'])
      .where('u.ticket_id', '=', ticketId)
      .orderBy('u.used_at')
      .execute();
  }
}
