/**
 * Applies a checked city preset in ONE transaction: either all of it lands or none of it does.
 * Idempotent: a second import of the same folder finds every row by its code and changes nothing
 * (and writes no audit row); an edited folder updates rows in place, keeping their ids. Existing
 * users are kept as they are — their passwords are never reset by an import. The optional files
 * (gazetteer, outlines, responsibility list, knowledge base) replace the city's data of their kind
 * only when present.
 */
import type { Kysely } from 'kysely';
import type { DB, DialectName } from '../../db';
import { recordAudit } from '../../audit';
import { conflict, isAppError, systemClock, unprocessable, type Clock, type CommandContext } from '../../core';
import type { ChangeKind, DirectoryService } from '../../directory';
import type { IdentityService } from '../../identity';
import { replaceCategoriesIn } from '../../routing';
import { listPolicies, replacePoliciesIn } from '../../workorders';
import { replaceGazetteerIn, replaceTerritoryPolygonsIn, type ReplaceCounts, type TerritoryResolverService } from '../../routing/territory';
import { importResponsibilityCsvIn, type CsvProblem } from '../../routing/responsibility';
import { importKnowledgeIn, type KnowledgeProblem } from '../../routing/knowledge';
import { formatProblems, parseCategoriesCsv, PresetFile, readPreset, type CityPreset, type PresetProblem } from './read-preset';

/** What an import needs; the app's context fits as it is. */
export interface ImportDeps {
  database: { db: Kysely<DB>; dialect: DialectName };
  directory: DirectoryService;
  identity: Pick<IdentityService, 'createUserIn' | 'listUsers'>;
  /** Told to rebuild the city's resolver after an import (its gazetteer and territory may have changed). */
  territoryResolver?: Pick<TerritoryResolverService, 'reload'>;
  /** Told to drop the city's search index after an import (its articles and categories may have changed). */
  knowledge?: { invalidate(cityId: string): void };
  clock?: Clock;
}

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
}

/** The outcome of an import, for the CLI and the start-up log. */
export interface ImportSummary {
  cityId: string;
  cityName: string;
  isDemo: boolean;
  city: ChangeKind;
  territories: ImportCounts;
  units: ImportCounts;
  hotlineLines: ImportCounts;
  /** Categories absent from the preset are deactivated (tickets refer to them). */
  categories: ImportCounts & { deactivated: number };
  /** Policies absent from the preset are removed. */
  policies: ImportCounts & { removed: number };
  /** Users already there are kept untouched (no password reset); listed by username. */
  users: { created: number; kept: string[] };
  /** gazetteer.csv: entries absent from the file are removed; null when the file is absent (the gazetteer is kept). */
  gazetteer: ReplaceCounts | null;
  /** grids.geojson: outlines absent from the file are removed; null when the file is absent (the outlines are kept). */
  gridPolygons: ReplaceCounts | null;
  /**
   * responsibility.csv: approved at once as a new version in force, or 'unchanged' when the version in
   * force has the same items; null when the file is absent (the city's list is kept).
   */
  responsibility: { outcome: 'created' | 'unchanged'; versionNumber: number; items: number } | null;
  /** knowledge.json: published articles by code (others are kept); null when the file is absent. */
  knowledge: ImportCounts | null;
  /** False when the database already held exactly this preset. */
  changed: boolean;
}

const counts = (r: ImportCounts): ImportCounts => ({ created: r.created, updated: r.updated, unchanged: r.unchanged });

