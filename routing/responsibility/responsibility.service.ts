import type { Kysely } from 'kysely';
import type { DB, DialectName } from '../../db';
import { isUniqueViolation, transactionWithRetry } from '../../db';
import { recordAudit } from '../../audit';
import {
  conflict, dbTimeToIso, forbidden, fromDbTime, newId, notFound, systemClock, toDbTime, unprocessable, TtlCache, parseJsonColumn,
  type Clock, type CommandContext,
} from '../../core';
import type { DirectoryService, Unit } from '../../directory';
import { ResponsibilityRepository, type ItemRow, type VersionRow } from './responsibility.repository';
import {
  ActingLevelLabelZh, itemsHash, parseResponsibilityCsv, writeResponsibilityCsv,
  type ActingLevel, type CsvLookups, type CsvProblem, type ItemUnitRef, type ResponsibilityItemInput,
} from './domain/items';
import {
  assertMayManage, decideApprove, decidePropose, decideReject, stateOf, versionInForce,
  type VersionFacts, type VersionState, type VersionStatus, type VersionTimeline,
} from './domain/versions';
import { rankItems, type MatchReason } from './domain/match';

/** A category as the list needs it (the routing `Category` fits). */
export interface ResponsibilityCategory {
  id: string;
  code: string;
  name?: string;
  parentId: string | null;
  active?: boolean;
}

/** A unit as the importer knows it (code → id); the directory's `Unit` fits. */
export interface UnitLookup {
  id: string;
  code: string;
  kind: string;
  active?: boolean;
}

export interface ResponsibilityDeps {
  db: Kysely<DB>;
  dialect: DialectName;
  clock?: Clock;
  directory: Pick<DirectoryService, 'listUnits' | 'getTerritory' | 'territoryAncestors'>;
  /** The city's categories (active ones at least): codes are checked against them and ancestors found. */
  categories: (cityId: string) => Promise<ResponsibilityCategory[]>;
  /** How long unit and category lookups are reused by `match` (default 60 s). */
  cacheTtlMs?: number;
}

/** One version of a city's responsibility list (责任清单版本). Times are ISO 8601 in China time. */
export interface ResponsibilityVersion {
  id: string;
  cityId: string;
  /** 1, 2, 3 … per city. */
  number: number;
  status: VersionStatus;
  /** The status as of now: approved versions are scheduled, active or superseded by their dates. */
  state: VersionState;
  note: string | null;
  itemCount: number;
  /** sha256 of the items' content. */
  sourceHash: string;
  effectiveFrom: string | null;
  createdBy: string | null;
  createdAt: string;
  proposedBy: string | null;
  proposedAt: string | null;
  /** Who approved or rejected it, and when. */
  decidedBy: string | null;
  decidedAt: string | null;
  rejectReason: string | null;
}

/** One item (清单事项) of a version: the CSV row's fields, stored. */
export interface ResponsibilityItem extends Omit<ResponsibilityItemInput, 'line'> {
  id: string;
  versionId: string;
  seq: number;
}

export interface UnitSummary {
  id: string;
  code: string;
  name: string;
  kind: string;
  active: boolean;
  dutyPhone: string | null;
}

export interface MatchInput {
  /** The ticket's category code. */
  categoryCode: string;
  /** The category's ancestors' codes, top down; looked up from the categories when absent. */
  categoryPath?: string[];
  /** What the caller said (situation, demand): the situation keywords are looked for in it. */
  text?: string | null;
  /** The instant whose list applies (default now): a ticket is routed under the version in force then. */
  at?: Date;
  /** The ticket's place: territorial items resolve the acting street or community from it. */
  territoryId?: string | null;
  /** Match in this version instead of the one in force (re-dispatching a ticket under its own version). */
  versionId?: string;
}

/** An item that answers the ticket, with why and who acts. */
export interface MatchedItem extends ResponsibilityItem {
  rank: number;
  score: number;
  why: MatchReason & { explanationZh: string };
  /** The unit that acts: a city item's lead, or the territorial unit of the ticket's place at the item's level (null when unknown). */
  actingUnit: UnitSummary | null;
  coHandlingUnits: UnitSummary[];
}

export interface MatchResult {
  /** The version matched in; store it on the ticket. Null when the city has no list in force. */
  versionId: string | null;
  versionNumber: number | null;
  at: string;
  categoryCode: string;
  items: MatchedItem[];
}

export interface VersionPage {
  version: ResponsibilityVersion;
  items: ResponsibilityItem[];
  total: number;
  page: number;
  pageSize: number;
}

