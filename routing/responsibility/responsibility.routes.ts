import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest } from '../../core';
import { actorOf, allowRoles, commandContext, errorResponses } from '../../core/http';
import type { ResponsibilityService } from './responsibility.service';
import { LIST_MANAGER_ROLES } from './domain/versions';
import { parseInstantOrDate } from './domain/dates';
import {
  ApproveBody, IdParams, ImportBody, ImportQuery, MatchBody, MatchQuery, RejectBody, VersionBody, VersionItemsQuery, VersionPageBody,
} from './responsibility.schemas';

export interface ResponsibilityRoutesOptions {
  responsibility: ResponsibilityService;
}

/** A CSV of 5,000 items is about 2 MB; room for larger cities. */
const CSV_BODY_LIMIT = 20 * 1024 * 1024;

const instant = (s: string, field: string) => {
  const d = parseInstantOrDate(s);
  if (!d) throw badRequest('DATE_INVALID', `${field} is not a valid date`, `${field} 不是有效的日期`, { field });
  return d;
};

/**
 * /responsibility: the responsibility list (责任清单) — versions, their approval, CSV import and
 * export, and matching a ticket to its items. Every role of the city may read; dispatchers,
 * supervisors and admins change it.
 */
export async function responsibilityRoutes(app: FastifyInstance, opts: ResponsibilityRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { responsibility } = opts;
  const managers = allowRoles(...LIST_MANAGER_ROLES);

  // The CSV may be posted as it is (text/csv); scoped to this plugin.
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: CSV_BODY_LIMIT }, (_req, body, done) => done(null, body));

  r.get('/responsibility/versions', {
    schema: { tags: ['responsibility'], summary: 'Versions of the responsibility list (责任清单版本), newest first', response: { 200: z.object({ items: z.array(VersionBody) }), ...errorResponses } },
  }, async (request) => ({ items: await responsibility.listVersions(actorOf(request).cityId) }));

  r.get('/responsibility/versions/:id', {
    schema: { tags: ['responsibility'], summary: 'One version with a page of its items', params: IdParams, querystring: VersionItemsQuery, response: { 200: VersionPageBody, ...errorResponses } },
  }, async (request) => {
    const { page, pageSize, categoryCode } = request.query;
    return responsibility.getVersion(actorOf(request).cityId, request.params.id, { page, pageSize, categoryCode });
  });

  r.post('/responsibility/versions', {
    bodyLimit: CSV_BODY_LIMIT,
    preHandler: managers,
    schema: {
      tags: ['responsibility'],
      summary: 'Import a CSV as a new draft version (text/csv, or JSON {csv, note}); 422 with every problem and its line',
      querystring: ImportQuery,
      body: ImportBody,
      response: { 201: VersionBody, ...errorResponses },
    },
  }, async (request, reply) => {
    const body = request.body;
    const csv = typeof body === 'string' ? body : body.csv;
    const note = typeof body === 'string' ? request.query.note : (body.note ?? request.query.note);
    const ctx = commandContext(request);
    const version = await responsibility.importCsv(ctx, ctx.actor.cityId, csv, note ?? null);
    return reply.code(201).send(version);
  });

  r.post('/responsibility/versions/:id/propose', {
    preHandler: managers,
    schema: { tags: ['responsibility'], summary: 'Submit a draft for approval (提交审批)', params: IdParams, response: { 200: VersionBody, ...errorResponses } },
  }, async (request) => responsibility.propose(commandContext(request), request.params.id));

  r.post('/responsibility/versions/:id/approve', {
    preHandler: managers,
    schema: {
      tags: ['responsibility'],
      summary: 'Approve a proposed version, in force from effectiveFrom (not by its proposer)',
      params: IdParams,
      body: ApproveBody,
      response: { 200: VersionBody, ...errorResponses },
    },
  }, async (request) => responsibility.approve(commandContext(request), request.params.id, instant(request.body.effectiveFrom, 'effectiveFrom')));

  r.post('/responsibility/versions/:id/reject', {
    preHandler: managers,
    schema: { tags: ['responsibility'], summary: 'Reject a version, or withdraw one not yet in effect', params: IdParams, body: RejectBody, response: { 200: VersionBody, ...errorResponses } },
  }, async (request) => responsibility.reject(commandContext(request), request.params.id, request.body.reason));

  r.get('/responsibility/versions/:id/export.csv', {
    schema: { tags: ['responsibility'], summary: 'The version as CSV (UTF-8 with BOM)', params: IdParams, response: { 200: z.string(), ...errorResponses } },
  }, async (request, reply) => {
    const { cityId } = actorOf(request);
    const version = await responsibility.getVersionInfo(cityId, request.params.id);
    const csv = await responsibility.exportCsv(cityId, version.id);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="responsibility-${cityId}-v${version.number}.csv"`)
      .send(csv);
  });

  r.get('/responsibility/match', {
    schema: {
      tags: ['responsibility'],
      summary: 'The items answering a ticket: category (most specific first), situation keywords in the text, acting unit for the place',
      querystring: MatchQuery,
      response: { 200: MatchBody, ...errorResponses },
    },
  }, async (request) => {
    const q = request.query;
    return responsibility.match(actorOf(request).cityId, {
      categoryCode: q.categoryCode,
      text: q.text,
      territoryId: q.territoryId,
      at: q.at ? instant(q.at, 'at') : undefined,
      versionId: q.versionId,
    });
  });
}