/** Imports a checked preset. Throws PRESET_CONFLICT (409) when a username belongs to another city. */
export async function importPreset(deps: ImportDeps, preset: CityPreset, ctx: CommandContext): Promise<ImportSummary> {
  const { db } = deps.database;
  const clock = deps.clock ?? systemClock;
  const cityId = preset.city.id;
  // Read before the transaction: the identity service reads over its own connection, and on SQLite
  // a read outside the open transaction would wait for it forever.
  const existingUsernames = new Set((await deps.identity.listUsers(cityId)).map((u) => u.username));
  try {
    return await db.transaction().execute(async (trx) => {
      const now = clock.now();
      const audit = (entityType: string, entityId: string, action: string, before?: unknown, after?: unknown) =>
        recordAudit(trx, ctx, { entityType, entityId, action, before, after, cityId }, now);

      const city = await deps.directory.upsertCityIn(trx, ctx, preset.city);
      const territories = await deps.directory.applyTerritoriesIn(trx, ctx, cityId, preset.territories);
      const units = await deps.directory.applyUnitsIn(trx, ctx, cityId, preset.units);
      const lines = await deps.directory.applyHotlineLinesIn(trx, ctx, cityId, preset.hotlineLines);

      const cats = await replaceCategoriesIn(trx, cityId, preset.categories);
      for (const c of cats.created) await audit('category', c.id, 'category.created', undefined, c);
      for (const c of cats.updated) await audit('category', c.id, 'category.updated', c.before, c.after);
      for (const c of cats.deactivated) await audit('category', c.id, 'category.deactivated', { active: true }, { active: false });

      const pols = await replacePoliciesIn(trx, cityId, preset.policies);
      for (const x of pols.created) await audit('time_limit_policy', x.id, 'time_limit_policy.created', undefined, x);
      for (const x of pols.updated) await audit('time_limit_policy', x.id, 'time_limit_policy.updated', x.before, x.after);
      for (const x of pols.removed) await audit('time_limit_policy', x.id, 'time_limit_policy.removed', x, undefined);

      // Codes were checked against territory.csv, whose every row now has an id.
      const territoryId = (code: string) => {
        const id = territories.idsByCode.get(code);
        if (!id) throw new Error(`territory ${code} was checked but not imported`);
        return id;
      };
      const gazetteer = preset.gazetteer
        ? await replaceGazetteerIn(trx, cityId, preset.gazetteer.map(({ territoryCode, ...e }) => ({ ...e, territoryId: territoryId(territoryCode) })))
        : null;
      const gridPolygons = preset.gridPolygons
        ? await replaceTerritoryPolygonsIn(trx, cityId, preset.gridPolygons.map((g) => ({ territoryId: territoryId(g.territoryCode), geometry: g.geometry })))
        : null;
      // One audit row per file rather than per entry: a gazetteer holds tens of thousands of names.
      if (gazetteer && gazetteer.created + gazetteer.updated + gazetteer.removed > 0) await audit('city', cityId, 'gazetteer.replaced', undefined, gazetteer);
      if (gridPolygons && gridPolygons.created + gridPolygons.updated + gridPolygons.removed > 0) await audit('city', cityId, 'territory_polygons.replaced', undefined, gridPolygons);

      // Both read the categories through trx (written above) and audit what they write themselves:
      // a new list version, each created or updated article; nothing when unchanged.
      const cityUnits = preset.responsibility || preset.knowledge
        ? (await trx.selectFrom('units').select(['id', 'code', 'kind', 'active']).where('city_id', '=', cityId).execute()).map((u) => ({ id: u.id, code: u.code, kind: u.kind, active: Number(u.active) === 1 }))
        : [];
      const list = preset.responsibility
        ? await asPresetProblems(PresetFile.responsibility, 'RESPONSIBILITY_CSV_INVALID', () =>
            importResponsibilityCsvIn(trx, ctx, { cityId, csv: preset.responsibility!.text, units: cityUnits, note: 'city preset', now }))
        : null;
      const articles = preset.knowledge
        ? await asPresetProblems(PresetFile.knowledge, 'KNOWLEDGE_PRESET_INVALID', () =>
            importKnowledgeIn(trx, ctx, { cityId, json: preset.knowledge!.text, units: cityUnits, now, dialect: deps.database.dialect }))
        : null;

      const kept: string[] = [];
      const taken: PresetProblem[] = [];
      let usersCreated = 0;
      for (const u of preset.users) {
        if (existingUsernames.has(u.username)) {
          kept.push(u.username);
          continue;
        }
        try {
          await deps.identity.createUserIn(trx, ctx, {
            cityId,
            username: u.username,
            displayName: u.displayName,
            role: u.role,
            password: u.password,
            unitId: u.unitCode ? units.idsByCode.get(u.unitCode) ?? null : null,
            territoryId: u.territoryCode ? territories.idsByCode.get(u.territoryCode) ?? null : null,
            phone: u.phone,
            fromPreset: { demo: preset.city.isDemo },
          });
          usersCreated++;
        } catch (err) {
          if (!isAppError(err) || err.code !== 'USERNAME_TAKEN') throw err;
          taken.push({ file: 'users.csv', line: u.line, field: 'username', message: `username ${u.username} belongs to a user of another city`, messageZh: `用户名 ${u.username} 已被其他城市的用户使用` });
        }
      }
      if (taken.length) {
        throw conflict('PRESET_CONFLICT', `the preset conflicts with the database:\n${formatProblems(taken)}`, '城市配置与现有数据冲突（用户名已被占用），未导入任何内容', { problems: taken });
      }

      const summary: ImportSummary = {
        cityId,
        cityName: preset.city.name,
        isDemo: preset.city.isDemo,
        city,
        territories: counts(territories),
        units: counts(units),
        hotlineLines: counts(lines),
        categories: { created: cats.created.length, updated: cats.updated.length, unchanged: cats.unchanged, deactivated: cats.deactivated.length },
        policies: { created: pols.created.length, updated: pols.updated.length, unchanged: pols.unchanged, removed: pols.removed.length },
        users: { created: usersCreated, kept },
        gazetteer,
        gridPolygons,
        responsibility: list ? { outcome: list.outcome, versionNumber: list.number, items: list.items } : null,
        knowledge: articles ? counts(articles) : null,
        changed: false,
      };
      summary.changed =
        city !== 'unchanged' ||
        usersCreated > 0 ||
        [summary.territories, summary.units, summary.hotlineLines, summary.categories, summary.policies].some((c) => c.created + c.updated > 0) ||
        summary.categories.deactivated + summary.policies.removed > 0 ||
        [gazetteer, gridPolygons].some((c) => !!c && c.created + c.updated + c.removed > 0) ||
        summary.responsibility?.outcome === 'created' ||
        (!!summary.knowledge && summary.knowledge.created + summary.knowledge.updated > 0);
      // One row for the import itself, only when it changed something: a no-op re-import leaves no trace.
      if (summary.changed) await audit('city', cityId, 'city.preset_imported', undefined, summary);
      return summary;
    });
  } finally {
    // Paths, settings and lines may have changed (or a rollback may have undone what a reader cached).
    deps.directory.forgetCached();
    deps.territoryResolver?.reload(cityId);
    deps.knowledge?.invalidate(cityId);
  }
}

