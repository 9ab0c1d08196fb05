import { createHash } from 'node:crypto';
import { badRequest, conflict, unprocessable, systemClock, toChinaIso, type Clock, type CommandContext } from '../../core';
import { decidePlan, DISPATCH_RULE_ZH, type DispatchRule, type FunctionMatch, type UnitBrief } from './domain/plan';
import type { CategoryNode, LearningPort, RoutingPorts, TerritoryResolution, TicketPort } from './ports';

export interface PlanRequest {
  cityId: string;
  /** Everything said or written about the problem: transcript, situation, demand. */
  text: string;
  title?: string | null;
  type?: string | null;
  urgency?: string | null;
  /** A category the agent chose; the classifier is then only advisory. */
  categoryCode?: string | null;
  address?: string | null;
  territoryId?: string | null;
  lat?: number | null;
  lng?: number | null;
  /** QR-code reports carry their building (有呼必应一码通) and skip the address guess. */
  buildingCode?: string | null;
  /** The unit the citizen asked first (首问), e.g. a grid member's escalation or a merged hotline's owner. */
  firstAskedUnitId?: string | null;
  /** When the plan is for (defaults to now): deadlines and the responsibility-list version follow it. */
  at?: Date;
}

export interface PlanCategory {
  code: string;
  name: string;
  path: { code: string; name: string }[];
}

export interface RoutePlan {
  category: (PlanCategory & { source: 'given' | 'classifier'; confidence: number }) | null;
  suggestions: (PlanCategory & { score: number; words: string[] })[];
  classifierConfident: boolean;
  territory: TerritoryResolution & { source: 'given' | 'building' | 'address' | 'none' };
  type: string;
  urgency: string;
  rule: DispatchRule;
  ruleZh: string;
  action: 'answer_on_spot' | 'dispatch' | 'manual';
  leadUnit: UnitBrief | null;
  coUnits: UnitBrief[];
  responsibility: { itemId: string; itemCode: string; versionId: string } | null;
  knowledgeArticleId: string | null;
  policy: { code: string; name: string } | null;
  deadlines: { acknowledge?: string; onSite?: string; reply?: string; citizenReply?: string };
  explanation: { zh: string; en: string }[];
  missing: string[];
  computedAt: string;
  /**
   * What the plan decided, as a short hash (category, rule, action, units, responsibility item and
   * version, policy, type, urgency): the console sends back the one it showed, and dispatch refuses
   * with PLAN_CHANGED when the plan made at dispatch differs (the agent confirms what goes out).
   */
  fingerprint: string;
}

/** The fingerprint of a plan's decision (not of its explanation or the instant it was made). */
export function planFingerprint(p: Omit<RoutePlan, 'fingerprint'>): string {
  const decided = [
    p.category?.code ?? null, p.rule, p.action, p.leadUnit?.id ?? null, p.coUnits.map((u) => u.id),
    p.responsibility ? [p.responsibility.itemId, p.responsibility.versionId] : null, p.policy?.code ?? null, p.type, p.urgency, p.knowledgeArticleId,
  ];
  return createHash('sha256').update(JSON.stringify(decided)).digest('hex').slice(0, 16);
}

/** Below this the classifier's top suggestion is shown, not used: an agent must confirm it. */
export const CLASSIFIER_CONFIDENCE_FLOOR = 0.5;

/**
 * The routing engine: classification, territory, the dispatch rules and the deadlines, explained.
 * The same plan is what the API returns, the CLI prints and the console shows.
 */
