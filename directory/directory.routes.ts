import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, errorResponses } from '../core/http';
import type { DirectoryService } from './directory.service';
import {
  CityBody, HotlineLineBody, IdParams, TerritoryBody, TerritoryListQuery, TerritoryWithAncestorsBody, UnitBody, UnitListQuery, UnitPageBody,
} from './directory.schemas';

export interface DirectoryRoutesOptions {
  directory: DirectoryService;
}

/**
 * The directory's read API, mounted by the app under /api/v1. Every role may read the directory of
 * its own city; another city's rows answer 404, as if they did not exist.
 */
export async function directoryRoutes(app: FastifyInstance, opts: DirectoryRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { directory } = opts;

  r.get('/cities/current', {
    schema: { tags: ['directory'], summary: 'The city of the logged-in user (城市信息)', response: { 200: CityBody, ...errorResponses } },
  }, async (request) => directory.getCity(actorOf(request).cityId));

  r.get('/territories', {
    schema: {
      tags: ['directory'],
      summary: 'Territories (属地): the children of parentId, else the districts, or every territory of a level',
      querystring: TerritoryListQuery,
      response: { 200: z.object({ items: z.array(TerritoryBody) }), ...errorResponses },
    },
  }, async (request) => {
    const { cityId } = actorOf(request);
    const { parentId, level } = request.query;
    if (parentId) {
      await directory.requireTerritory(parentId, cityId);
      return { items: await directory.listTerritoryChildren(cityId, parentId, level) };
    }
    if (level) return { items: await directory.listTerritoriesAtLevel(cityId, level) };
    return { items: await directory.listTerritoryChildren(cityId, null) };
  });

  r.get('/territories/:id', {
    schema: { tags: ['directory'], summary: 'One territory with its ancestors, district first', params: IdParams, response: { 200: TerritoryWithAncestorsBody, ...errorResponses } },
  }, async (request) => {
    const { cityId } = actorOf(request);
    const territory = await directory.requireTerritory(request.params.id, cityId);
    return { ...territory, ancestors: await directory.territoryAncestors(territory.id, cityId) };
  });

  r.get('/units', {
    schema: { tags: ['directory'], summary: 'Handling units (承办单位) by kind and name/code, paged', querystring: UnitListQuery, response: { 200: UnitPageBody, ...errorResponses } },
  }, async (request) => {
    const { cityId } = actorOf(request);
    const { kind, q, page, pageSize } = request.query;
    const { items, total } = await directory.listUnits(cityId, { kind, q, page, pageSize });
    return { items, total, page, pageSize };
  });

  r.get('/units/:id', {
    schema: { tags: ['directory'], summary: 'One handling unit', params: IdParams, response: { 200: UnitBody, ...errorResponses } },
  }, async (request) => directory.requireUnit(request.params.id, actorOf(request).cityId));

  r.get('/hotline-lines', {
    schema: { tags: ['directory'], summary: 'Legacy hotlines merged into 12345 (归并热线)', response: { 200: z.object({ items: z.array(HotlineLineBody) }), ...errorResponses } },
  }, async (request) => ({ items: await directory.listHotlineLines(actorOf(request).cityId) }));
}