/**
 * The parts check their file again against the database (a unit of the city, not in units.csv, that
 * has been deactivated): their problems become the preset's, with the file's name.
 */
async function asPresetProblems<T>(file: string, code: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isAppError(err) || err.code !== code) throw err;
    const found = ((err.details as { problems?: (CsvProblem | KnowledgeProblem)[] } | undefined)?.problems ?? []).map(
      (x): PresetProblem => ({
        file,
        line: 'line' in x ? x.line : 0,
        ...(x.field ? { field: 'index' in x && x.index >= 0 ? `${x.index}.${x.field}` : x.field } : {}),
        message: 'index' in x && x.index >= 0 ? `article ${x.code ?? x.index + 1}: ${x.message}` : x.message,
        messageZh: 'index' in x && x.index >= 0 ? `第${x.index + 1}条${x.code ? `（${x.code}）` : ''}：${x.messageZh}` : x.messageZh,
      }),
    );
    throw unprocessable('PRESET_INVALID', `the preset does not fit the database:\n${formatProblems(found)}`, '城市配置与现有数据不符，未导入任何内容', { problems: found });
  }
}

/**
 * Reads, checks and imports a city preset folder (`hotline city import DIR`, and the first start).
 * A preset with problems imports nothing and throws PRESET_INVALID (422) with every problem in
 * `details.problems` ({file, line, field?, message, messageZh}).
 */
export async function importCityFromDir(deps: ImportDeps, dir: string, ctx: CommandContext): Promise<ImportSummary> {
  const read = await readPreset(dir);
  if (!read.ok) {
    throw unprocessable(
      'PRESET_INVALID',
      `city preset ${dir} has ${read.problems.length} problem(s); nothing was imported:\n${formatProblems(read.problems)}`,
      `城市配置 ${dir} 有 ${read.problems.length} 处问题，未导入任何内容`,
      { problems: read.problems },
    );
  }
  return importPreset(deps, read.preset, ctx);
}

/**
 * Replaces a city's category tree from a CSV (`hotline categories import FILE`): checked in full
 * first (file:line problems, nothing imported on any), then one transaction with an audit row per
 * change. Categories left out are deactivated, never deleted: tickets refer to them.
 */
export async function importCategoriesFile(deps: Pick<ImportDeps, 'database' | 'clock'>, cityId: string, text: string, ctx: CommandContext) {
  const { db } = deps.database;
  const policyCodes = new Set((await listPolicies(db, cityId)).map((p) => p.code));
  const parsed = parseCategoriesCsv(text, policyCodes);
  if (!parsed.ok) {
    throw unprocessable('CATEGORIES_INVALID', `the category file has ${parsed.problems.length} problem(s); nothing was imported:\n${formatProblems(parsed.problems)}`, `分类文件有 ${parsed.problems.length} 处问题，未导入任何内容`, { problems: parsed.problems });
  }
  const now = (deps.clock ?? systemClock).now();
  return db.transaction().execute(async (trx) => {
    const cats = await replaceCategoriesIn(trx, cityId, parsed.categories);
    const audit = (id: string, action: string, before?: unknown, after?: unknown) => recordAudit(trx, ctx, { entityType: 'category', entityId: id, action, before, after, cityId }, now);
    for (const c of cats.created) await audit(c.id, 'category.created', undefined, c);
    for (const c of cats.updated) await audit(c.id, 'category.updated', c.before, c.after);
    for (const c of cats.deactivated) await audit(c.id, 'category.deactivated', { active: true }, { active: false });
    return { created: cats.created.length, updated: cats.updated.length, unchanged: cats.unchanged, deactivated: cats.deactivated.length };
  });
}
