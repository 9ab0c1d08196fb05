/**
 * /hotspots: hotspot warnings (热点预警), one per incident (热点事件: the overlapping warnings of one
 * burst, headlined by the most specific) — the list with filters, one incident with the tickets behind
 * it, acknowledge (知悉), dismiss (排除) and convert to a proactive ticket (转主动治理工单).
 * Supervisors, dispatchers and admins see the city; town leaders, community secretaries and grid
 * leaders see the warnings of their territory (over or under it).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiKeyScope, Role } from '../../core';
import { actorOf, allowRoles, commandContext, errorResponses, PageOf, PageQuery } from '../../core/http';
import type { HotspotService } from './hotspots.service';

export interface HotspotRoutesOptions {
  hotspots: HotspotService;
}

const READERS = [Role.supervisor, Role.dispatcher, Role.admin, Role.townLeader, Role.communitySecretary, Role.gridLeader];
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day as YYYY-MM-DD').refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'a real calendar day');
const IdParams = z.strictObject({ id: z.string().min(1).max(64) });
const csv = z.string().max(200).transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const Warning = z.object({
  id: z.string(), day: z.string(), level: z.number(), levelCode: z.enum(['blue', 'yellow', 'red']), levelZh: z.string(), basis: z.enum(['day', 'window']),
  categoryId: z.string(), categoryName: z.string(), categoryLevel: z.number(), territoryId: z.string(), territoryName: z.string(), territoryLevel: z.string(), territoryPath: z.string(),
  tickets: z.number(), callers: z.number(), baselineMean: z.number(), baselineSpread: z.number(), status: z.string(), statusZh: z.string(), version: z.number(),
  raisedAt: z.string(), levelRaisedAt: z.string(), handledBy: z.string().nullable(), handledAt: z.string().nullable(), note: z.string().nullable(),
  proactiveTicketId: z.string().nullable(), title: z.string(),
  // The incident (热点事件): the group fields above are its headline's; the other warnings of the burst are its related levels.
  headlineWarningId: z.string(), headlineLevel: z.number(),
  related: z.array(z.object({
    warningId: z.string(), level: z.number(), levelCode: z.enum(['blue', 'yellow', 'red']), levelZh: z.string(), basis: z.enum(['day', 'window']),
    categoryId: z.string(), categoryName: z.string(), categoryLevel: z.number(), territoryId: z.string(), territoryName: z.string(), territoryLevel: z.string(),
    tickets: z.number(), callers: z.number(), label: z.string(),
  })),
});
const TicketBehind = z.object({
  id: z.string(), number: z.string(), status: z.string(), statusZh: z.string(), title: z.string().nullable(), callerPhone: z.string().nullable(),
  confidential: z.boolean(), addressText: z.string().nullable(), createdAt: z.string(),
});
const Detail = z.object({
  warning: Warning,
  now: z.object({ tickets: z.number(), callers: z.number() }),
  tickets: z.array(TicketBehind),
  hiddenTickets: z.number(),
  trail: z.array(z.object({ action: z.string(), at: z.string(), actorRole: z.string().nullable(), reason: z.string().nullable() })),
});

export async function hotspotRoutes(app: FastifyInstance, opts: HotspotRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { hotspots } = opts;
  const tags = ['hotspots'];
  const readers = { preHandler: allowRoles(...READERS), config: { apiKeyScopes: [ApiKeyScope.ticketsRead] } };

  r.get('/hotspots', {
    ...readers,
    schema: {
      tags, summary: '热点预警 Hotspot incidents (one per burst, with its related levels), newest day first, highest level first (leaders: their territory only)',
      querystring: z.strictObject({
        ...PageQuery.shape, fromDay: Day.optional(), toDay: Day.optional(), minLevel: z.coerce.number().int().min(1).max(3).optional(),
        status: csv.pipe(z.array(z.enum(['open', 'acknowledged', 'dismissed', 'converted']))).optional(), categoryId: z.string().max(64).optional(),
        territoryPath: z.string().regex(/^\/([^/]+\/)+$/).max(255).optional(),
      }),
      response: { 200: PageOf(Warning), ...errorResponses },
    },
  }, async (request) => {
    const q = request.query;
    return hotspots.list(actorOf(request), { ...q, statuses: q.status });
  });

  r.get('/hotspots/:id', {
    ...readers,
    schema: { tags, summary: 'One warning with the tickets behind it (masked per role; confidential ones only for the center) and its trail', params: IdParams, response: { 200: Detail, ...errorResponses } },
  }, async (request) => hotspots.get(actorOf(request), request.params.id));

  r.post('/hotspots/:id/acknowledge', {
    preHandler: allowRoles(...READERS),
    schema: { tags, summary: '知悉 Acknowledge an open warning', params: IdParams, body: z.strictObject({ version: z.number().int().min(1), note: z.string().max(500).nullish() }), response: { 200: Warning, ...errorResponses } },
  }, async (request) => hotspots.acknowledge(commandContext(request), request.params.id, request.body.version, request.body.note?.trim() || null));

  r.post('/hotspots/:id/dismiss', {
    preHandler: allowRoles(...READERS),
    schema: { tags, summary: '排除 Dismiss an open warning, with the reason', params: IdParams, body: z.strictObject({ version: z.number().int().min(1), reason: z.string().max(500) }), response: { 200: Warning, ...errorResponses } },
  }, async (request) => hotspots.dismiss(commandContext(request), request.params.id, request.body.version, request.body.reason));

  r.post('/hotspots/:id/convert', {
    preHandler: allowRoles(...READERS),
    schema: {
      tags, summary: '转主动治理工单 Turn the warning into a proactive ticket linked to the tickets behind it; twice gives the same ticket',
      params: IdParams,
      response: { 200: z.object({ warning: Warning, ticket: z.object({ id: z.string(), number: z.string() }), linkedTickets: z.number() }), ...errorResponses },
    },
  }, async (request) => hotspots.convert(commandContext(request), request.params.id));
}
