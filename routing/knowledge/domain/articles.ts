/**
 * Knowledge articles (知识库条目) behind answers on the spot (即办): who may write and review them,
 * their review flow and the checks on their content. Pure.
 *
 * Flow: a revision is written as a draft, submitted (待审核), and approved (published) or rejected
 * back to draft with a reason. Editing a published article starts a new revision; the published one
 * stays what agents see until the new one is approved. Archiving hides the article for good.
 */
import { badRequest, forbidden, type Actor } from '../../../core';

/** The article as a whole. */
export const ArticleStatus = {
  draft: 'draft', // never published yet
  published: 'published', // a revision is published (another may be pending)
  archived: 'archived', // withdrawn: hidden from search, kept for the usages
} as const;
export type ArticleStatus = (typeof ArticleStatus)[keyof typeof ArticleStatus];

/** One revision (版本) of an article. */
export const RevisionStatus = {
  draft: 'draft', // 草稿 (also after a rejection)
  inReview: 'in_review', // 待审核
  published: 'published', // 已发布
  superseded: 'superseded', // 被新版本替代
} as const;
export type RevisionStatus = (typeof RevisionStatus)[keyof typeof RevisionStatus];

export const RevisionStatusLabelZh: Readonly<Record<RevisionStatus, string>> = {
  draft: '草稿',
  in_review: '待审核',
  published: '已发布',
  superseded: '已替代',
};

/** Center roles that write the center's articles. */
export const CENTER_WRITER_ROLES = ['agent', 'dispatcher', 'admin'] as const;
/** Unit roles that write their own unit's articles. */
export const UNIT_WRITER_ROLES = ['unit_handler', 'unit_manager'] as const;
/** Who reviews (审核) articles; never the revision's own author. */
export const REVIEWER_ROLES = ['dispatcher', 'admin', 'supervisor'] as const;

type ActorLike = Pick<Actor, 'id' | 'role' | 'unitId'>;
const has = (list: readonly string[], role: string) => list.includes(role);

/** Whether the actor may write an article owned by `ownerUnitId` (null: the hotline center). */
export function mayWrite(actor: ActorLike, ownerUnitId: string | null): boolean {
  if (actor.role === 'system' || actor.role === 'admin') return true;
  if (ownerUnitId === null) return has(CENTER_WRITER_ROLES, actor.role);
  return has(UNIT_WRITER_ROLES, actor.role) && actor.unitId === ownerUnitId;
}

export function assertMayWrite(actor: ActorLike, ownerUnitId: string | null): void {
  if (!mayWrite(actor, ownerUnitId)) {
    throw forbidden(
      'KNOWLEDGE_WRITE_FORBIDDEN',
      ownerUnitId ? "only the owning unit's staff may write this article" : 'only agents, dispatchers and admins write the center\'s articles',
      ownerUnitId ? '只有所属单位的人员可以编辑该知识' : '只有话务员、派单员和管理员可以编辑热线中心的知识',
    );
  }
}

/**
 * The owner of a new article: a unit's staff write for their unit; center writers for the center;
 * an admin (or the system) for any unit.
 */
export function ownerForNewArticle(actor: ActorLike, requested: string | null | undefined): string | null {
  if (has(UNIT_WRITER_ROLES, actor.role)) {
    if (!actor.unitId) throw forbidden('KNOWLEDGE_WRITE_FORBIDDEN', 'a unit role without a unit cannot write articles', '未关联单位的账号不能编写知识');
    if (requested && requested !== actor.unitId) throw forbidden('KNOWLEDGE_WRITE_FORBIDDEN', "unit staff write their own unit's articles only", '单位人员只能编写本单位的知识');
    return actor.unitId;
  }
  if (actor.role === 'admin' || actor.role === 'system') return requested ?? null;
  if (has(CENTER_WRITER_ROLES, actor.role)) {
    if (requested) throw forbidden('KNOWLEDGE_WRITE_FORBIDDEN', "the center's staff write the center's articles; a unit writes its own", '热线中心人员只能编写中心的知识，单位知识由单位编写');
    return null;
  }
  throw forbidden('KNOWLEDGE_WRITE_FORBIDDEN', `role ${actor.role} does not write knowledge articles`, `角色 ${actor.role} 无权编写知识`);
}

