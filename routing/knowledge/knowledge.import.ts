/**
 * A city preset's knowledge base (`knowledge.json`): articles the city brings along, published at once
 * (the preset is the city's own checked data). Keyed by `code`: importing the same file again changes
 * nothing; a changed article gets a new published revision (the old one is kept, superseded).
 *
 * ```json
 * { "articles": [ { "code": "kb-sbk-bl", "question": "…", "answer": "…", "categoryCode": "0602",
 *     "ownerUnitCode": "dept-rsj", "keywords": ["社保卡", "补办"], "validFrom": "2025-01-01",
 *     "validTo": "2026-12-31", "sourceDocument": "…" } ] }
 * ```
 * `validFrom`/`validTo`: a date (China time; `validTo` includes the whole day) or ISO 8601 with a zone.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB, DialectName } from '../../db';
import { recordAudit } from '../../audit';
import { dbTimeToIso, fromDbTime, newId, toDbTime, unprocessable, type CommandContext } from '../../core';
import { parseInstantOrDate } from '../responsibility/domain/dates';
import { checkContent, sameContent, type ArticleContent } from './domain/articles';
import { KnowledgeRepository, type RevisionRow } from './knowledge.repository';
import { revisionRow } from './knowledge.service';

/** A problem of the file: `index` is the article's position (0-based; -1 for the file as a whole). */
export interface KnowledgeProblem {
  index: number;
  code?: string;
  field?: string;
  message: string;
  messageZh: string;
}

export interface PresetArticle {
  index: number;
  code: string;
  ownerUnitId: string | null;
  ownerUnitCode: string | null;
  content: ArticleContent;
}

export interface KnowledgeLookups {
  categoryCodes: ReadonlySet<string>;
  units: ReadonlyMap<string, { id: string; active: boolean }>;
}

const CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const ArticleJson = z.strictObject({
  code: z.string(),
  question: z.string(),
  answer: z.string(),
  categoryCode: z.string().nullish(),
  ownerUnitCode: z.string().nullish(),
  keywords: z.array(z.string()).optional(),
  validFrom: z.string().nullish(),
  validTo: z.string().nullish(),
  sourceDocument: z.string().nullish(),
});

/** Reads and checks a knowledge file: every problem with the article's index, code and field. */
export function parseKnowledgeJson(text: string, lookups: KnowledgeLookups): { ok: true; articles: PresetArticle[] } | { ok: false; problems: KnowledgeProblem[] } {
  const problems: KnowledgeProblem[] = [];
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    return { ok: false, problems: [{ index: -1, message: `not JSON: ${(err as Error).message}`, messageZh: `不是有效的 JSON：${(err as Error).message}` }] };
  }
  const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' && Array.isArray((raw as { articles?: unknown }).articles) ? (raw as { articles: unknown[] }).articles : null;
  if (!list) return { ok: false, problems: [{ index: -1, field: 'articles', message: 'expected { "articles": [ … ] }', messageZh: '应为 { "articles": [ … ] } 格式' }] };
  const seen = new Map<string, number>();
  const articles: PresetArticle[] = [];
  list.forEach((item, index) => {
    const parsed = ArticleJson.safeParse(item);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : undefined);
        problems.push({ index, field, message: issue.message, messageZh: `字段格式不正确：${issue.message}` });
      }
      return;
    }
    const a = parsed.data;
    const code = a.code.trim();
    const add = (field: string, message: string, messageZh: string) => problems.push({ index, code, field, message, messageZh });
    if (!CODE.test(code)) add('code', `code "${code}": 1-64 letters, digits or . _ -`, `编码「${code}」须为1-64位字母、数字或 . _ -`);
    else if (seen.has(code)) add('code', `duplicate code ${code} (first at index ${seen.get(code)})`, `编码 ${code} 重复（首次出现在第${seen.get(code)! + 1}条）`);
    else seen.set(code, index);
    let ownerUnitId: string | null = null;
    const ownerUnitCode = a.ownerUnitCode?.trim() || null;
    if (ownerUnitCode) {
      const u = lookups.units.get(ownerUnitCode);
      if (!u) add('ownerUnitCode', `unknown unit ${ownerUnitCode}`, `承办单位 ${ownerUnitCode} 不存在`);
      else if (!u.active) add('ownerUnitCode', `unit ${ownerUnitCode} is inactive`, `承办单位 ${ownerUnitCode} 已停用`);
      else ownerUnitId = u.id;
    }
    const date = (field: 'validFrom' | 'validTo', s: string | null | undefined) => {
      if (!s) return null;
      const d = parseInstantOrDate(s, { endOfDay: field === 'validTo' });
      if (!d) add(field, `${field} "${s}" is not a date (YYYY-MM-DD or ISO 8601 with a zone)`, `${field}「${s}」不是有效日期`);
      return d;
    };
    const validFrom = date('validFrom', a.validFrom);
    const validTo = date('validTo', a.validTo);
    const { content, problems: contentProblems } = checkContent(
      { question: a.question, answer: a.answer, categoryCode: a.categoryCode ?? null, keywords: a.keywords ?? [], validFrom, validTo, sourceDocument: a.sourceDocument ?? null },
      lookups.categoryCodes,
    );
    for (const p of contentProblems) add(p.field, p.message, p.messageZh);
    articles.push({ index, code, ownerUnitId, ownerUnitCode, content });
  });
  return problems.length ? { ok: false, problems } : { ok: true, articles };
}

