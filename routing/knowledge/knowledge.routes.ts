import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest, CENTER_ROLES, UNIT_ROLES, type Role } from '../../core';
import { actorOf, allowRoles, commandContext, errorResponses } from '../../core/http';
import { parseInstantOrDate } from '../responsibility/domain/dates';
import { CENTER_WRITER_ROLES, REVIEWER_ROLES, UNIT_WRITER_ROLES } from './domain/articles';
import type { ArticleInput, KnowledgeService } from './knowledge.service';
import {
  ArchiveBody, ArticleBody, ArticleCreateBody, ArticleListQuery, ArticlePageBody, ArticlePatchBody, BestAnswerBody, IdParams, RevisionBody, ReviewBody,
  SearchHitBody, SearchQuery, UsageBody, UsageCreateBody,
} from './knowledge.schemas';

export interface KnowledgeRoutesOptions {
  knowledge: KnowledgeService;
}

/** A date field of a body: undefined stays (not given), null clears, a string is parsed. */
function dateField(v: string | null | undefined, field: string, endOfDay: boolean): Date | null | undefined {
  if (v === undefined || v === null) return v;
  const d = parseInstantOrDate(v, { endOfDay });
  if (!d) throw badRequest('DATE_INVALID', `${field} is not a valid date`, `${field} 不是有效的日期`, { field });
  return d;
}

type ContentBody = { validFrom?: string | null; validTo?: string | null } & Omit<ArticleInput, 'validFrom' | 'validTo' | 'question' | 'answer'> & { question?: string; answer?: string };

function contentOf(b: ContentBody): Partial<ArticleInput> {
  const out: Partial<ArticleInput> = {};
  if (b.question !== undefined) out.question = b.question;
  if (b.answer !== undefined) out.answer = b.answer;
  if (b.categoryCode !== undefined) out.categoryCode = b.categoryCode;
  if (b.keywords !== undefined) out.keywords = b.keywords;
  if (b.sourceDocument !== undefined) out.sourceDocument = b.sourceDocument;
  const from = dateField(b.validFrom, 'validFrom', false);
  const to = dateField(b.validTo, 'validTo', true);
  if (from !== undefined) out.validFrom = from;
  if (to !== undefined) out.validTo = to;
  return out;
}

/**
 * /knowledge: the knowledge base (知识库) — search and best answer for agents during a call, articles
 * written by the center or a unit, their review, archive and usages.
 */