/** Reviewers approve or reject; whoever wrote, edited or submitted the revision may not (双人审核). */
export function assertMayReview(actor: ActorLike, authors: (string | null)[]): void {
  if (actor.role !== 'system' && !has(REVIEWER_ROLES, actor.role)) {
    throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} may not review knowledge articles`, `角色 ${actor.role} 无权审核知识`);
  }
  if (actor.role !== 'system' && (!actor.id || authors.includes(actor.id))) {
    throw forbidden('FOUR_EYES', 'the author of a revision cannot review it', '知识的编写人不能审核自己的内容（双人审核）');
  }
}

export function mayArchive(actor: ActorLike, ownerUnitId: string | null): boolean {
  return mayWrite(actor, ownerUnitId) || has(REVIEWER_ROLES, actor.role);
}

/** Who sees drafts and reviews of an article: the center, and the owning unit. */
export function maySeeDrafts(actor: Pick<Actor, 'role' | 'unitId'>, ownerUnitId: string | null): boolean {
  if (['agent', 'dispatcher', 'supervisor', 'admin', 'system'].includes(actor.role)) return true;
  return ownerUnitId !== null && has(UNIT_WRITER_ROLES, actor.role) && actor.unitId === ownerUnitId;
}

/** The content of a revision. */
export interface ArticleContent {
  question: string;
  answer: string;
  categoryCode: string | null;
  keywords: string[];
  validFrom: Date | null;
  validTo: Date | null;
  sourceDocument: string | null;
}

export const CONTENT_LIMITS = { question: 300, answer: 20_000, keyword: 32, keywords: 30, sourceDocument: 500 } as const;
const len = (s: string) => [...s].length;

/** A problem of an article's content, by field. */
export interface ContentProblem {
  field: string;
  message: string;
  messageZh: string;
}

/** Trims and checks content; `categoryCodes` are the city's active categories. */
export function checkContent(input: ArticleContent, categoryCodes: ReadonlySet<string>): { content: ArticleContent; problems: ContentProblem[] } {
  const problems: ContentProblem[] = [];
  const add = (field: string, message: string, messageZh: string) => problems.push({ field, message, messageZh });
  const question = input.question.trim();
  const answer = input.answer.trim();
  if (!question) add('question', 'question is required', '问题必填');
  else if (len(question) > CONTENT_LIMITS.question) add('question', `question is longer than ${CONTENT_LIMITS.question} characters`, `问题超过${CONTENT_LIMITS.question}个字符`);
  if (!answer) add('answer', 'answer is required', '答案必填');
  else if (len(answer) > CONTENT_LIMITS.answer) add('answer', `answer is longer than ${CONTENT_LIMITS.answer} characters`, `答案超过${CONTENT_LIMITS.answer}个字符`);
  const categoryCode = input.categoryCode?.trim() || null;
  if (categoryCode && !categoryCodes.has(categoryCode)) add('categoryCode', `unknown or inactive category ${categoryCode}`, `分类 ${categoryCode} 不存在或已停用`);
  const keywords = [...new Set(input.keywords.map((k) => k.trim()).filter(Boolean))];
  if (keywords.length > CONTENT_LIMITS.keywords) add('keywords', `more than ${CONTENT_LIMITS.keywords} keywords`, `关键词超过${CONTENT_LIMITS.keywords}个`);
  for (const k of keywords) if (len(k) > CONTENT_LIMITS.keyword) add('keywords', `keyword "${k}" is longer than ${CONTENT_LIMITS.keyword} characters`, `关键词「${k}」超过${CONTENT_LIMITS.keyword}个字符`);
  if (input.validFrom && Number.isNaN(input.validFrom.getTime())) add('validFrom', 'validFrom is not a date', '生效日期无效');
  if (input.validTo && Number.isNaN(input.validTo.getTime())) add('validTo', 'validTo is not a date', '失效日期无效');
  if (input.validFrom && input.validTo && input.validTo.getTime() <= input.validFrom.getTime()) add('validTo', 'validTo must be after validFrom', '失效日期须晚于生效日期');
  const sourceDocument = input.sourceDocument?.trim() || null;
  if (sourceDocument && len(sourceDocument) > CONTENT_LIMITS.sourceDocument) add('sourceDocument', `sourceDocument is longer than ${CONTENT_LIMITS.sourceDocument} characters`, `来源文件超过${CONTENT_LIMITS.sourceDocument}个字符`);
  return { content: { question, answer, categoryCode, keywords, validFrom: input.validFrom, validTo: input.validTo, sourceDocument }, problems };
}

export function assertContent(input: ArticleContent, categoryCodes: ReadonlySet<string>): ArticleContent {
  const { content, problems } = checkContent(input, categoryCodes);
  if (problems.length) {
    throw badRequest('KNOWLEDGE_ARTICLE_INVALID', problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems.map((p) => p.messageZh).join('；'), { problems });
  }
  return content;
}

/** Whether an article is in force at `now` (valid_from ≤ now ≤ valid_to, open ends allowed). */
export function isValidAt(validFrom: number | null, validTo: number | null, now: number): boolean {
  return (validFrom === null || validFrom <= now) && (validTo === null || validTo >= now);
}

export const sameContent = (a: ArticleContent, b: ArticleContent): boolean =>
  a.question === b.question &&
  a.answer === b.answer &&
  a.categoryCode === b.categoryCode &&
  JSON.stringify(a.keywords) === JSON.stringify(b.keywords) &&
  (a.validFrom?.getTime() ?? null) === (b.validFrom?.getTime() ?? null) &&
  (a.validTo?.getTime() ?? null) === (b.validTo?.getTime() ?? null) &&
  a.sourceDocument === b.sourceDocument;
