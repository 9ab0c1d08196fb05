/**
 * /grid-calls (网格呼叫·部门报到) and /grid-matters (网格办结事项). Grid and town roles act in their
 * territory; the center reads the whole city. Commands take an Idempotency-Key header.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiKeyScope, Role, parseIsoWithZone, badRequest } from '../core';
import { actorOf, allowRoles, commandContext, errorResponses, IsoDateTime, PageOf, PageQuery } from '../core/http';
import type { GridCallService } from './gridcalls.service';

export interface GridCallRoutesOptions {
  gridCalls: GridCallService;
}

const GRID = [Role.gridMember, Role.gridLeader, Role.communitySecretary, Role.townLeader];
const READERS = [...GRID, Role.supervisor, Role.dispatcher, Role.admin, Role.agent];
const IdParams = z.strictObject({ id: z.string().min(1).max(64) });
const csv = z.string().max(200).transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
const Flag = z.enum(['true', 'false']).transform((v) => v === 'true');

const GridCall = z.object({
  id: z.string(), number: z.string(), status: z.string(), statusZh: z.string(), step: z.string().nullable(), stepZh: z.string().nullable(),
  stepStartedAt: z.string().nullable(), stepRemindAt: z.string().nullable(), stepDueAt: z.string().nullable(), overdue: z.boolean(),
  territoryId: z.string(), callerId: z.string(), callerRole: z.string(), callerName: z.string(), title: z.string(), situation: z.string(),
  demand: z.string().nullable(), addressText: z.string().nullable(), categoryId: z.string().nullable(), round: z.number(),
  sentBackReason: z.string().nullable(), ticketId: z.string().nullable(), result: z.string().nullable(), satisfaction: z.string().nullable(),
  version: z.number(), createdAt: z.string(), updatedAt: z.string(), closedAt: z.string().nullable(),
});
const Detail = z.object({
  call: GridCall,
  trail: z.array(z.object({ action: z.string(), at: z.string(), actorId: z.string().nullable(), actorRole: z.string().nullable(), reason: z.string().nullable(), after: z.unknown() })),
});
const Matter = z.object({
  id: z.string(), territoryId: z.string(), recordedBy: z.string(), recorderName: z.string(), categoryId: z.string().nullable(), title: z.string(),
  handling: z.string(), addressText: z.string().nullable(), handledAt: z.string(), createdAt: z.string(),
});
const Text = (max: number) => z.string().max(max);
const Period = z.strictObject({ from: IsoDateTime, to: IsoDateTime });

function periodOf(q: { from: string; to: string }) {
  const from = parseIsoWithZone(q.from)!;
  const to = parseIsoWithZone(q.to)!;
  if (to.getTime() <= from.getTime()) throw badRequest('PERIOD_INVALID', '"to" must be after "from"', '结束时间须晚于开始时间', { field: 'to' });
  return { from, to };
}

const GridTask = z.object({
  id: z.string(), ticketId: z.string(), workOrderId: z.string(), unitId: z.string(), territoryId: z.string(), title: z.string(), note: z.string().nullable(),
  assignedByName: z.string(), replyDue: z.string().nullable(), status: z.string(), statusZh: z.string(), result: z.string().nullable(),
  reportedAt: z.string().nullable(), version: z.number(), createdAt: z.string(),
});

export async function gridCallRoutes(app: FastifyInstance, opts: GridCallRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { gridCalls } = opts;
  const tags = ['grid'];
  const readers = { preHandler: allowRoles(...READERS), config: { apiKeyScopes: [ApiKeyScope.ticketsRead] } };
  const actors = { preHandler: allowRoles(...GRID) };
  const ok = { 200: GridCall, ...errorResponses };

  r.post('/grid-calls', {
    ...actors,
    schema: {
      tags, summary: '网格呼叫 Raise a grid call (grid member, grid leader, community secretary); the level above approves first',
      body: z.strictObject({ title: Text(200), situation: Text(2000), demand: Text(2000).nullish(), addressText: Text(255).nullish(), categoryId: z.string().max(64).nullish() }),
      response: { 201: GridCall, ...errorResponses },
    },
  }, async (request, reply) => reply.code(201).send(await gridCalls.raise(commandContext(request), request.body)));

  r.get('/grid-calls', {
    ...readers,
    schema: {
      tags, summary: 'Grid calls of the territory; inbox=true: those waiting for me (my approvals, the town\'s handling, my ratings); mine=true: those I raised',
      querystring: z.strictObject({ ...PageQuery.shape, status: csv.optional(), inbox: Flag.optional(), mine: Flag.optional() }),
      response: { 200: PageOf(GridCall), ...errorResponses },
    },
  }, async (request) => gridCalls.list(actorOf(request), request.query));

  r.get('/grid-calls/:id', {
    ...readers,
    schema: { tags, summary: 'One grid call with its trail (全程留痕)', params: IdParams, response: { 200: Detail, ...errorResponses } },
  }, async (request) => gridCalls.get(actorOf(request), request.params.id));

  r.post('/grid-calls/:id/approve', {
    ...actors,
    schema: {
      tags, summary: '审批 Approve at my level; the town leader chooses route "town" (镇街自办) or "center" (转12345中心, a ticket)', params: IdParams,
      body: z.strictObject({ route: z.enum(['town', 'center']).nullish(), note: Text(500).nullish() }), response: ok,
    },
  }, async (request) => gridCalls.approve(commandContext(request), request.params.id, request.body));

  r.post('/grid-calls/:id/send-back', {
    ...actors,
    schema: { tags, summary: '退回 Send the call back to the caller, with a reason', params: IdParams, body: z.strictObject({ reason: Text(500) }), response: ok },
  }, async (request) => gridCalls.sendBack(commandContext(request), request.params.id, request.body.reason));

  r.post('/grid-calls/:id/resubmit', {
    ...actors,
    schema: {
      tags, summary: '重新提交 The caller resubmits a sent-back call, optionally revised', params: IdParams,
      body: z.strictObject({ title: Text(200).optional(), situation: Text(2000).optional(), demand: Text(2000).nullish(), addressText: Text(255).nullish() }), response: ok,
    },
  }, async (request) => gridCalls.resubmit(commandContext(request), request.params.id, request.body));

  r.post('/grid-calls/:id/town-reply', {
    ...actors,
    schema: { tags, summary: '镇街办结反馈 The town reports what it did', params: IdParams, body: z.strictObject({ result: Text(2000) }), response: ok },
  }, async (request) => gridCalls.townReply(commandContext(request), request.params.id, request.body.result));

  r.post('/grid-calls/:id/rate', {
    ...actors,
    schema: {
      tags, summary: '评价 The caller rates the result: satisfied closes it, unsatisfied sends it to a second handling', params: IdParams,
      body: z.strictObject({ satisfaction: z.enum(['satisfied', 'basically_satisfied', 'unsatisfied']), comment: Text(500).nullish() }), response: ok,
    },
  }, async (request) => gridCalls.rate(commandContext(request), request.params.id, request.body));

  r.post('/grid-matters', {
    preHandler: allowRoles(Role.gridMember, Role.gridLeader),
    schema: {
      tags, summary: '网格办 Record a matter handled inside the grid (counts in the reports)',
      body: z.strictObject({ title: Text(200), handling: Text(2000), categoryId: z.string().max(64).nullish(), addressText: Text(255).nullish(), handledAt: IsoDateTime.nullish() }),
      response: { 201: Matter, ...errorResponses },
    },
  }, async (request, reply) => reply.code(201).send(await gridCalls.recordMatter(commandContext(request), request.body)));

  r.get('/grid-matters', {
    ...readers,
    schema: { tags, summary: 'Matters handled in the grids of my territory in [from, to)', querystring: z.strictObject({ ...PageQuery.shape, ...Period.shape }), response: { 200: PageOf(Matter), ...errorResponses } },
  }, async (request) => gridCalls.listMatters(actorOf(request), { ...periodOf(request.query), page: request.query.page, pageSize: request.query.pageSize }));

  r.get('/grid-matters/counts', {
    ...readers,
    schema: {
      tags, summary: '网格办结量 Matters handled in the grid, per grid, in [from, to)', querystring: Period,
      response: { 200: z.object({ from: z.string(), to: z.string(), total: z.number(), byTerritory: z.array(z.object({ territoryId: z.string(), territoryPath: z.string(), matters: z.number() })) }), ...errorResponses },
    },
  }, async (request) => gridCalls.matterCounts(actorOf(request), periodOf(request.query)));

  // 四级联动 (市—镇街—社区—网格): a town's or community's unit hands a work order down to a grid.
  r.post('/work-orders/:id/hand-down', {
    preHandler: allowRoles(Role.unitHandler, Role.unitManager),
    schema: {
      tags, summary: '下派网格 A town\'s or community\'s unit hands a work order it signed for down to a grid under its territory (the work order keeps its clocks)',
      params: IdParams, body: z.strictObject({ territoryId: z.string().min(1).max(64), note: Text(500).nullish() }), response: { 201: GridTask, ...errorResponses },
    },
  }, async (request, reply) => reply.code(201).send(await gridCalls.handDown(commandContext(request), request.params.id, request.body)));

  r.get('/grid-tasks', {
    preHandler: allowRoles(...READERS, Role.unitHandler, Role.unitManager),
    schema: {
      tags, summary: 'Grid tasks: those my unit handed down, or those of my grid territory',
      querystring: z.strictObject({
        ...PageQuery.shape,
        status: csv.pipe(z.array(z.enum(['assigned', 'reported']))).optional(),
        /** Some work orders only (a queue's page): up to 100 ids, comma-separated. */
        workOrderId: z.string().max(4000).transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)).pipe(z.array(z.string().max(64)).max(100)).optional(),
      }),
      response: { 200: PageOf(GridTask), ...errorResponses },
    },
  }, async (request) => gridCalls.listTasks(actorOf(request), { status: request.query.status, workOrderIds: request.query.workOrderId, page: request.query.page, pageSize: request.query.pageSize }));

  r.post('/grid-tasks/:id/report', {
    preHandler: allowRoles(Role.gridMember, Role.gridLeader),
    schema: { tags, summary: '网格反馈 The grid reports what it did; the unit then replies on the work order', params: IdParams, body: z.strictObject({ result: Text(2000) }), response: { 200: GridTask, ...errorResponses } },
  }, async (request) => gridCalls.reportTask(commandContext(request), request.params.id, request.body.result));
}