export async function knowledgeRoutes(app: FastifyInstance, opts: KnowledgeRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { knowledge } = opts;
  const writers = allowRoles(...CENTER_WRITER_ROLES, ...UNIT_WRITER_ROLES);
  const reviewers = allowRoles(...REVIEWER_ROLES);
  const archivers = allowRoles(...new Set<Role>([...CENTER_WRITER_ROLES, ...UNIT_WRITER_ROLES, ...REVIEWER_ROLES]));
  const answerers = allowRoles(...([...CENTER_ROLES, ...UNIT_ROLES].filter((x) => x !== 'system') as Role[]));

  r.get('/knowledge/search', {
    schema: { tags: ['knowledge'], summary: 'Search the published articles in force (知识检索)', querystring: SearchQuery, response: { 200: z.object({ items: z.array(SearchHitBody) }), ...errorResponses } },
  }, async (request) => {
    const { q, categoryCode, limit } = request.query;
    return { items: await knowledge.search(actorOf(request).cityId, q, { categoryCode, limit }) };
  });

  r.get('/knowledge/best', {
    schema: { tags: ['knowledge'], summary: 'The best answer and whether it is confident enough to answer on the spot (即办)', querystring: SearchQuery.omit({ limit: true }), response: { 200: BestAnswerBody, ...errorResponses } },
  }, async (request) => {
    const { q, categoryCode } = request.query;
    return { answer: await knowledge.bestAnswer(actorOf(request).cityId, q, { categoryCode }) };
  });

  r.get('/knowledge/articles', {
    schema: { tags: ['knowledge'], summary: 'Articles by state and owner (`ownerUnitId=center` for the center\'s)', querystring: ArticleListQuery, response: { 200: ArticlePageBody, ...errorResponses } },
  }, async (request) => {
    const { state, ownerUnitId, page, pageSize } = request.query;
    return knowledge.listArticles(actorOf(request), { state, ownerUnitId: ownerUnitId === 'center' ? null : ownerUnitId, page, pageSize });
  });

  r.post('/knowledge/articles', {
    preHandler: writers,
    schema: { tags: ['knowledge'], summary: 'Write a new article (draft)', body: ArticleCreateBody, response: { 201: ArticleBody, ...errorResponses } },
  }, async (request, reply) => {
    const b = request.body;
    const input = contentOf(b);
    const article = await knowledge.create(commandContext(request), { ...input, question: b.question, answer: b.answer, ownerUnitId: b.ownerUnitId });
    return reply.code(201).send(article);
  });

  r.get('/knowledge/articles/:id', {
    schema: { tags: ['knowledge'], summary: 'One article: the published revision and the one being written or reviewed', params: IdParams, response: { 200: ArticleBody, ...errorResponses } },
  }, async (request) => knowledge.getArticle(actorOf(request), request.params.id));

  r.get('/knowledge/articles/:id/revisions', {
    schema: { tags: ['knowledge'], summary: 'Every revision of an article, newest first', params: IdParams, response: { 200: z.object({ items: z.array(RevisionBody) }), ...errorResponses } },
  }, async (request) => ({ items: await knowledge.revisionsOf(actorOf(request), request.params.id) }));

  r.patch('/knowledge/articles/:id', {
    preHandler: writers,
    schema: {
      tags: ['knowledge'],
      summary: 'Edit an article: a draft in place; a published article gets a new revision to review (send the version you read)',
      params: IdParams,
      body: ArticlePatchBody,
      response: { 200: ArticleBody, ...errorResponses },
    },
  }, async (request) => {
    const { version, ...rest } = request.body;
    return knowledge.update(commandContext(request), request.params.id, version, contentOf(rest));
  });

  r.delete('/knowledge/articles/:id', {
    preHandler: writers,
    schema: { tags: ['knowledge'], summary: 'Delete an article never published (published ones are archived)', params: IdParams, response: { 204: z.null(), ...errorResponses } },
  }, async (request, reply) => {
    await knowledge.remove(commandContext(request), request.params.id);
    return reply.code(204).send(null);
  });

  r.post('/knowledge/articles/:id/submit', {
    preHandler: writers,
    schema: { tags: ['knowledge'], summary: 'Submit the draft for review (提交审核)', params: IdParams, response: { 200: ArticleBody, ...errorResponses } },
  }, async (request) => knowledge.submit(commandContext(request), request.params.id));

  r.post('/knowledge/articles/:id/review', {
    preHandler: reviewers,
    schema: { tags: ['knowledge'], summary: 'Approve (publish) or reject back to draft; not by the author', params: IdParams, body: ReviewBody, response: { 200: ArticleBody, ...errorResponses } },
  }, async (request) => knowledge.review(commandContext(request), request.params.id, request.body));

  r.post('/knowledge/articles/:id/archive', {
    preHandler: archivers,
    schema: { tags: ['knowledge'], summary: 'Archive: hidden from search; revisions and usages are kept', params: IdParams, body: ArchiveBody, response: { 200: ArticleBody, ...errorResponses } },
  }, async (request) => knowledge.archive(commandContext(request), request.params.id, request.body?.reason));

  r.get('/knowledge/articles/:id/usages', {
    preHandler: answerers,
    schema: { tags: ['knowledge'], summary: 'The tickets the article answered, with the revision given', params: IdParams, response: { 200: z.object({ items: z.array(UsageBody) }), ...errorResponses } },
  }, async (request) => {
    const actor = actorOf(request);
    const article = await knowledge.getArticle(actor, request.params.id);
    return { items: await knowledge.usagesOf(article.id, { cityId: actor.cityId }) };
  });

  r.post('/knowledge/articles/:id/usages', {
    preHandler: answerers,
    schema: { tags: ['knowledge'], summary: 'Record that the article answered a ticket', params: IdParams, body: UsageCreateBody, response: { 201: UsageBody, ...errorResponses } },
  }, async (request, reply) => reply.code(201).send(await knowledge.recordUse(commandContext(request), request.params.id, request.body.ticketId)));
}
