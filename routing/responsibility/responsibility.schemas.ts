/** The responsibility list's HTTP shapes (zod, for fastify-type-provider-zod). */
import { z } from 'zod';
import { PageQuery } from '../../core/http';
import { ACTING_LEVELS } from './domain/items';
import { VersionState, VersionStatus } from './domain/versions';

const id = z.string().min(1).max(64);

/** ISO 8601 with a zone, or a date 'YYYY-MM-DD' (midnight China time). */
export const InstantOrDate = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/,
    'a date YYYY-MM-DD (China time) or ISO 8601 with a time zone, e.g. 2025-11-01T00:00:00+08:00',
  );

export const VersionBody = z.object({
  id: z.string(),
  cityId: z.string(),
  number: z.number().int(),
  status: z.enum(VersionStatus),
  state: z.enum(VersionState),
  note: z.string().nullable(),
  itemCount: z.number().int(),
  sourceHash: z.string(),
  effectiveFrom: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  proposedBy: z.string().nullable(),
  proposedAt: z.string().nullable(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  rejectReason: z.string().nullable(),
});

const UnitRef = z.object({ id: z.string(), code: z.string() });

export const ItemBody = z.object({
  id: z.string(),
  versionId: z.string(),
  seq: z.number().int(),
  itemCode: z.string(),
  categoryCode: z.string(),
  situationKeywords: z.array(z.string()),
  actingLevel: z.enum(ACTING_LEVELS as [string, ...string[]]),
  leadUnit: UnitRef.nullable(),
  coUnits: z.array(UnitRef),
  procedure: z.string(),
  standard: z.string(),
  contactPhone: z.string().nullable(),
  legalBasis: z.string(),
});

export const VersionPageBody = z.object({
  version: VersionBody,
  items: z.array(ItemBody),
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
});

export const VersionItemsQuery = PageQuery.extend({
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
  categoryCode: z.string().trim().min(1).max(32).optional(),
});

export const IdParams = z.strictObject({ id });

/** The body of POST /versions: the CSV itself (text/csv) or JSON `{ csv, note }`. */
export const ImportBody = z.union([
  z.string().min(1),
  z.strictObject({ csv: z.string().min(1), note: z.string().trim().max(500).nullish() }),
]);
export const ImportQuery = z.object({ note: z.string().trim().max(500).optional() });

export const ApproveBody = z.strictObject({ effectiveFrom: InstantOrDate });
export const RejectBody = z.strictObject({ reason: z.string().trim().min(1).max(2000) });

const UnitSummary = z.object({ id: z.string(), code: z.string(), name: z.string(), kind: z.string(), active: z.boolean(), dutyPhone: z.string().nullable() });

export const MatchQuery = z.object({
  categoryCode: z.string().trim().min(1).max(32),
  text: z.string().max(10_000).optional(),
  territoryId: id.optional(),
  at: InstantOrDate.optional(),
  versionId: id.optional(),
});

export const MatchBody = z.object({
  versionId: z.string().nullable(),
  versionNumber: z.number().int().nullable(),
  at: z.string(),
  categoryCode: z.string(),
  items: z.array(
    ItemBody.extend({
      rank: z.number().int(),
      score: z.number(),
      why: z.object({
        category: z.enum(['exact', 'ancestor']),
        distance: z.number().int(),
        keywordsHit: z.array(z.string()),
        situationUnconfirmed: z.boolean(),
        explanationZh: z.string(),
      }),
      actingUnit: UnitSummary.nullable(),
      coHandlingUnits: z.array(UnitSummary),
    }),
  ),
});