export interface PresetKnowledgeInput {
  cityId: string;
  /** The text of knowledge.json. */
  json: string;
  /** The city's units by code, as the caller's transaction sees them. */
  units: { id: string; code: string; active?: boolean }[];
  now: Date;
  dialect: DialectName;
}

export interface PresetKnowledgeResult {
  created: number;
  updated: number;
  unchanged: number;
  /** Article ids by code. */
  idsByCode: Map<string, string>;
}

const contentOfRow = (r: RevisionRow): ArticleContent => ({
  question: r.question,
  answer: r.answer,
  categoryCode: r.category_code,
  keywords: typeof r.keywords === 'string' ? (JSON.parse(r.keywords) as string[]) : (r.keywords as unknown as string[]),
  validFrom: r.valid_from ? fromDbTime(r.valid_from) : null,
  validTo: r.valid_to ? fromDbTime(r.valid_to) : null,
  sourceDocument: r.source_document,
});

/**
 * Imports a preset's articles in the caller's transaction, published at once; by code, idempotent.
 * Archived articles are left alone. Problems: 422 KNOWLEDGE_PRESET_INVALID with `details.problems`.
 * Call the knowledge service's `invalidate(cityId)` after the transaction commits.
 */
export async function importKnowledgeIn(trx: Kysely<DB>, ctx: CommandContext, input: PresetKnowledgeInput): Promise<PresetKnowledgeResult> {
  const categories = await trx.selectFrom('categories').select(['code', 'active']).where('city_id', '=', input.cityId).execute();
  const parsed = parseKnowledgeJson(input.json, {
    categoryCodes: new Set(categories.filter((c) => Number(c.active) === 1).map((c) => c.code)),
    units: new Map(input.units.map((u) => [u.code, { id: u.id, active: u.active !== false }])),
  });
  if (!parsed.ok) {
    throw unprocessable('KNOWLEDGE_PRESET_INVALID', `the knowledge file has ${parsed.problems.length} problem(s); nothing was imported`, `知识库文件有 ${parsed.problems.length} 处问题，未导入任何内容`, {
      problems: parsed.problems,
    });
  }
  const r = new KnowledgeRepository(trx, input.dialect);
  const out: PresetKnowledgeResult = { created: 0, updated: 0, unchanged: 0, idsByCode: new Map() };
  const at = toDbTime(input.now);
  for (const p of parsed.articles) {
    const existing = await r.findArticleByCode(input.cityId, p.code);
    if (!existing) {
      const id = newId();
      const rev = revisionRow({ articleId: id, cityId: input.cityId, number: 1, status: 'published', content: p.content, actor: ctx.actor, now: input.now });
      await r.insertRevision(rev);
      await r.insertArticle({
        id,
        city_id: input.cityId,
        code: p.code,
        owner_unit_id: p.ownerUnitId,
        status: 'published',
        pending_status: null,
        published_revision_id: rev.id,
        pending_revision_id: null,
        version: 1,
        created_by: ctx.actor.id,
        created_at: at,
        updated_at: at,
        archived_by: null,
        archived_at: null,
        archive_reason: null,
      });
      await recordAudit(trx, ctx, { entityType: 'knowledge_article', entityId: id, action: 'knowledge_article.preset_imported', after: { code: p.code, revision: 1, question: p.content.question }, cityId: input.cityId }, input.now);
      out.created++;
      out.idsByCode.set(p.code, id);
      continue;
    }
    out.idsByCode.set(p.code, existing.id);
    const published = existing.published_revision_id ? await r.findRevision(existing.published_revision_id) : undefined;
    if (existing.status === 'archived' || (published && sameContent(contentOfRow(published), p.content) && existing.owner_unit_id === p.ownerUnitId)) {
      out.unchanged++;
      continue;
    }
    const number = await r.nextRevisionNumber(existing.id);
    const rev = revisionRow({ articleId: existing.id, cityId: input.cityId, number, status: 'published', content: p.content, actor: ctx.actor, now: input.now });
    await r.insertRevision(rev);
    if (published) await r.updateRevision(published.id, { status: 'superseded' });
    await r.updateArticleIfVersion(existing.id, Number(existing.version), {
      status: 'published',
      owner_unit_id: p.ownerUnitId,
      published_revision_id: rev.id,
      version: Number(existing.version) + 1,
      updated_at: at,
    });
    await recordAudit(
      trx,
      ctx,
      {
        entityType: 'knowledge_article',
        entityId: existing.id,
        action: 'knowledge_article.preset_imported',
        before: { revision: published ? Number(published.number) : null },
        after: { code: p.code, revision: number, question: p.content.question, validTo: p.content.validTo ? dbTimeToIso(toDbTime(p.content.validTo)) : null },
        cityId: input.cityId,
      },
      input.now,
    );
    out.updated++;
  }
  return out;
}