export type ResponsibilityService = ReturnType<typeof createResponsibilityService>;

const ENTITY = 'responsibility_version';

const parseJson = parseJsonColumn;

export function toVersion(r: VersionRow, state: VersionState): ResponsibilityVersion {
  return {
    id: r.id,
    cityId: r.city_id,
    number: Number(r.number),
    status: r.status as VersionStatus,
    state,
    note: r.note,
    itemCount: Number(r.item_count),
    sourceHash: r.source_hash,
    effectiveFrom: dbTimeToIso(r.effective_from),
    createdBy: r.created_by,
    createdAt: dbTimeToIso(r.created_at)!,
    proposedBy: r.proposed_by,
    proposedAt: dbTimeToIso(r.proposed_at),
    decidedBy: r.decided_by,
    decidedAt: dbTimeToIso(r.decided_at),
    rejectReason: r.reject_reason,
  };
}

export function toItem(r: ItemRow): ResponsibilityItem {
  return {
    id: r.id,
    versionId: r.version_id,
    seq: Number(r.seq),
    itemCode: r.item_code,
    categoryCode: r.category_code,
    situationKeywords: parseJson<string[]>(r.situation_keywords, []),
    actingLevel: r.territory_level as ActingLevel,
    leadUnit: r.lead_unit_id && r.lead_unit_code ? { id: r.lead_unit_id, code: r.lead_unit_code } : null,
    coUnits: parseJson<ItemUnitRef[]>(r.co_units, []),
    procedure: r.handling_procedure,
    standard: r.standard,
    contactPhone: r.contact_phone,
    legalBasis: r.legal_basis,
  };
}

const timelineOf = (r: Pick<VersionRow, 'id' | 'number' | 'status' | 'effective_from'>): VersionTimeline => ({
  id: r.id,
  number: Number(r.number),
  status: r.status as VersionStatus,
  effectiveFrom: r.effective_from ? fromDbTime(r.effective_from) : null,
});

const factsOf = (r: VersionRow): VersionFacts => ({ ...timelineOf(r), proposedBy: r.proposed_by, createdBy: r.created_by });

const csvInvalid = (problems: CsvProblem[]) =>
  unprocessable(
    'RESPONSIBILITY_CSV_INVALID',
    `the responsibility list has ${problems.length} problem(s); nothing was imported`,
    `责任清单有 ${problems.length} 处问题，未导入任何内容`,
    { problems },
  );

/** Units by code for the CSV check. */
export function csvLookups(categories: { code: string; active?: boolean }[], units: UnitLookup[]): CsvLookups {
  return {
    categoryCodes: new Set(categories.filter((c) => c.active !== false).map((c) => c.code)),
    units: new Map(units.map((u) => [u.code, { id: u.id, code: u.code, kind: u.kind, active: u.active !== false }])),
  };
}

function itemRows(versionId: string, items: ResponsibilityItemInput[]): ItemRow[] {
  return items.map((i, n) => ({
    id: newId(),
    version_id: versionId,
    seq: n + 1,
    item_code: i.itemCode,
    category_code: i.categoryCode,
    situation_keywords: JSON.stringify(i.situationKeywords),
    territory_level: i.actingLevel,
    lead_unit_id: i.leadUnit?.id ?? null,
    lead_unit_code: i.leadUnit?.code ?? null,
    co_units: JSON.stringify(i.coUnits),
    handling_procedure: i.procedure,
    standard: i.standard,
    contact_phone: i.contactPhone,
    legal_basis: i.legalBasis,
  }));
}

interface NewVersion {
  cityId: string;
  items: ResponsibilityItemInput[];
  note: string | null;
  status: VersionStatus;
  effectiveFrom: Date | null;
  now: Date;
  actorId: string | null;
}

/** Writes a version and its items; the number is the city's next (a concurrent twin makes the caller retry). */
async function insertVersionIn(trx: Kysely<DB>, v: NewVersion): Promise<VersionRow> {
  const repo = new ResponsibilityRepository(trx);
  const id = newId();
  const at = toDbTime(v.now);
  const approved = v.status === 'approved';
  const row: VersionRow = {
    id,
    city_id: v.cityId,
    number: await repo.nextNumber(v.cityId),
    status: v.status,
    note: v.note,
    source_hash: itemsHash(v.items),
    item_count: v.items.length,
    effective_from: v.effectiveFrom ? toDbTime(v.effectiveFrom) : null,
    created_by: v.actorId,
    created_at: at,
    proposed_by: approved ? v.actorId : null,
    proposed_at: approved ? at : null,
    decided_by: approved ? v.actorId : null,
    decided_at: approved ? at : null,
    reject_reason: null,
    updated_at: at,
  };
  await repo.insertVersion(row);
  await repo.insertItems(itemRows(id, v.items));
  return row;
}