export function createRoutingService<View = unknown>(ports: RoutingPorts, opts: { clock?: Clock; tickets?: TicketPort<View>; learning?: LearningPort } = {}) {
  const clock = opts.clock ?? systemClock;
  const treeCache = new Map<string, { byCode: Map<string, CategoryNode>; byId: Map<string, CategoryNode>; at: number }>();

  async function tree(cityId: string) {
    const hit = treeCache.get(cityId);
    if (hit && Date.now() - hit.at < 60_000) return hit;
    const nodes = await ports.categories(cityId);
    const t = { byCode: new Map(nodes.map((n) => [n.code, n])), byId: new Map(nodes.map((n) => [n.id, n])), at: Date.now() };
    treeCache.set(cityId, t);
    return t;
  }

  function pathOf(t: Awaited<ReturnType<typeof tree>>, node: CategoryNode): CategoryNode[] {
    const path: CategoryNode[] = [];
    for (let n: CategoryNode | undefined = node; n; n = n.parentId ? t.byId.get(n.parentId) : undefined) path.unshift(n);
    return path;
  }

  async function resolveTerritory(req: PlanRequest): Promise<RoutePlan['territory']> {
    if (req.territoryId) {
      const t = await ports.territory(req.cityId, req.territoryId);
      if (!t) throw badRequest('TERRITORY_NOT_FOUND', `territory ${req.territoryId} does not exist`, `区域 ${req.territoryId} 不存在`, { field: 'territoryId' });
      return { status: 'resolved', territory: t, confidence: 1, alternatives: [], source: 'given' };
    }
    if (req.buildingCode) return { ...(await ports.resolveBuilding(req.cityId, req.buildingCode)), source: 'building' };
    const point = req.lat != null && req.lng != null ? { lat: req.lat, lng: req.lng } : undefined;
    if (req.address?.trim() || point) return { ...(await ports.resolveAddress(req.cityId, req.address ?? '', point)), source: 'address' };
    return { status: 'unresolved', territory: null, confidence: 0, alternatives: [], source: 'none' };
  }

  const service = {
    /** Where an address (or point, or QR building) is: the territory, or why not. */
    resolveTerritory,

    /** Decides where a ticket goes and why; nothing is written. */
    async plan(req: PlanRequest): Promise<RoutePlan> {
      const at = req.at ?? clock.now();
      const t = await tree(req.cityId);
      const brief = (n: CategoryNode): PlanCategory => ({ code: n.code, name: n.name, path: pathOf(t, n).map((p) => ({ code: p.code, name: p.name })) });

      const classified = await ports.classify(req.cityId, { title: req.title ?? undefined, text: req.text ?? '' });
      const suggestions = classified.suggestions
        .map((s) => ({ s, node: t.byCode.get(s.code) }))
        .filter((x) => x.node)
        .slice(0, 3)
        .map(({ s, node }) => ({ ...brief(node!), score: s.score, words: s.words }));

      let category: RoutePlan['category'] = null;
      if (req.categoryCode) {
        const node = t.byCode.get(req.categoryCode);
        if (!node) throw badRequest('CATEGORY_NOT_FOUND', `category ${req.categoryCode} does not exist`, `分类 ${req.categoryCode} 不存在`, { field: 'categoryCode' });
        category = { ...brief(node), source: 'given', confidence: 1 };
      } else if (classified.confident && suggestions[0] && suggestions[0].score >= CLASSIFIER_CONFIDENCE_FLOOR) {
        category = { code: suggestions[0].code, name: suggestions[0].name, path: suggestions[0].path, source: 'classifier', confidence: suggestions[0].score };
      }
      const node = category ? t.byCode.get(category.code)! : null;
      const categoryCodes = category ? category.path.map((p) => p.code) : [];
      const utility = !!node?.utility;
      const type = req.type || node?.defaultType || 'help';
      const urgency = req.urgency || node?.defaultUrgency || 'normal';

      const territory = await resolveTerritory(req);
      const place = territory.status === 'resolved' ? territory.territory : null;

      const hits = category ? await ports.matchResponsibility(req.cityId, { categoryCodes, text: `${req.title ?? ''} ${req.text}`, at, territoryId: place?.id ?? null }) : [];
      const territorial = place ? await ports.territorialUnits(req.cityId, place.path) : { street: null, district: null, community: null };
      // An item acting at a territorial level has no unit when the place is unknown: it cannot decide.
      const functionMatches: FunctionMatch[] = hits.filter((h) => h.lead).map((h) => ({ ...h, lead: h.lead! }));
      const kb = type === 'consultation' ? await ports.bestAnswer(req.cityId, `${req.title ?? ''} ${req.text}`, category?.code ?? null) : null;
      const firstAsked = req.firstAskedUnitId ? await ports.unit(req.cityId, req.firstAskedUnitId) : null;
      if (req.firstAskedUnitId && !firstAsked) throw badRequest('UNIT_NOT_FOUND', `unit ${req.firstAskedUnitId} does not exist`, `单位 ${req.firstAskedUnitId} 不存在`, { field: 'firstAskedUnitId' });
      const already = node && place ? await ports.alreadyHandling(req.cityId, { categoryId: node.id, territoryPath: place.path }) : null;

      const decision = decidePlan({
        type,
        urgency,
        category: node ? { code: node.code, name: node.name, pathCodes: categoryCodes, pathNames: category!.path.map((p) => p.name), utility } : null,
        categorySource: category?.source ?? 'none',
        categoryConfidence: category?.confidence ?? 0,
        territory: place ? { id: place.id, name: place.name, level: place.level, confidence: territory.confidence } : null,
        functionMatches,
        firstAskedUnit: firstAsked,
        alreadyHandlingUnit: already,
        territorialUnits: { street: territorial.street, district: territorial.district },
        knowledgeAnswer: kb?.confident ? { articleId: kb.articleId, question: kb.question, score: kb.score } : null,
        urgentCategoryCodes: await ports.urgentCategoryCodes(req.cityId),
      });
      if (!category && suggestions.length) {
        decision.explanation.push({
          zh: `分类建议（置信度不足，需确认）：${suggestions.map((s) => `${s.name} ${s.score.toFixed(2)}`).join('；')}`,
          en: `suggested categories (low confidence, confirm one): ${suggestions.map((s) => `${s.code} ${s.score.toFixed(2)}`).join('; ')}`,
        });
      }
      if (!classified.confident && classified.reason) decision.explanation.push({ zh: `分类模型：${classified.reason}`, en: `classifier: ${classified.reason}` });
      if (territory.status === 'ambiguous') {
        decision.explanation.push({
          zh: `地址有多种可能：${territory.alternatives.map((a) => a.territory.name).join('、')}`,
          en: `the address is ambiguous: ${territory.alternatives.map((a) => a.territory.name).join(', ')}`,
        });
      }

      const policy = await ports.choosePolicy(req.cityId, { type, urgency, categoryCodes, utility, categoryPolicyCode: node?.policyCode ?? null });
      const deadlines: RoutePlan['deadlines'] = {};
      if (policy && decision.action === 'dispatch') {
        for (const [kind, limit] of Object.entries(policy.limits)) {
          // The center's own dispatch clock runs from acceptance, not from this plan: not the unit's deadline.
          if (limit && kind !== 'centerDispatch') deadlines[kind as keyof RoutePlan['deadlines']] = toChinaIso(await ports.deadline(req.cityId, at, limit));
        }
        decision.explanation.push({
          zh: `时限规则「${policy.name}」：${Object.entries(deadlines).map(([k, v]) => `${LIMIT_ZH[k] ?? k} ${v}`).join('，')}`,
          en: `time-limit policy ${policy.code}: ${Object.entries(deadlines).map(([k, v]) => `${k} by ${v}`).join(', ')}`,
        });
      }

      const planned: Omit<RoutePlan, 'fingerprint'> = {
        category,
        suggestions,
        classifierConfident: classified.confident,
        territory,
        type,
        urgency,
        rule: decision.rule,
        ruleZh: DISPATCH_RULE_ZH[decision.rule],
        action: decision.action,
        leadUnit: decision.lead,
        coUnits: decision.coUnits,
        responsibility: decision.responsibility,
        knowledgeArticleId: decision.knowledgeArticleId,
        policy: policy ? { code: policy.code, name: policy.name } : null,
        deadlines,
        explanation: decision.explanation,
        missing: decision.missing,
        computedAt: toChinaIso(at),
      };
      return { ...planned, fingerprint: planFingerprint(planned) };
    },

    /**
     * Dispatches a ticket by its plan (派单). The dispatcher may choose another unit than the plan's:
     * that override needs a reason, and both the plan's unit and the reason stay on the ticket and in
     * its audit trail. The category it goes out with teaches the classifier.
     */
    async dispatchTicket(
      ctx: CommandContext, ticketId: string, version: number,
      choice: { handlingUnitId?: string | null; overrideReason?: string | null; planFingerprint?: string | null } = {},
    ): Promise<{ ticket: View; plan: RoutePlan; overridden: boolean }> {
      if (!opts.tickets) throw new Error('routing was built without a ticket port');
      const ticket = await opts.tickets.get(ctx, ticketId);
      const t = await tree(ticket.cityId);
      const categoryCode = ticket.categoryId ? t.byId.get(ticket.categoryId)?.code ?? null : null;
      const plan = await service.plan({
        cityId: ticket.cityId,
        text: [ticket.situation, ticket.demand].filter(Boolean).join('\n'),
        title: ticket.title,
        type: ticket.type,
        urgency: ticket.urgency,
        categoryCode,
        territoryId: ticket.territoryId,
        address: ticket.territoryId ? null : ticket.addressText,
        lat: ticket.lat,
        lng: ticket.lng,
      });
      // What goes out is what the person confirmed: a plan that changed since it was shown is shown again.
      if (choice.planFingerprint && choice.planFingerprint !== plan.fingerprint) {
        throw conflict(
          'PLAN_CHANGED',
          `the routing plan changed since it was shown (now: ${plan.leadUnit?.name ?? 'no unit'}, ${plan.rule}); confirm the new plan`,
          `派单方案已变化（现为：${plan.leadUnit?.name ?? '未确定单位'}，${plan.ruleZh}），请核对新方案后再派单`,
          { plan },
        );
      }
      const chosen = choice.handlingUnitId ?? plan.leadUnit?.id ?? null;
      if (!chosen) {
        throw unprocessable('PLAN_UNDETERMINED', 'the plan names no handling unit: choose one', '派单方案未能确定承办单位，请指定', { missing: plan.missing, explanation: plan.explanation });
      }
      const overridden = !!plan.leadUnit && chosen !== plan.leadUnit.id;
      const reason = choice.overrideReason?.trim() || null;
      if (overridden && !reason) {
        throw badRequest('OVERRIDE_REASON_REQUIRED', `the plan says ${plan.leadUnit!.name}; give a reason to send it elsewhere`, `派单方案为「${plan.leadUnit!.name}」，改派其他单位须说明理由`, { field: 'overrideReason', plannedUnitId: plan.leadUnit!.id });
      }
      const view = await opts.tickets.dispatch(ctx, ticketId, version, {
        handlingUnitId: chosen,
        note: reason,
        routing: {
          rule: plan.rule,
          responsibilityVersionId: plan.responsibility?.versionId ?? null,
          plannedUnitId: plan.leadUnit?.id ?? null,
          coUnitIds: overridden ? [] : plan.coUnits.map((u) => u.id),
          // The ticket keeps the category it was routed by, also when the classifier chose it.
          categoryId: plan.category ? t.byCode.get(plan.category.code)?.id ?? null : null,
        },
      });
      const routedBy = plan.category?.code ?? null;
      if (routedBy && opts.learning) {
        await opts.learning.learn(ticket.cityId, {
          ticketId, text: [ticket.situation, ticket.demand].filter(Boolean).join('\n'), title: ticket.title,
          categoryCode: routedBy, suggestedCode: plan.suggestions[0]?.code ?? null, actorId: ctx.actor.id,
        });
      }
      return { ticket: view, plan, overridden };
    },

    /** Drops the cached category tree of a city (after an import). */
    forgetCategories(cityId?: string) {
      if (cityId) treeCache.delete(cityId);
      else treeCache.clear();
    },
  };
  return service;
}

const LIMIT_ZH: Record<string, string> = { acknowledge: '签收', onSite: '到场', reply: '办结反馈', citizenReply: '答复群众' };

export type RoutingService = ReturnType<typeof createRoutingService>;
