/** The knowledge base's HTTP shapes (zod, for fastify-type-provider-zod). */
import { z } from 'zod';
import { PageQuery } from '../../core/http';
import { InstantOrDate } from '../responsibility/responsibility.schemas';
import { ArticleStatus, CONTENT_LIMITS, RevisionStatus } from './domain/articles';

const id = z.string().min(1).max(64);

export const IdParams = z.strictObject({ id });

export const RevisionBody = z.object({
  id: z.string(),
  articleId: z.string(),
  number: z.number().int(),
  status: z.enum(RevisionStatus),
  question: z.string(),
  answer: z.string(),
  categoryCode: z.string().nullable(),
  keywords: z.array(z.string()),
  validFrom: z.string().nullable(),
  validTo: z.string().nullable(),
  sourceDocument: z.string().nullable(),
  authorId: z.string().nullable(),
  authorName: z.string().nullable(),
  createdAt: z.string(),
  updatedBy: z.string().nullable(),
  updatedAt: z.string(),
  submittedBy: z.string().nullable(),
  submittedAt: z.string().nullable(),
  reviewedBy: z.string().nullable(),
  reviewedAt: z.string().nullable(),
  rejectReason: z.string().nullable(),
  publishedAt: z.string().nullable(),
});

export const ArticleBody = z.object({
  id: z.string(),
  cityId: z.string(),
  code: z.string().nullable(),
  ownerUnitId: z.string().nullable(),
  status: z.enum(ArticleStatus),
  version: z.number().int(),
  published: RevisionBody.nullable(),
  pending: RevisionBody.nullable(),
  inForce: z.boolean(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  archivedBy: z.string().nullable(),
  archivedAt: z.string().nullable(),
  archiveReason: z.string().nullable(),
});

export const ArticlePageBody = z.object({
  items: z.array(ArticleBody),
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
});

export const ArticleListQuery = PageQuery.extend({
  state: z.enum(['draft', 'in_review', 'published', 'archived']).optional(),
  /** A unit's id, or `center` for the center's own articles. */
  ownerUnitId: id.optional(),
});

const content = {
  question: z.string().trim().min(1).max(CONTENT_LIMITS.question),
  answer: z.string().trim().min(1).max(CONTENT_LIMITS.answer),
  categoryCode: z.string().trim().min(1).max(32).nullish(),
  keywords: z.array(z.string().trim().min(1).max(CONTENT_LIMITS.keyword)).max(CONTENT_LIMITS.keywords).optional(),
  validFrom: InstantOrDate.nullish(),
  validTo: InstantOrDate.nullish(),
  sourceDocument: z.string().trim().max(CONTENT_LIMITS.sourceDocument).nullish(),
};

export const ArticleCreateBody = z.strictObject({ ...content, ownerUnitId: id.nullish() });

export const ArticlePatchBody = z.strictObject({
  version: z.number().int().min(1),
  question: content.question.optional(),
  answer: content.answer.optional(),
  categoryCode: content.categoryCode,
  keywords: content.keywords,
  validFrom: content.validFrom,
  validTo: content.validTo,
  sourceDocument: content.sourceDocument,
});

export const ReviewBody = z.discriminatedUnion('decision', [
  z.strictObject({ decision: z.literal('approve'), note: z.string().trim().max(2000).nullish() }),
  z.strictObject({ decision: z.literal('reject'), reason: z.string().trim().min(1).max(2000) }),
]);

export const ArchiveBody = z.strictObject({ reason: z.string().trim().max(2000).nullish() }).optional();

export const SearchQuery = z.object({
  q: z.string().trim().min(1).max(1000),
  categoryCode: z.string().trim().min(1).max(32).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(10),
});

export const SearchHitBody = z.object({
  articleId: z.string(),
  revisionId: z.string(),
  revisionNumber: z.number().int(),
  question: z.string(),
  answer: z.string(),
  categoryCode: z.string().nullable(),
  keywords: z.array(z.string()),
  ownerUnitId: z.string().nullable(),
  validFrom: z.string().nullable(),
  validTo: z.string().nullable(),
  sourceDocument: z.string().nullable(),
  score: z.number(),
  matchedTerms: z.array(z.string()),
});

export const BestAnswerBody = z.object({
  answer: SearchHitBody.extend({
    confident: z.boolean(),
    coverage: z.number(),
    margin: z.number().nullable(),
    reasonsZh: z.array(z.string()),
  }).nullable(),
});

export const UsageBody = z.object({
  id: z.string(),
  articleId: z.string(),
  revisionId: z.string(),
  revisionNumber: z.number().int(),
  ticketId: z.string(),
  usedBy: z.string().nullable(),
  usedAt: z.string(),
  current: z.boolean(),
});

export const UsageCreateBody = z.strictObject({ ticketId: id });