/**
 * A version's number is the city's highest plus one: drafts imported at the same moment pick the
 * same number and all but one lose on the unique key. They try again with the next number, after a
 * short random pause so that a crowd spreads out (20 at once settle within a few rounds). One that
 * still loses after 12 rounds is answered 409 CONFLICT_DUPLICATE by the error handler.
 */
async function withNumberRetry<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= 12 || !isUniqueViolation(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}

export interface PresetListInput {
  cityId: string;
  /** The CSV text (format of {@link RESPONSIBILITY_CSV_COLUMNS}). */
  csv: string;
  /** The city's units by code, as the caller's transaction sees them (the preset has just written them). */
  units: UnitLookup[];
  note?: string | null;
  /** When the list takes effect (default `now`). */
  effectiveFrom?: Date;
  now: Date;
}

export interface PresetListResult {
  outcome: 'created' | 'unchanged';
  versionId: string;
  number: number;
  items: number;
}

/**
 * Imports a city preset's list in the caller's transaction, approved at once (the preset is the
 * city's own data, checked by whoever prepared it): a new version in force from `effectiveFrom`
 * (default now). When the version in force has the same items, nothing is written ('unchanged'), so
 * importing the same folder again changes nothing. Categories are read through `trx` (the preset may
 * have just written them). Problems: 422 RESPONSIBILITY_CSV_INVALID with `details.problems` (line, field).
 */
export async function importResponsibilityCsvIn(trx: Kysely<DB>, ctx: CommandContext, input: PresetListInput): Promise<PresetListResult> {
  const categories = await trx.selectFrom('categories').select(['code', 'active']).where('city_id', '=', input.cityId).execute();
  const parsed = parseResponsibilityCsv(input.csv, csvLookups(categories.map((c) => ({ code: c.code, active: Number(c.active) === 1 })), input.units));
  if (!parsed.ok) throw csvInvalid(parsed.problems);
  const repo = new ResponsibilityRepository(trx);
  const inForce = versionInForce((await repo.listApproved(input.cityId)).map(timelineOf), input.now);
  const hash = itemsHash(parsed.items);
  if (inForce) {
    const row = (await repo.findVersion(inForce.id))!;
    if (row.source_hash === hash) return { outcome: 'unchanged', versionId: row.id, number: Number(row.number), items: Number(row.item_count) };
  }
  const effectiveFrom = input.effectiveFrom ?? input.now;
  const row = await insertVersionIn(trx, {
    cityId: input.cityId,
    items: parsed.items,
    note: input.note ?? 'city preset',
    status: 'approved',
    effectiveFrom,
    now: input.now,
    actorId: ctx.actor.id,
  });
  await recordAudit(
    trx,
    ctx,
    {
      entityType: ENTITY,
      entityId: row.id,
      action: 'responsibility_version.preset_imported',
      after: { number: row.number, items: row.item_count, sourceHash: row.source_hash, effectiveFrom: dbTimeToIso(row.effective_from), note: row.note },
      cityId: input.cityId,
    },
    input.now,
  );
  return { outcome: 'created', versionId: row.id, number: Number(row.number), items: Number(row.item_count) };
}

interface LoadedVersion {
  items: ResponsibilityItem[];
  byCategory: Map<string, ResponsibilityItem[]>;
}

const unitSummary = (u: Unit): UnitSummary => ({ id: u.id, code: u.code, name: u.name, kind: u.kind, active: u.active, dutyPhone: u.dutyPhone });

function explain(why: MatchReason, item: ResponsibilityItem): string {
  const parts = [why.category === 'exact' ? `分类完全匹配（${item.categoryCode}）` : `上级分类匹配（${item.categoryCode}，相差${why.distance}级）`];
  if (why.keywordsHit.length) parts.push(`情形关键词命中：${why.keywordsHit.join('、')}`);
  else if (why.situationUnconfirmed) parts.push(`未提及本事项情形（${item.situationKeywords.join('、')}）`);
  parts.push(item.actingLevel === 'city' ? '市直部门承办' : `属地${ActingLevelLabelZh[item.actingLevel]}承办`);
  return parts.join('；');
}

