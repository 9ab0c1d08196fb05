import { z } from 'zod';
import { CHANNELS, TICKET_TYPES, URGENCIES } from '../core';
import { IsoDateTime } from '../core/http';
import { TicketStatus } from './domain/ticket-state-machine';

const text = (max: number) => z.string().max(max);
const id = z.string().min(1).max(64);

/** The six elements and classification: what registration sets and what an edit may change. */
const elementFields = {
  urgency: z.enum(URGENCIES as [string, ...string[]]).optional(),
  citizenName: text(64).nullish(),
  confidential: z.boolean().optional(),
  title: text(200).nullish(),
  occurredAt: IsoDateTime.nullish(),
  addressText: text(500).nullish(),
  territoryId: id.nullish(),
  lat: z.number().min(-90).max(90).nullish(),
  lng: z.number().min(-180).max(180).nullish(),
  parties: text(2000).nullish(),
  situation: text(10_000).nullish(),
  demand: text(5000).nullish(),
  handlingUnitId: id.nullish(),
  categoryId: id.nullish(),
};

export const TicketCreateBody = z.strictObject({
  channel: z.enum(CHANNELS as [string, ...string[]]),
  type: z.enum(TICKET_TYPES as [string, ...string[]]),
  callerPhone: z.string().max(32).nullish(),
  callId: id.nullish(),
  buildingCode: z.string().min(1).max(64).nullish(),
  ...elementFields,
});

/** Channel, caller and call are facts of the contact: not editable. */
export const TicketPatchBody = z.strictObject({
  version: z.number().int().min(1),
  type: z.enum(TICKET_TYPES as [string, ...string[]]).optional(),
  ...elementFields,
});

const reason = z.string().min(1).max(2000);
const v = { version: z.number().int().min(1) };

export const TransitionBody = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('answer_on_spot'), ...v, answer: z.string().min(1).max(10_000), knowledgeArticleId: id.nullish() }),
  z.strictObject({ action: z.literal('dispatch'), ...v, handlingUnitId: id.nullish(), note: z.string().max(2000).nullish() }),
  z.strictObject({ action: z.literal('acknowledge'), ...v }),
  z.strictObject({ action: z.literal('start_handling'), ...v }),
  z.strictObject({ action: z.literal('return_to_center'), ...v, reason }),
  z.strictObject({ action: z.literal('redispatch'), ...v, handlingUnitId: id, reason }),
  z.strictObject({ action: z.literal('confirm_assignment'), ...v, reason }),
  z.strictObject({ action: z.literal('request_extension'), ...v, reason, proposedDeadline: IsoDateTime }),
  z.strictObject({ action: z.literal('grant_extension'), ...v, newDeadline: IsoDateTime.nullish(), reason: z.string().max(2000).nullish() }),
  z.strictObject({ action: z.literal('refuse_extension'), ...v, reason }),
  z.strictObject({ action: z.literal('reply'), ...v, result: z.string().min(1).max(10_000) }),
  z.strictObject({ action: z.literal('approve_reply'), ...v, note: z.string().max(2000).nullish() }),
  z.strictObject({ action: z.literal('reject_reply'), ...v, reason }),
  z.strictObject({ action: z.literal('start_callback'), ...v }),
  z.strictObject({ action: z.literal('record_satisfaction'), ...v, satisfaction: z.enum(['satisfied', 'basically_satisfied', 'unsatisfied']), comment: z.string().max(2000).nullish() }),
  z.strictObject({ action: z.literal('close_without_answer'), ...v, reason }),
  z.strictObject({ action: z.literal('close'), ...v, reason: z.string().max(2000).nullish() }),
  z.strictObject({ action: z.literal('merge'), ...v, intoTicketId: id, reason: z.string().max(2000).nullish() }),
  z.strictObject({ action: z.literal('cancel'), ...v, reason }),
]);

export const TicketView = z.object({
  id: z.string(),
  number: z.string(),
  status: z.string(),
  statusZh: z.string(),
  version: z.number(),
  channel: z.string(),
  type: z.string(),
  urgency: z.string(),
  categoryId: z.string().nullable(),
  citizenId: z.string().nullable(),
  callerPhone: z.string().nullable(),
  citizenName: z.string().nullable(),
  citizenHidden: z.boolean(),
  confidential: z.boolean(),
  title: z.string().nullable(),
  occurredAt: z.string().nullable(),
  addressText: z.string().nullable(),
  territoryId: z.string().nullable(),
  lat: z.number().nullable(),
  lng: z.number().nullable(),
  parties: z.string().nullable(),
  situation: z.string().nullable(),
  demand: z.string().nullable(),
  handlingUnitId: z.string().nullable(),
  callId: z.string().nullable(),
  mergedIntoId: z.string().nullable(),
  answer: z.string().nullable(),
  result: z.string().nullable(),
  round: z.number(),
  satisfaction: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  closedAt: z.string().nullable(),
  missingElements: z.array(z.string()),
  availableActions: z.array(z.string()),
  routingRule: z.string().nullable(),
  responsibilityVersionId: z.string().nullable(),
  plannedUnitId: z.string().nullable(),
});

const csv = (values: readonly string[]) =>
  z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values as [string, ...string[]])));

export const TicketListQuery = z.strictObject({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
  status: csv(Object.values(TicketStatus)).optional(),
  channel: z.enum(CHANNELS as [string, ...string[]]).optional(),
  type: z.enum(TICKET_TYPES as [string, ...string[]]).optional(),
  /** One or several, comma-separated (`urgency=emergency,urgent`). */
  urgency: csv(URGENCIES).optional(),
  categoryId: id.optional(),
  territoryId: id.optional(),
  handlingUnitId: id.optional(),
  callerPhone: z.string().max(32).optional(),
  number: z.string().max(20).optional(),
  q: z.string().min(1).max(100).optional(),
  createdFrom: IsoDateTime.optional(),
  createdTo: IsoDateTime.optional(),
  /** created: by registration time; urgency: 特急, 紧急, then the rest, oldest first within each. */
  sort: z.enum(['created', 'urgency']).default('created'),
  order: z.enum(['asc', 'desc']).default('desc'),
});

export const TicketPage = z.object({ items: z.array(TicketView), total: z.number(), page: z.number(), pageSize: z.number() });

export const AuditEntry = z.object({
  id: z.string(),
  at: z.string(),
  actorId: z.string().nullable(),
  actorRole: z.string().nullable(),
  /** The actor's display name, resolved when the trail is read (null for the system or an unknown id). */
  actorName: z.string().nullable().optional(),
  action: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  reason: z.string().nullable(),
  requestId: z.string().nullable(),
});

export const CitizenLookup = z.object({
  phone: z.string(),
  citizen: z.object({ id: z.string(), name: z.string().nullable(), confidential: z.boolean(), since: z.string() }).nullable(),
  tickets: z.array(TicketView),
  openTickets: z.number(),
  repeatCaller: z.boolean(),
});

export const TicketLink = z.object({ ticketId: z.string(), kind: z.string(), direction: z.string(), createdAt: z.string() });
