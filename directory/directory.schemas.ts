/** The directory's HTTP shapes (zod, for fastify-type-provider-zod). */
import { z } from 'zod';
import { PageQuery } from '../core/http';
import { CitySettings } from './domain/city-settings';
import { TerritoryLevel, UnitKind } from './domain/territory';

const Level = z.enum(TerritoryLevel);
const Kind = z.enum(UnitKind);

export const CityBody = z.object({
  id: z.string(),
  name: z.string(),
  isDemo: z.boolean(),
  settings: CitySettings,
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const TerritoryBody = z.object({
  id: z.string(),
  cityId: z.string(),
  code: z.string().nullable(),
  name: z.string(),
  level: Level,
  parentId: z.string().nullable(),
  path: z.string(),
});

export const TerritoryWithAncestorsBody = TerritoryBody.extend({
  /** Top down: district first. */
  ancestors: z.array(TerritoryBody),
});

export const TerritoryListQuery = z.object({
  /** The parent whose children to list; without it, the districts (or, with `level`, every territory of that level). */
  parentId: z.string().min(1).max(64).optional(),
  level: Level.optional(),
});

export const UnitBody = z.object({
  id: z.string(),
  cityId: z.string(),
  code: z.string(),
  name: z.string(),
  kind: Kind,
  parentId: z.string().nullable(),
  territoryId: z.string().nullable(),
  smsPhone: z.string().nullable(),
  dutyPerson: z.string().nullable(),
  dutyPhone: z.string().nullable(),
  active: z.boolean(),
});

export const UnitListQuery = PageQuery.extend({
  kind: Kind.optional(),
  q: z.string().trim().min(1).max(64).optional(),
});

export const UnitPageBody = z.object({
  items: z.array(UnitBody),
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
});

export const HotlineLineBody = z.object({
  id: z.string(),
  cityId: z.string(),
  number: z.string(),
  name: z.string(),
  mergedOn: z.string().nullable(),
});

export const IdParams = z.object({ id: z.string().min(1).max(64) });