/**
 * The responsibility list (责任清单): versions imported from CSV, proposed, approved by a second person
 * with an effective date (or rejected), exported back to CSV; and `match`, which finds the items that
 * answer a ticket in the version in force at the ticket's time.
 */
export function createResponsibilityService(deps: ResponsibilityDeps) {
  const clock = deps.clock ?? systemClock;
  const ttl = deps.cacheTtlMs ?? 60_000;
  const repo = new ResponsibilityRepository(deps.db);
  // Items of a version never change once written: cached by version id.
  const loaded = new Map<string, LoadedVersion>();
  const unitsCache = new TtlCache<Map<string, Unit>>(ttl, 1_000);
  const categoriesCache = new TtlCache<ResponsibilityCategory[]>(ttl, 1_000);

  const versionNotFound = (id: string) => notFound('RESPONSIBILITY_VERSION_NOT_FOUND', `no responsibility list version ${id}`, `责任清单版本 ${id} 不存在`, { id });

  function assertCity(ctx: CommandContext, cityId: string) {
    if (ctx.actor.role !== 'system' && ctx.actor.cityId !== cityId) {
      throw forbidden('CITY_FORBIDDEN', `actor of city ${ctx.actor.cityId} may not change city ${cityId}`, '无权变更其他城市的数据');
    }
  }

  async function requireVersionRow(id: string, cityId?: string): Promise<VersionRow> {
    const row = await repo.findVersion(id);
    if (!row || (cityId && row.city_id !== cityId)) throw versionNotFound(id);
    return row;
  }

  async function timeline(cityId: string): Promise<VersionTimeline[]> {
    return (await repo.listApproved(cityId)).map(timelineOf);
  }

  async function view(row: VersionRow, all?: VersionTimeline[]): Promise<ResponsibilityVersion> {
    const t = timelineOf(row);
    return toVersion(row, stateOf(t, all ?? (await timeline(row.city_id)), clock.now()));
  }

  async function load(versionId: string): Promise<LoadedVersion> {
    const hit = loaded.get(versionId);
    if (hit) return hit;
    const items = (await repo.listItems(versionId)).map(toItem);
    const byCategory = new Map<string, ResponsibilityItem[]>();
    for (const i of items) {
      const list = byCategory.get(i.categoryCode) ?? [];
      list.push(i);
      byCategory.set(i.categoryCode, list);
    }
    const v = { items, byCategory };
    if (loaded.size >= 16) loaded.delete(loaded.keys().next().value as string);
    loaded.set(versionId, v);
    return v;
  }

  async function unitsOf(cityId: string): Promise<Map<string, Unit>> {
    const hit = unitsCache.get(cityId);
    if (hit) return hit;
    const { items } = await deps.directory.listUnits(cityId);
    const m = new Map(items.map((u) => [u.id, u]));
    unitsCache.set(cityId, m);
    return m;
  }

  async function categoriesOf(cityId: string): Promise<ResponsibilityCategory[]> {
    const hit = categoriesCache.get(cityId);
    if (hit) return hit;
    const list = await deps.categories(cityId);
    categoriesCache.set(cityId, list);
    return list;
  }

  /** The ancestors' codes of a category, top down; empty when the code is unknown. */
  async function ancestorCodes(cityId: string, code: string): Promise<string[]> {
    const list = await categoriesOf(cityId);
    const byId = new Map(list.map((c) => [c.id, c]));
    const self = list.find((c) => c.code === code);
    const out: string[] = [];
    for (let p = self?.parentId ? byId.get(self.parentId) : undefined; p && out.length < 10; p = p.parentId ? byId.get(p.parentId) : undefined) out.unshift(p.code);
    return out;
  }

  /** The territorial unit of `territoryId`'s place at `level` (its street office, community committee …). */
  async function territorialUnit(cityId: string, territoryId: string, level: ActingLevel, units: Map<string, Unit>): Promise<Unit | null> {
    const t = await deps.directory.getTerritory(territoryId, cityId);
    if (!t) return null;
    const chain = t.level === level ? [t] : (await deps.directory.territoryAncestors(t.id, cityId)).filter((a) => a.level === level);
    const at = chain[0];
    if (!at) return null;
    for (const u of units.values()) if (u.kind === level && u.territoryId === at.id && u.active) return u;
    return null;
  }

  async function changeStatus(
    ctx: CommandContext,
    id: string,
    decide: (row: VersionRow, state: VersionState, now: Date) => { patch: Partial<VersionRow>; action: string; after: unknown; reason?: string },
  ): Promise<ResponsibilityVersion> {
    assertMayManage(ctx.actor);
    const row = await requireVersionRow(id, ctx.actor.role === 'system' ? undefined : ctx.actor.cityId);
    const now = clock.now();
    const state = stateOf(timelineOf(row), await timeline(row.city_id), now);
    const { patch, action, after, reason } = decide(row, state, now);
    await transactionWithRetry(deps.db, async (trx) => {
      const ok = await new ResponsibilityRepository(trx).updateVersionIfStatus(id, row.status, { ...patch, updated_at: toDbTime(now) });
      if (!ok) throw conflict('RESPONSIBILITY_VERSION_CHANGED', 'the version was changed meanwhile; reload it', '清单版本已被他人变更，请刷新后重试', { id });
      await recordAudit(trx, ctx, { entityType: ENTITY, entityId: id, action, before: { status: row.status, state }, after, reason: reason ?? null, cityId: row.city_id }, now);
    });
    return view((await repo.findVersion(id))!);
  }

  return {
    /**
     * Imports a CSV as a new draft version. Every problem is reported with its line (422
     * RESPONSIBILITY_CSV_INVALID, `details.problems`), and then nothing is imported.
     */
    async importCsv(ctx: CommandContext, cityId: string, csvText: string, note?: string | null): Promise<ResponsibilityVersion> {
      assertMayManage(ctx.actor);
      assertCity(ctx, cityId);
      const [categories, { items: units }] = await Promise.all([deps.categories(cityId), deps.directory.listUnits(cityId)]);
      const parsed = parseResponsibilityCsv(csvText, csvLookups(categories, units));
      if (!parsed.ok) throw csvInvalid(parsed.problems);
      const now = clock.now();
      const row = await withNumberRetry(() =>
        transactionWithRetry(deps.db, async (trx) => {
          const row = await insertVersionIn(trx, { cityId, items: parsed.items, note: note?.trim() || null, status: 'draft', effectiveFrom: null, now, actorId: ctx.actor.id });
          await recordAudit(
            trx,
            ctx,
            { entityType: ENTITY, entityId: row.id, action: 'responsibility_version.imported', after: { number: row.number, items: row.item_count, sourceHash: row.source_hash, note: row.note }, cityId },
            now,
          );
          return row;
        }),
      );
      return view(row);
    },

    /** Submits a draft for approval (提交审批). */
    propose(ctx: CommandContext, versionId: string): Promise<ResponsibilityVersion> {
      return changeStatus(ctx, versionId, (row, state, now) => {
        decidePropose(factsOf(row), state);
        return { patch: { status: 'proposed', proposed_by: ctx.actor.id, proposed_at: toDbTime(now) }, action: 'responsibility_version.proposed', after: { status: 'proposed' } };
      });
    },

    /**
     * Approves a proposed version, in force from `effectiveFrom` (now or later). The proposer cannot
     * approve (403 FOUR_EYES).
     */
    approve(ctx: CommandContext, versionId: string, effectiveFrom: Date): Promise<ResponsibilityVersion> {
      return changeStatus(ctx, versionId, (row, state, now) => {
        const from = decideApprove(factsOf(row), ctx.actor, effectiveFrom, now, state);
        return {
          patch: { status: 'approved', effective_from: toDbTime(from), decided_by: ctx.actor.id, decided_at: toDbTime(now) },
          action: 'responsibility_version.approved',
          after: { status: 'approved', effectiveFrom: dbTimeToIso(toDbTime(from)) },
        };
      });
    },

    /** Rejects a draft or proposed version, or withdraws an approved one not yet in effect; a reason is required. */
    reject(ctx: CommandContext, versionId: string, reason: string): Promise<ResponsibilityVersion> {
      return changeStatus(ctx, versionId, (row, state, now) => {
        decideReject(factsOf(row), reason, state);
        return {
          patch: { status: 'rejected', decided_by: ctx.actor.id, decided_at: toDbTime(now), reject_reason: reason.trim() },
          action: 'responsibility_version.rejected',
          after: { status: 'rejected' },
          reason: reason.trim(),
        };
      });
    },

    /** Every version of the city, newest first, with its state as of now. */
    async listVersions(cityId: string): Promise<ResponsibilityVersion[]> {
      const rows = await repo.listVersions(cityId);
      const all = rows.filter((r) => r.status === 'approved').map(timelineOf);
      const now = clock.now();
      return rows.map((r) => toVersion(r, stateOf(timelineOf(r), all, now)));
    },

    /** One version (of any state, superseded ones included: tickets keep theirs); 404 for another city's. */
    async getVersionInfo(cityId: string, versionId: string): Promise<ResponsibilityVersion> {
      return view(await requireVersionRow(versionId, cityId));
    },

    /** A version with one page of its items, in list order; optionally of one category only. */
    async getVersion(cityId: string, versionId: string, opts: { page?: number; pageSize?: number; categoryCode?: string } = {}): Promise<VersionPage> {
      const row = await requireVersionRow(versionId, cityId);
      const page = opts.page ?? 1;
      const pageSize = opts.pageSize ?? 50;
      const { rows, total } = await repo.pageItems(versionId, page, pageSize, opts.categoryCode);
      return { version: await view(row), items: rows.map(toItem), total, page, pageSize };
    },

    /** Every item of a version, in list order. */
    async itemsOf(cityId: string, versionId: string): Promise<ResponsibilityItem[]> {
      await requireVersionRow(versionId, cityId);
      return (await load(versionId)).items;
    },

    /** The version in force at `at` (approved, effective at or before it), or null. */
    async activeVersionAt(cityId: string, at: Date): Promise<ResponsibilityVersion | null> {
      const all = await timeline(cityId);
      const v = versionInForce(all, at);
      return v ? view((await repo.findVersion(v.id))!, all) : null;
    },

    /** The CSV of a version; importing it gives the same items. */
    async exportCsv(cityId: string, versionId: string): Promise<string> {
      await requireVersionRow(versionId, cityId);
      const { items } = await load(versionId);
      return writeResponsibilityCsv(
        items.map((i) => ({ ...i, leadUnitCode: i.leadUnit?.code ?? null, coUnitCodes: i.coUnits.map((u) => u.code) })),
      );
    },

    /**
     * The items that answer a ticket, best first, in the version in force at `at` (or the given
     * version): items on the category itself before those on an ancestor (most specific wins), then
     * by the situation keywords found in the text. Each says why, and who acts — for territorial items
     * the street or community of the ticket's place. No items: no function fits (属地兜底 applies).
     */
    async match(cityId: string, input: MatchInput): Promise<MatchResult> {
      const at = input.at ?? clock.now();
      let version: { id: string; number: number } | null = null;
      if (input.versionId) {
        const row = await requireVersionRow(input.versionId, cityId);
        version = { id: row.id, number: Number(row.number) };
      } else {
        version = versionInForce(await timeline(cityId), at);
      }
      const base = { at: dbTimeToIso(toDbTime(at))!, categoryCode: input.categoryCode };
      if (!version) return { versionId: null, versionNumber: null, ...base, items: [] };
      const { byCategory } = await load(version.id);
      const ancestors = input.categoryPath ?? (await ancestorCodes(cityId, input.categoryCode));
      const ranked = rankItems(byCategory, input.categoryCode, ancestors, input.text ?? '');
      const units = ranked.length ? await unitsOf(cityId) : new Map<string, Unit>();
      const summary = (ref: ItemUnitRef): UnitSummary => {
        const u = units.get(ref.id);
        return u ? unitSummary(u) : { id: ref.id, code: ref.code, name: ref.code, kind: 'unknown', active: false, dutyPhone: null };
      };
      const territorial = new Map<ActingLevel, Unit | null>();
      const items: MatchedItem[] = [];
      for (const [n, r] of ranked.entries()) {
        let actingUnit: UnitSummary | null = null;
        if (r.item.actingLevel === 'city') actingUnit = r.item.leadUnit ? summary(r.item.leadUnit) : null;
        else if (input.territoryId) {
          if (!territorial.has(r.item.actingLevel)) territorial.set(r.item.actingLevel, await territorialUnit(cityId, input.territoryId, r.item.actingLevel, units));
          const u = territorial.get(r.item.actingLevel);
          actingUnit = u ? unitSummary(u) : null;
        }
        items.push({
          ...r.item,
          rank: n + 1,
          score: r.score,
          why: { ...r.why, explanationZh: explain(r.why, r.item) },
          actingUnit,
          coHandlingUnits: r.item.coUnits.map(summary),
        });
      }
      return { versionId: version.id, versionNumber: version.number, ...base, items };
    },

    /** Forgets cached units and categories (after a directory or category import). */
    forgetCached() {
      unitsCache.clear();
      categoriesCache.clear();
    },
  };
}
