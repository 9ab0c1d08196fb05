import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiKeyScope, badRequest, parseIsoWithZone, toDbTime } from '../core';
import { actorOf, commandContext, errorResponses, IsoDateTime } from '../core/http';
import type { IntakeService, NewTicket, TicketElementsPatch } from './intake.service';
import type { TransitionInput } from './domain/ticket-state-machine';
import { AuditEntry, CitizenLookup, TicketCreateBody, TicketLink, TicketListQuery, TicketPage, TicketPatchBody, TicketView, TransitionBody } from './intake.schemas';

export interface IntakeRoutesOptions {
  intake: IntakeService;
}

const IdParams = z.strictObject({ id: z.string().min(1).max(64) });

/** /tickets and /citizens: registration, reading with scopes, editing, transitions, links, audit, caller history. */
export async function intakeRoutes(app: FastifyInstance, opts: IntakeRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { intake } = opts;

  r.post('/tickets', {
    config: { apiKeyScopes: [ApiKeyScope.ticketsWrite] },
    schema: { tags: ['tickets'], summary: 'Register a ticket (登记工单)', body: TicketCreateBody, response: { 201: TicketView, ...errorResponses } },
  }, async (request, reply) => {
    const ticket = await intake.createTicket(commandContext(request), request.body as NewTicket);
    return reply.code(201).send(ticket);
  });

  r.get('/tickets', {
    config: { apiKeyScopes: [ApiKeyScope.ticketsRead] },
    schema: { tags: ['tickets'], summary: 'List tickets in your scope', querystring: TicketListQuery, response: { 200: TicketPage, ...errorResponses } },
  }, async (request) => {
    const q = request.query;
    const actor = actorOf(request);
    const iso = (s: string | undefined) => (s ? toDbTime(parseIsoWithZone(s)!) : undefined);
    return intake.listTickets(
      actor,
      {
        statuses: q.status, channel: q.channel, type: q.type, urgency: q.urgency, categoryId: q.categoryId,
        territoryId: q.territoryId, handlingUnitId: q.handlingUnitId, callerPhone: q.callerPhone, number: q.number, q: q.q,
        createdFrom: iso(q.createdFrom), createdTo: iso(q.createdTo),
      },
      q.page,
      q.pageSize,
      { sort: q.sort, order: q.order },
    );
  });

  r.get('/tickets/figures', {
    config: { apiKeyScopes: [ApiKeyScope.ticketsRead] },
    schema: {
      tags: ['tickets'],
      summary: 'The center\'s figures of tickets registered in a period (督办监控): totals, 即办, dispatched, satisfaction, per hour and channel',
      querystring: z.strictObject({ from: IsoDateTime.optional(), to: IsoDateTime.optional() }).describe('both or neither: without them, today (China time, by the server\'s clock)'),
      response: {
        200: z.object({
          from: z.string(), to: z.string(), total: z.number(), answered: z.number(), dispatched: z.number(), rated: z.number(), satisfied: z.number(),
          byHour: z.record(z.string(), z.array(z.number())),
        }),
        ...errorResponses,
      },
    },
  }, async (request) => {
    const { from, to } = request.query;
    if (!from !== !to) throw badRequest('RANGE_INVALID', 'give both from and to, or neither (today)', '起止时间须同时提供，或都不提供（即今日）', { field: from ? 'to' : 'from' });
    return intake.figures(actorOf(request), from ? parseIsoWithZone(from)! : undefined, to ? parseIsoWithZone(to)! : undefined);
  });

  r.get('/tickets/by-number/:number', {
    config: { apiKeyScopes: [ApiKeyScope.ticketsRead] },
    schema: { tags: ['tickets'], summary: 'One ticket by its number (工单编号): the ticket page\'s address', params: z.strictObject({ number: z.string().min(1).max(64) }), response: { 200: TicketView, ...errorResponses } },
  }, async (request) => intake.getTicketByNumber(actorOf(request), request.params.number));

  r.get('/tickets/:id', {
    config: { apiKeyScopes: [ApiKeyScope.ticketsRead] },
    schema: { tags: ['tickets'], summary: 'One ticket', params: IdParams, response: { 200: TicketView, ...errorResponses } },
  }, async (request) => intake.getTicket(actorOf(request), request.params.id));

  r.patch('/tickets/:id', {
    config: { apiKeyScopes: [ApiKeyScope.ticketsWrite] },
    schema: { tags: ['tickets'], summary: 'Edit the six elements and classification (needs the current version)', params: IdParams, body: TicketPatchBody, response: { 200: TicketView, ...errorResponses } },
  }, async (request) => {
    const { version, ...patch } = request.body;
    return intake.updateElements(commandContext(request), request.params.id, version, patch as TicketElementsPatch);
  });

  r.post('/tickets/:id/transitions', {
    config: { apiKeyScopes: [ApiKeyScope.ticketsWrite] },
    schema: { tags: ['tickets'], summary: 'Move the ticket through its life (dispatch, acknowledge, return, ...)', params: IdParams, body: TransitionBody, response: { 200: TicketView, ...errorResponses } },
  }, async (request) => {
    const { version, ...input } = request.body;
    return intake.transition(commandContext(request), request.params.id, version, input as TransitionInput);
  });

  r.get('/tickets/:id/audit', {
    schema: { tags: ['tickets'], summary: 'The audit trail of a ticket (全程留痕)', params: IdParams, response: { 200: z.array(AuditEntry), ...errorResponses } },
  }, async (request) => intake.auditOf(actorOf(request), request.params.id));

  r.get('/tickets/:id/links', {
    schema: { tags: ['tickets'], summary: 'Related, duplicate and merged tickets', params: IdParams, response: { 200: z.array(TicketLink), ...errorResponses } },
  }, async (request) => intake.linksOf(actorOf(request), request.params.id));

  r.post('/tickets/:id/links', {
    schema: { tags: ['tickets'], summary: 'Link a related or duplicate ticket', params: IdParams, body: z.strictObject({ ticketId: z.string().min(1).max(64), kind: z.enum(['related', 'duplicate']) }), response: { 200: z.array(TicketLink), ...errorResponses } },
  }, async (request) => intake.linkTickets(commandContext(request), request.params.id, request.body.ticketId, request.body.kind));

  const DuplicateCandidate = z.object({ ticket: TicketView, score: z.number(), reasons: z.array(z.object({ zh: z.string(), en: z.string() })) });
  r.post('/tickets/duplicates', {
    schema: {
      tags: ['tickets'],
      summary: 'Possible duplicates of a ticket being built (查重): same problem at the same place, and the caller\'s open tickets',
      body: z.strictObject({
        text: z.string().max(10_000),
        categoryId: z.string().max(64).nullish(),
        territoryId: z.string().max(64).nullish(),
        addressText: z.string().max(500).nullish(),
        callerPhone: z.string().max(32).nullish(),
        excludeTicketId: z.string().max(64).nullish(),
        withinDays: z.number().int().min(1).max(365).optional(),
      }),
      response: { 200: z.object({ sameProblem: z.array(DuplicateCandidate), sameCaller: z.array(TicketView) }), ...errorResponses },
    },
  }, async (request) => intake.findDuplicates(actorOf(request), request.body));

  r.get('/citizens/lookup', {
    schema: { tags: ['citizens'], summary: 'Caller history by phone (来电人历史), hotline center only', querystring: z.strictObject({ phone: z.string().min(3).max(32) }), response: { 200: CitizenLookup, ...errorResponses } },
  }, async (request) => intake.lookupCitizen(actorOf(request), request.query.phone));

  r.put('/citizens/:id/confidential', {
    schema: { tags: ['citizens'], summary: 'Keep this citizen confidential (保密)', params: IdParams, body: z.strictObject({ confidential: z.boolean() }), response: { 204: z.null(), ...errorResponses } },
  }, async (request, reply) => {
    await intake.setCitizenConfidential(commandContext(request), request.params.id, request.body.confidential);
    return reply.code(204).send(null);
  });
}
