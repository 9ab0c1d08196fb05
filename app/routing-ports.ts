/**
 * Wires the routing engine's ports to the parts that answer them. Lookups the plan makes on every
 * call (categories, units, policies, territorial units) are cached per city for a minute: a plan must
 * take milliseconds, and these change only through imports, which call `forget`.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { cachedPerKey as cachedPerCity } from '../core';
import type { DirectoryService, Unit } from '../directory';
import type { CalendarService } from '../calendar';
import type { IntakeService } from '../intake';
import { choosePolicy, listPolicies, type TimeLimitPolicy } from '../workorders';
import {
  listCategories,
  type Category, type RoutingPorts, type TerritoryResolution, type TerritoryResolverService, type UnitBrief,
} from '../routing';
import type { ResponsibilityService } from '../routing/responsibility';
import type { KnowledgeService } from '../routing/knowledge';

export interface RoutingPortDeps {
  db: Kysely<DB>;
  directory: DirectoryService;
  calendar: CalendarService;
  intake: IntakeService;
  territoryResolver: TerritoryResolverService;
  responsibility: ResponsibilityService;
  knowledge: KnowledgeService;
  classify: RoutingPorts['classify'];
  ttlMs?: number;
}

const brief = (u: { id: string; code: string; name: string }): UnitBrief => ({ id: u.id, code: u.code, name: u.name });

export function createRoutingPorts(d: RoutingPortDeps): RoutingPorts & { forget(cityId?: string): void } {
  const ttl = d.ttlMs ?? 60_000;
  const categories = cachedPerCity<Category[]>(ttl, (cityId) => listCategories(d.db, cityId));
  const policies = cachedPerCity<TimeLimitPolicy[]>(ttl, (cityId) => listPolicies(d.db, cityId));
  const units = cachedPerCity(ttl, async (cityId) => {
    const { items } = await d.directory.listUnits(cityId, {});
    const active = items.filter((u: Unit) => u.active);
    return {
      byId: new Map(active.map((u) => [u.id, u])),
      // The territorial units (属地单位): the government of a district, the office of a street, a community.
      byTerritory: new Map(active.filter((u) => u.territoryId && ['district', 'street', 'community'].includes(u.kind)).map((u) => [u.territoryId!, u])),
    };
  });
  const cityOf = cachedPerCity(ttl, (cityId) => d.directory.getCity(cityId));

  const toResolution = (r: Awaited<ReturnType<TerritoryResolverService['resolve']>>): TerritoryResolution => ({
    status: r.status,
    territory: r.territory ? { id: r.territory.id, name: r.territory.fullName, level: r.territory.level, path: r.territory.path } : null,
    confidence: r.confidence,
    alternatives: r.alternatives.map((a) => ({ territory: { id: a.territory.id, name: a.territory.fullName, level: a.territory.level }, confidence: a.confidence })),
    explanation: r.explanation,
  });

  return {
    async categories(cityId) {
      return (await categories(cityId)).map((c) => ({
        id: c.id, code: c.code, name: c.name, level: c.level, parentId: c.parentId, utility: c.utility,
        defaultType: c.defaultType, defaultUrgency: c.defaultUrgency, policyCode: c.policyCode,
      }));
    },
    classify: d.classify,
    async resolveAddress(cityId, address, point) {
      return toResolution(await d.territoryResolver.resolve(cityId, address, point ?? {}));
    },
    async resolveBuilding(cityId, code) {
      return toResolution(await d.territoryResolver.resolveBuilding(cityId, code));
    },
    async territory(cityId, id) {
      const t = await d.directory.getTerritory(id);
      return t && t.cityId === cityId ? { id: t.id, name: t.name, level: t.level, path: t.path } : null;
    },
    async matchResponsibility(cityId, q) {
      const r = await d.responsibility.match(cityId, { categoryCode: q.categoryCodes.at(-1)!, categoryPath: q.categoryCodes.slice(0, -1), text: q.text, at: q.at, territoryId: q.territoryId ?? undefined });
      if (!r.versionId) return [];
      return r.items.map((i) => ({
        itemId: i.id, itemCode: i.itemCode, versionId: r.versionId!,
        lead: i.actingUnit ? brief(i.actingUnit) : null,
        coUnits: i.coHandlingUnits.map(brief),
        why: i.why.explanationZh, score: i.score,
      }));
    },
    async unit(cityId, id) {
      const u = (await units(cityId)).byId.get(id);
      return u ? brief(u) : null;
    },
    async territorialUnits(cityId, path) {
      const { byTerritory } = await units(cityId);
      const ids = path.split('/').filter(Boolean);
      const at = (level: string) => {
        const u = ids.map((id) => byTerritory.get(id)).find((x) => x?.kind === level);
        return u ? brief(u) : null;
      };
      return { district: at('district'), street: at('street'), community: at('community') };
    },
    async bestAnswer(cityId, text, categoryCode) {
      const a = await d.knowledge.bestAnswer(cityId, text, { categoryCode });
      return a ? { articleId: a.articleId, question: a.question, score: a.score, confident: a.confident } : null;
    },
    async choosePolicy(cityId, s) {
      const p = choosePolicy(await policies(cityId), s);
      return p ? { code: p.code, name: p.name, limits: p.limits } : null;
    },
    async deadline(cityId, from, limit) {
      return d.calendar.deadline(from, limit, (await cityOf(cityId)).settings.officeHours);
    },
    async alreadyHandling(cityId, q) {
      const unitId = await d.intake.unitHandlingOpenTicketAt(cityId, q.categoryId, q.territoryPath);
      const u = unitId ? (await units(cityId)).byId.get(unitId) : null;
      return u ? brief(u) : null;
    },
    async urgentCategoryCodes(cityId) {
      return (await cityOf(cityId)).settings.urgentCategoryCodes ?? [];
    },
    forget(cityId) {
      for (const c of [categories, policies, units, cityOf]) c.forget(cityId);
    },
  };
}
