/** The category tree (问题分类, 4 levels) as stored: replaced by a city import, read by routing. */
import type { Kysely } from 'kysely';
import type { DB } from '../../db';
import { badRequest, diffFields, newId, type TicketType, type Urgency } from '../../core';
import { CategoriesRepository, type CategoryRow } from './categories.repository';

/** A node of the 4-level category system (问题分类): level 1 is the broad field, level 4 the concrete matter. */
export interface Category {
  id: string;
  cityId: string;
  code: string;
  name: string;
  level: number;
  parentId: string | null;
  /** '/<level-1 id>/…/<own id>/'. */
  path: string;
  /** Words an agent or a caller uses for this matter; classification hints. */
  keywords: string[];
  defaultType: TicketType | null;
  defaultUrgency: Urgency | null;
  /** The time-limit policy (时限规则) this category's tickets follow, by code. */
  policyCode: string | null;
  /** Water, power, gas or heating (水电气暖): the utilities' on-site limit applies. */
  utility: boolean;
  /** Categories left out of a re-imported preset are deactivated, never deleted: tickets refer to them. */
  active: boolean;
}

/** A category as a city preset gives it, keyed by code; parents by code. */
export interface CategoryInput {
  code: string;
  name: string;
  level: number;
  parentCode: string | null;
  keywords: string[];
  defaultType: TicketType | null;
  defaultUrgency: Urgency | null;
  policyCode: string | null;
  utility: boolean;
}

type Fields = Omit<Category, 'id' | 'cityId' | 'code'>;

/** What `replaceCategoriesIn` did, for the caller's audit rows and summary. */
export interface CategoryChanges {
  created: Category[];
  updated: { id: string; code: string; before: Partial<Fields>; after: Partial<Fields> }[];
  deactivated: Category[];
  unchanged: number;
}

export const MAX_CATEGORY_LEVEL = 4;

function toCategory(r: CategoryRow): Category {
  const keywords: unknown = r.keywords ? JSON.parse(r.keywords) : [];
  return {
    id: r.id,
    cityId: r.city_id,
    code: r.code,
    name: r.name,
    level: Number(r.level),
    parentId: r.parent_id,
    path: r.path,
    keywords: Array.isArray(keywords) ? keywords.map(String) : [],
    defaultType: (r.default_type as TicketType | null) ?? null,
    defaultUrgency: (r.default_urgency as Urgency | null) ?? null,
    policyCode: r.policy_code,
    utility: Number(r.utility) === 1,
    active: Number(r.active) === 1,
  };
}

const fieldsOf = (c: Category): Fields => {
  const { id: _i, cityId: _c, code: _k, ...rest } = c;
  return rest;
};

/**
 * Makes the city's categories the given set, in the caller's transaction: adds new codes, updates
 * changed ones in place (ids stay, so tickets keep their category) and deactivates the codes not
 * given. Parents must be given (or exist) one level up. Writes no audit rows: the caller does, from
 * the returned changes.
 */
export async function replaceCategoriesIn(trx: Kysely<DB>, cityId: string, rows: CategoryInput[]): Promise<CategoryChanges> {
  const repo = new CategoriesRepository(trx);
  const existing = (await repo.listCityCategories(cityId)).map(toCategory);
  const byCode = new Map(existing.map((c) => [c.code, c]));
  const out: CategoryChanges = { created: [], updated: [], deactivated: [], unchanged: 0 };
  const given = new Set(rows.map((r) => r.code));
  for (const input of [...rows].sort((a, b) => a.level - b.level)) {
    if (!Number.isInteger(input.level) || input.level < 1 || input.level > MAX_CATEGORY_LEVEL) {
      throw badRequest('CATEGORY_LEVEL_INVALID', `category ${input.code}: level must be 1-${MAX_CATEGORY_LEVEL}`, `分类 ${input.code} 的层级须为1-${MAX_CATEGORY_LEVEL}`);
    }
    const parent = input.parentCode ? byCode.get(input.parentCode) : null;
    if (input.parentCode && !parent) throw badRequest('CATEGORY_PARENT_UNKNOWN', `category ${input.code}: no parent ${input.parentCode}`, `分类 ${input.code} 的上级 ${input.parentCode} 不存在`);
    if ((parent ? parent.level + 1 : 1) !== input.level) {
      throw badRequest('CATEGORY_LEVEL_ORDER', `category ${input.code}: level ${input.level} does not follow its parent`, `分类 ${input.code} 的层级与上级不符`);
    }
    const old = byCode.get(input.code);
    const id = old?.id ?? newId();
    const next: Category = {
      id,
      cityId,
      code: input.code,
      name: input.name,
      level: input.level,
      parentId: parent?.id ?? null,
      path: `${parent?.path ?? '/'}${id}/`,
      keywords: input.keywords,
      defaultType: input.defaultType,
      defaultUrgency: input.defaultUrgency,
      policyCode: input.policyCode,
      utility: input.utility,
      active: true,
    };
    const row: CategoryRow = {
      id,
      city_id: cityId,
      code: next.code,
      name: next.name,
      level: next.level,
      parent_id: next.parentId,
      path: next.path,
      keywords: JSON.stringify(next.keywords),
      default_type: next.defaultType,
      default_urgency: next.defaultUrgency,
      policy_code: next.policyCode,
      utility: next.utility ? 1 : 0,
      active: 1,
    };
    if (!old) {
      await repo.insertCategory(row);
      out.created.push(next);
      byCode.set(next.code, next);
      continue;
    }
    const { before, after, changed } = diffFields(fieldsOf(old), fieldsOf(next));
    if (!changed) {
      out.unchanged++;
      continue;
    }
    const { id: _id, city_id: _city, ...patch } = row;
    await repo.updateCategory(id, patch);
    if (old.path !== next.path) {
      // Moved: descendants' paths follow (those given in this batch are recomputed anyway).
      for (const d of byCode.values()) {
        if (d.id !== id && d.path.startsWith(old.path)) {
          d.path = next.path + d.path.slice(old.path.length);
          await repo.updateCategory(d.id, { path: d.path });
        }
      }
    }
    byCode.set(next.code, next);
    out.updated.push({ id, code: next.code, before, after });
  }
  for (const c of existing) {
    if (!given.has(c.code) && c.active) {
      await repo.updateCategory(c.id, { active: 0 });
      out.deactivated.push({ ...c, active: false });
    }
  }
  return out;
}

/** The city's categories ordered by code; active ones only unless asked. */
export async function listCategories(db: Kysely<DB>, cityId: string, opts: { includeInactive?: boolean } = {}): Promise<Category[]> {
  return (await new CategoriesRepository(db).listCityCategories(cityId, opts.includeInactive ?? false)).map(toCategory);
}

export async function getCategory(db: Kysely<DB>, id: string): Promise<Category | null> {
  const row = await new CategoriesRepository(db).findCategory(id);
  return row ? toCategory(row) : null;
}
