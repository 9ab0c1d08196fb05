import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TICKET_TYPES, URGENCIES, Role } from '../../core';
import { actorOf, allowRoles, commandContext, errorResponses } from '../../core/http';
import type { RoutingService } from './routing.service';

export interface RoutingRoutesOptions {
  routing: RoutingService;
  /** The city's categories, for the picker. */
  categories: (cityId: string) => Promise<{ id: string; code: string; name: string; level: number; parentId: string | null; keywords: string[]; defaultType: string | null; defaultUrgency: string | null; utility: boolean }[]>;
  /** The ticket view's schema (intake's), for the dispatch response. */
  ticketSchema: z.ZodTypeAny;
  /** What the caller said in a call (its transcript, calls part), for a plan asked while the form is still empty. */
  spokenText?: (actor: ReturnType<typeof actorOf>, callId: string) => Promise<string>;
}

const Unit = z.object({ id: z.string(), code: z.string(), name: z.string() });
const PlanCategory = z.object({ code: z.string(), name: z.string(), path: z.array(z.object({ code: z.string(), name: z.string() })) });
const Explanation = z.object({ zh: z.string(), en: z.string() });

export const RoutePlanSchema = z.object({
  category: PlanCategory.extend({ source: z.string(), confidence: z.number() }).nullable(),
  suggestions: z.array(PlanCategory.extend({ score: z.number(), words: z.array(z.string()) })),
  classifierConfident: z.boolean(),
  territory: z.object({
    status: z.string(),
    source: z.string(),
    territory: z.object({ id: z.string(), name: z.string(), level: z.string(), path: z.string() }).nullable(),
    confidence: z.number(),
    alternatives: z.array(z.object({ territory: z.object({ id: z.string(), name: z.string(), level: z.string() }), confidence: z.number() })),
    explanation: z.string().optional(),
  }),
  type: z.string(),
  urgency: z.string(),
  rule: z.string(),
  ruleZh: z.string(),
  action: z.string(),
  leadUnit: Unit.nullable(),
  coUnits: z.array(Unit),
  responsibility: z.object({ itemId: z.string(), itemCode: z.string(), versionId: z.string() }).nullable(),
  knowledgeArticleId: z.string().nullable(),
  policy: z.object({ code: z.string(), name: z.string() }).nullable(),
  deadlines: z.object({ acknowledge: z.string().optional(), onSite: z.string().optional(), reply: z.string().optional(), citizenReply: z.string().optional() }),
  explanation: z.array(Explanation),
  missing: z.array(z.string()),
  computedAt: z.string(),
  fingerprint: z.string().describe('the decision of the plan as a hash: send it back with the dispatch (PLAN_CHANGED when the plan changed)'),
});

/** /routing/plan: where a ticket would go and why, with its deadlines (nothing is written). */
export async function routingRoutes(app: FastifyInstance, opts: RoutingRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post('/routing/plan', {
    preHandler: allowRoles(Role.agent, Role.dispatcher, Role.supervisor, Role.admin),
    schema: {
      tags: ['routing'],
      summary: 'Plan the routing of a ticket (派单方案): category, territory, unit, rule, deadlines, explanation',
      body: z.strictObject({
        text: z.string().max(20_000),
        title: z.string().max(200).nullish(),
        type: z.enum(TICKET_TYPES as [string, ...string[]]).nullish(),
        urgency: z.enum(URGENCIES as [string, ...string[]]).nullish(),
        categoryCode: z.string().max(32).nullish(),
        address: z.string().max(500).nullish(),
        territoryId: z.string().max(64).nullish(),
        lat: z.number().min(-90).max(90).nullish(),
        lng: z.number().min(-180).max(180).nullish(),
        buildingCode: z.string().max(64).nullish(),
        firstAskedUnitId: z.string().max(64).nullish(),
        callId: z.string().min(1).max(64).nullish().describe("the call being taken: with an empty form, the caller's words (transcript) are classified and their address resolved"),
      }),
      response: { 200: RoutePlanSchema, ...errorResponses },
    },
  }, async (request) => {
    const { callId, ...body } = request.body;
    const actor = actorOf(request);
    // 通话转写: while the agent has typed nothing yet, the plan reads what the caller said.
    if (callId && opts.spokenText && !body.text.trim()) {
      const spoken = await opts.spokenText(actor, callId);
      if (spoken) return opts.routing.plan({ ...body, text: spoken, address: body.address?.trim() ? body.address : spoken, cityId: actor.cityId });
    }
    return opts.routing.plan({ ...body, cityId: actor.cityId });
  });

  const Category = z.object({
    id: z.string(), code: z.string(), name: z.string(), level: z.number(), parentId: z.string().nullable(), keywords: z.array(z.string()),
    defaultType: z.string().nullable(), defaultUrgency: z.string().nullable(), utility: z.boolean(),
  });
  r.get('/categories', {
    schema: {
      tags: ['routing'],
      summary: 'The city\'s 4-level category tree (问题分类), flat; filter by parent or search by name/keyword',
      querystring: z.strictObject({ parentCode: z.string().max(32).optional(), q: z.string().min(1).max(50).optional(), level: z.coerce.number().int().min(1).max(4).optional() }),
      response: { 200: z.array(Category), ...errorResponses },
    },
  }, async (request) => {
    const all = await opts.categories(actorOf(request).cityId);
    const q = request.query;
    const parentId = q.parentCode ? all.find((c) => c.code === q.parentCode)?.id ?? '-' : undefined;
    return all.filter((c) =>
      (parentId === undefined || c.parentId === parentId) &&
      (q.level === undefined || c.level === q.level) &&
      (!q.q || c.name.includes(q.q) || c.code === q.q || c.keywords.some((k) => k.includes(q.q!))),
    ).slice(0, 2000);
  });

  r.post('/routing/resolve-address', {
    schema: {
      tags: ['routing'],
      summary: 'Resolve an address as the caller says it to district → street → community → grid (属地识别), with alternatives',
      body: z.strictObject({
        address: z.string().max(500),
        lat: z.number().min(-90).max(90).nullish(),
        lng: z.number().min(-180).max(180).nullish(),
        buildingCode: z.string().max(64).nullish(),
      }),
      response: { 200: RoutePlanSchema.shape.territory, ...errorResponses },
    },
  }, async (request) => opts.routing.resolveTerritory({ cityId: actorOf(request).cityId, text: '', ...request.body }));

  r.post('/tickets/:id/dispatch', {
    preHandler: allowRoles(Role.agent, Role.dispatcher, Role.supervisor, Role.admin),
    schema: {
      tags: ['routing'],
      summary: 'Dispatch a ticket by its routing plan (派单); another unit than the plan\'s needs a reason (改派理由)',
      params: z.strictObject({ id: z.string().min(1).max(64) }),
      body: z.strictObject({
        version: z.number().int().min(1),
        handlingUnitId: z.string().max(64).nullish(),
        overrideReason: z.string().max(2000).nullish(),
        planFingerprint: z.string().max(64).nullish().describe('the fingerprint of the plan the person confirmed; 409 PLAN_CHANGED (with the new plan) when it differs'),
      }),
      response: { 200: z.object({ ticket: opts.ticketSchema, plan: RoutePlanSchema, overridden: z.boolean() }), ...errorResponses },
    },
  }, async (request) => {
    const { version, ...choice } = request.body;
    return opts.routing.dispatchTicket(commandContext(request), request.params.id, version, choice);
  });
}
