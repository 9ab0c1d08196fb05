import type { Kysely } from 'kysely';
import { runInTransaction, type DB, type DialectName } from '../db';
import { recordAudit, listAudit } from '../audit';
import {
  badRequest, conflict, notFound, forbidden, newId, normalizePhone, maskPhone, toDbTime, fromDbTime, dbTimeToIso,
  isCenter, systemClock, Role, UNIT_ROLES, GRID_ROLES, EventBus,
  type Actor, type Clock, type CommandContext, type Channel, type TicketType, type Urgency,
} from '../core';
import { IntakeRepository, type TicketRow, type TicketListFilter, type TicketListOrder } from './intake.repository';
import { ticketNumber, ticketSequenceName } from './domain/ticket-number';
import { createNumberBlocks } from './domain/number-blocks';
import {
  decide, missingSixElements, availableActions, EDITABLE_STATUSES, FINAL_STATUSES, TICKET_STATUS_ZH,
  type TicketStatus, type TransitionInput, type SixElement, type TicketAction,
} from './domain/ticket-state-machine';
import type { IntakeLookups } from './ports';
import { bigrams, cosine, duplicateScore, placeMatch } from './domain/similarity';

/** A ticket being built, or an existing one, to compare with open tickets. */
export interface DuplicateQuery {
  text: string;
  categoryId?: string | null;
  territoryId?: string | null;
  /** The address as given: two reports in one grid are the same place only at the same house number. */
  addressText?: string | null;
  callerPhone?: string | null;
  excludeTicketId?: string | null;
  /** How far back to look (default 14 days). */
  withinDays?: number;
}

export interface DuplicateCandidate {
  ticket: TicketView;
  score: number;
  reasons: { zh: string; en: string }[];
}

export interface NewTicket {
  channel: Channel;
  type: TicketType;
  urgency?: Urgency;
  callerPhone?: string | null;
  citizenName?: string | null;
  confidential?: boolean;
  title?: string | null;
  occurredAt?: string | null;
  addressText?: string | null;
  territoryId?: string | null;
  lat?: number | null;
  lng?: number | null;
  parties?: string | null;
  situation?: string | null;
  demand?: string | null;
  handlingUnitId?: string | null;
  categoryId?: string | null;
  callId?: string | null;
  /** QR reports (有呼必应一码通): the building's code gives the place exactly. */
  buildingCode?: string | null;
}

export type TicketElementsPatch = Partial<Omit<NewTicket, 'channel' | 'callerPhone' | 'callId' | 'buildingCode'>>;

export interface TicketView {
  id: string;
  number: string;
  status: TicketStatus;
  statusZh: string;
  version: number;
  channel: string;
  type: string;
  urgency: string;
  categoryId: string | null;
  citizenId: string | null;
  callerPhone: string | null;
  citizenName: string | null;
  /** The citizen was withheld from this viewer (confidential ticket, 保密). */
  citizenHidden: boolean;
  confidential: boolean;
  title: string | null;
  occurredAt: string | null;
  addressText: string | null;
  territoryId: string | null;
  lat: number | null;
  lng: number | null;
  parties: string | null;
  situation: string | null;
  demand: string | null;
  handlingUnitId: string | null;
  callId: string | null;
  mergedIntoId: string | null;
  answer: string | null;
  result: string | null;
  round: number;
  satisfaction: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  missingElements: SixElement[];
  availableActions: TicketAction[];
  /** How routing decided at dispatch: the rule, the responsibility-list version, the unit the plan chose. */
  routingRule: string | null;
  responsibilityVersionId: string | null;
  plannedUnitId: string | null;
}

/** The center's figures of a period (by registration time): what the dashboard shows. */
export interface TicketFigures {
  from: string;
  to: string;
  total: number;
  /** Answered on the spot (即办). */
  answered: number;
  /** Given to a unit and not since merged or cancelled. */
  dispatched: number;
  rated: number;
  /** Rated 满意 or 基本满意. */
  satisfied: number;
  /** Tickets per China-time hour (0–23), by channel. */
  byHour: Record<string, number[]>;
}

const NOT_DISPATCHED: ReadonlySet<string> = new Set(['accepted', 'answered', 'merged', 'cancelled']);

export interface IntakeEvents extends Record<string, unknown> {
  'ticket.created': { ticket: TicketRow; actor: Actor };
  'ticket.updated': { ticket: TicketRow; actor: Actor; changed: string[] };
  'ticket.transitioned': { ticket: TicketRow; actor: Actor; action: TicketAction; from: TicketStatus; to: TicketStatus; reason: string | null; input: TransitionInput };
}

/** A ticket transition as the participants see it, inside its transaction. */
export interface TicketChange {
  ctx: CommandContext;
  before: TicketRow;
  after: TicketRow;
  input: TransitionInput;
  now: Date;
  from: TicketStatus;
  to: TicketStatus;
  reason: string | null;
  /** Made by the work-order part on a work order's behalf (see `transitionWithin`). */
  trusted: boolean;
}

/**
 * A part that takes part in ticket transitions (the work orders). `prepare` runs before the
 * transaction and may read; `apply` runs inside it and may refuse the transition by throwing.
 */
export interface TicketTransitionParticipant {
  prepare?(ticket: TicketRow, input: TransitionInput, actor: Actor, now: Date): Promise<unknown>;
  apply(trx: Kysely<DB>, change: TicketChange, prepared: unknown): Promise<void>;
  /** Before a ticket is registered (reads allowed): what `created` will need. */
  prepareCreate?(cityId: string, facts: { categoryId: string | null; type: string; urgency: string }, now: Date): Promise<unknown>;
  /** Inside the registration's transaction, after the ticket row is written (the center's own clock starts). */
  created?(trx: Kysely<DB>, ticket: TicketRow, ctx: CommandContext, prepared: unknown): Promise<void>;
}

export interface IntakeDeps {
  db: Kysely<DB>;
  dialect: DialectName;
  lookups: IntakeLookups;
  clock?: Clock;
  /** Ticket events: `emitWithin` inside each change's transaction, `emit` after its commit (see core/events.ts). */
  events?: EventBus<IntakeEvents, Kysely<DB>>;
  /** How far back a caller's tickets make them a repeat caller (重复来电). */
  repeatCallerDays?: number;
  /**
   * Ticket numbers taken from the day's sequence this many at a time (批量取号, see
   * domain/number-blocks.ts): 1 keeps a day's numbers in registration order across nodes; more saves a
   * round trip per ticket and the sequence row's lock, at the price of gaps when a node stops.
   */
  numberBlockSize?: number;
}

const MAX_FUTURE_MS = 10 * 60_000;
/** How sure routing must be of an address before intake files the ticket under that territory. */
const PLACE_CONFIDENCE = 0.8;

/** The data scope of an actor over tickets (数据权限). */
export function ticketScopeOf(actor: Actor): TicketListFilter['scope'] {
  if (isCenter(actor)) return { kind: 'city' };
  if (UNIT_ROLES.has(actor.role)) return actor.unitId ? { kind: 'unit', unitId: actor.unitId } : { kind: 'none' };
  if (GRID_ROLES.has(actor.role)) return actor.territoryPath ? { kind: 'territory', path: actor.territoryPath, userId: actor.id } : { kind: 'none' };
  return { kind: 'none' };
}

/**
 * What the ticket row alone lets a viewer see: the center everything of its city, a unit the tickets
 * it handles, grid staff their territory and what they registered. A unit also reads the tickets on
 * which it holds a work order (协办, or a round it handled): {@link createIntakeService}'s reads add
 * those (they need the work-order part), and its commands keep to this.
 */
export function canSee(actor: Actor, t: TicketRow): boolean {
  if (t.city_id !== actor.cityId) return false;
  const s = ticketScopeOf(actor);
  switch (s.kind) {
    case 'city':
      return true;
    case 'unit':
      return t.handling_unit_id === s.unitId;
    case 'territory':
      return (!!t.territory_path && t.territory_path.startsWith(s.path)) || (!!s.userId && t.created_by === s.userId);
    default:
      return false;
  }
}

/**
 * What a viewer may see of a ticket: phone numbers are masked outside the hotline center, and a
 * confidential ticket (保密) hides the citizen from everyone outside it.
 */
export function toTicketView(t: TicketRow, actor: Actor): TicketView {
  const center = isCenter(actor);
  const hidden = !center && t.confidential === 1;
  return {
    id: t.id,
    number: t.number,
    status: t.status as TicketStatus,
    statusZh: TICKET_STATUS_ZH[t.status as TicketStatus] ?? t.status,
    version: Number(t.version),
    channel: t.channel,
    type: t.type,
    urgency: t.urgency,
    categoryId: t.category_id,
    citizenId: hidden ? null : t.citizen_id,
    callerPhone: hidden ? null : center ? t.caller_phone : maskPhone(t.caller_phone),
    citizenName: hidden ? null : t.citizen_name,
    citizenHidden: hidden,
    confidential: t.confidential === 1,
    title: t.title,
    occurredAt: dbTimeToIso(t.occurred_at),
    addressText: t.address_text,
    territoryId: t.territory_id,
    lat: t.lat === null ? null : Number(t.lat),
    lng: t.lng === null ? null : Number(t.lng),
    parties: t.parties,
    situation: t.situation,
    demand: t.demand,
    handlingUnitId: t.handling_unit_id,
    callId: t.call_id,
    mergedIntoId: t.merged_into_id,
    answer: t.answer,
    result: t.result,
    round: Number(t.round),
    satisfaction: t.satisfaction,
    createdBy: t.created_by,
    createdAt: dbTimeToIso(t.created_at)!,
    updatedAt: dbTimeToIso(t.updated_at)!,
    closedAt: dbTimeToIso(t.closed_at),
    missingElements: missingSixElements(t),
    availableActions: availableActions({ status: t.status as TicketStatus, handlingUnitId: t.handling_unit_id }, actor),
    routingRule: t.routing_rule,
    responsibilityVersionId: t.responsibility_version_id,
    plannedUnitId: t.planned_unit_id,
  };
}

/** Intake (受理): tickets with the six elements, citizens and caller history, the ticket's state machine. */
export function createIntakeService(deps: IntakeDeps) {
  const clock = deps.clock ?? systemClock;
  const events = deps.events ?? new EventBus<IntakeEvents, Kysely<DB>>();
  const repo = (db: Kysely<DB> = deps.db) => new IntakeRepository(db, deps.dialect);
  const numbers = createNumberBlocks((sequence, size) => repo().takeSequenceBlock(sequence, size), deps.numberBlockSize ?? 1);
  const idemScope = (ctx: CommandContext) => `${ctx.actor.kind}:${ctx.actor.id ?? 'system'}`;

  function parseOccurredAt(s: string | null | undefined, now: Date): string | null {
    if (s === undefined || s === null) return null;
    const d = new Date(s);
    if (Number.isNaN(d.getTime())) throw badRequest('DATE_INVALID', 'occurredAt is not a valid date', '发生时间格式不正确', { field: 'occurredAt' });
    if (d.getTime() > now.getTime() + MAX_FUTURE_MS) {
      throw badRequest('DATE_IN_FUTURE', 'occurredAt is in the future', '发生时间不能晚于当前时间', { field: 'occurredAt' });
    }
    return toDbTime(d);
  }

  /** Checks references (territory, unit, category) against the actor's city; returns the territory path. */
  async function checkReferences(cityId: string, r: { territoryId?: string | null; handlingUnitId?: string | null; categoryId?: string | null }) {
    let territoryPath: string | null | undefined;
    if (r.territoryId) {
      const t = await deps.lookups.territory(r.territoryId);
      if (!t || t.cityId !== cityId) throw badRequest('TERRITORY_NOT_FOUND', `territory ${r.territoryId} does not exist`, `区域 ${r.territoryId} 不存在`, { field: 'territoryId' });
      territoryPath = t.path;
    } else if (r.territoryId === null) territoryPath = null;
    if (r.handlingUnitId) {
      const u = await deps.lookups.unit(r.handlingUnitId);
      if (!u || u.cityId !== cityId) throw badRequest('UNIT_NOT_FOUND', `unit ${r.handlingUnitId} does not exist`, `承办单位 ${r.handlingUnitId} 不存在`, { field: 'handlingUnitId' });
      if (!u.active) throw badRequest('UNIT_INACTIVE', `unit ${u.name} is not active`, `承办单位「${u.name}」已停用`, { field: 'handlingUnitId' });
    }
    if (r.categoryId) {
      const c = await deps.lookups.category(r.categoryId);
      if (!c || c.cityId !== cityId) throw badRequest('CATEGORY_NOT_FOUND', `category ${r.categoryId} does not exist`, `分类 ${r.categoryId} 不存在`, { field: 'categoryId' });
    }
    return territoryPath;
  }

  /**
   * A report without a territory gets one from its QR building (exactly) or its address/point (when
   * routing is sure); otherwise the place stays as given and the routing plan says it is missing.
   */
  async function withResolvedPlace(cityId: string, input: NewTicket): Promise<NewTicket> {
    if (input.territoryId || !deps.lookups.placeOf) {
      if (input.buildingCode && !input.territoryId && !deps.lookups.placeOf) throw badRequest('BUILDING_NOT_FOUND', 'building codes cannot be resolved here', '无法识别楼栋码', { field: 'buildingCode' });
      return input;
    }
    if (input.buildingCode) {
      const hit = await deps.lookups.placeOf(cityId, { buildingCode: input.buildingCode });
      if (!hit) throw badRequest('BUILDING_NOT_FOUND', `unknown building code ${input.buildingCode}`, `楼栋码 ${input.buildingCode} 不存在`, { field: 'buildingCode' });
      return { ...input, territoryId: hit.territoryId };
    }
    if (!input.addressText?.trim() && input.lat == null) return input;
    const hit = await deps.lookups.placeOf(cityId, { address: input.addressText, lat: input.lat, lng: input.lng });
    return hit && hit.confidence >= PLACE_CONFIDENCE ? { ...input, territoryId: hit.territoryId } : input;
  }

  /** Names the people of a trail; the role stays beside the name (a user may change roles later). */
  async function withActorNames<E extends { actorId: string | null }>(cityId: string, trail: E[]): Promise<(E & { actorName: string | null })[]> {
    const ids = [...new Set(trail.map((e) => e.actorId).filter((x): x is string => !!x))];
    const names = ids.length && deps.lookups.userNames ? await deps.lookups.userNames(cityId, ids) : new Map<string, string>();
    return trail.map((e) => ({ ...e, actorName: (e.actorId && names.get(e.actorId)) || null }));
  }

  async function loadVisible(db: Kysely<DB>, actor: Actor, id: string): Promise<TicketRow> {
    const t = await repo(db).findTicket(id);
    // Out of scope looks the same as missing: a unit cannot probe other units' ticket ids.
    if (!t || !canSee(actor, t)) throw notFound('TICKET_NOT_FOUND', `ticket ${id} not found`, `工单 ${id} 不存在`);
    return t;
  }

  /**
   * Whether a viewer may read a ticket: what {@link canSee} allows, and for a unit also a ticket on
   * which it holds a work order — as co-handler (协办), or from a round it handled — but not one that
   * 改派 took away from it (see the `UnitWorkOrders` port). Reading only: commands keep to the
   * handling unit. What the viewer sees of it is {@link toTicketView}'s as ever (phone masked, a
   * confidential ticket's citizen hidden).
   */
  async function mayRead(actor: Actor, t: TicketRow): Promise<boolean> {
    if (canSee(actor, t)) return true;
    const s = ticketScopeOf(actor);
    return s.kind === 'unit' && t.city_id === actor.cityId && !!deps.lookups.unitWorkOrders && (await deps.lookups.unitWorkOrders.holds(s.unitId, t.id));
  }

  /** As {@link loadVisible}, for reading (see {@link mayRead}). */
  async function loadReadable(actor: Actor, id: string): Promise<TicketRow> {
    const t = await repo().findTicket(id);
    if (!t || !(await mayRead(actor, t))) throw notFound('TICKET_NOT_FOUND', `ticket ${id} not found`, `工单 ${id} 不存在`);
    return t;
  }

  function versionConflict(current: TicketRow | undefined) {
    return conflict('VERSION_CONFLICT', 'the ticket was changed by someone else; reload and try again', '工单已被他人修改，请刷新后重试', {
      currentVersion: current ? Number(current.version) : null,
      currentStatus: current?.status ?? null,
    });
  }

  const participants: TicketTransitionParticipant[] = [];

  /** Participants read what they need before the transaction (reads over another connection inside it would block SQLite). */
  async function prepareParticipants(actor: Actor, id: string, input: TransitionInput, now: Date, trusted = false) {
    const prepared = new Map<TicketTransitionParticipant, unknown>();
    if (!participants.some((p) => p.prepare)) return prepared;
    const t = await repo().findTicket(id);
    if (!t || (!trusted && !canSee(actor, t))) return prepared; // the transaction reports it
    for (const p of participants) if (p.prepare) prepared.set(p, await p.prepare(t, input, actor, now));
    return prepared;
  }

  async function applyTransition(
    trx: Kysely<DB>, ctx: CommandContext, id: string, input: TransitionInput,
    o: { now: Date; version?: number; trusted?: boolean; prepared: Map<TicketTransitionParticipant, unknown> },
  ) {
    const { actor } = ctx;
    const now = o.now;
    const r = repo(trx);
    const before = o.trusted ? await r.findTicket(id) : await loadVisible(trx, actor, id);
    if (!before || before.city_id !== actor.cityId) throw notFound('TICKET_NOT_FOUND', `ticket ${id} not found`, `工单 ${id} 不存在`);
    const version = o.version ?? Number(before.version);
    if (Number(before.version) !== version) throw versionConflict(before);
    const decision = decide(
      { id: before.id, status: before.status as TicketStatus, handlingUnitId: before.handling_unit_id, missingElements: missingSixElements(before), round: Number(before.round) },
      input,
      actor,
      now,
      { trusted: o.trusted },
    );
    if (input.action === 'merge') {
      const target = await r.findTicket(input.intoTicketId);
      if (!target || !canSee(actor, target)) throw badRequest('TICKET_NOT_FOUND', `ticket ${input.intoTicketId} not found`, `工单 ${input.intoTicketId} 不存在`, { field: 'intoTicketId' });
      if (FINAL_STATUSES.has(target.status as TicketStatus)) {
        throw conflict('MERGE_TARGET_FINAL', 'cannot merge into a closed, merged or cancelled ticket', '不能合并到已办结、已合并或已撤销的工单');
      }
      await r.insertLink({ id: newId(), ticket_id: before.id, linked_ticket_id: target.id, kind: 'merged', created_by: actor.id, created_at: toDbTime(now) });
    }
    const set: Partial<TicketRow> = { status: decision.to, updated_at: toDbTime(now) };
    for (const [k, v] of Object.entries(decision.patch)) (set as Record<string, unknown>)[k] = v instanceof Date ? toDbTime(v) : v;
    if (!(await r.updateTicketIfVersion(id, version, set))) throw versionConflict(await r.findTicket(id));
    const after = (await r.findTicket(id))!;
    const changed = ['status', ...Object.keys(decision.patch)] as (keyof TicketRow)[];
    await recordAudit(
      trx, ctx,
      {
        entityType: 'ticket', entityId: id, action: `ticket.${input.action}`,
        before: pick(before, changed), after: { ...pick(after, changed), input }, reason: decision.reason, cityId: before.city_id,
      },
      now,
    );
    const change: TicketChange = { ctx, before, after, input, now, from: decision.from, to: decision.to, reason: decision.reason, trusted: !!o.trusted };
    for (const p of participants) await p.apply(trx, change, o.prepared.get(p));
    const ticket = (await r.findTicket(id))!;
    const event: IntakeEvents['ticket.transitioned'] = { ticket, actor, action: input.action, from: decision.from, to: ticket.status as TicketStatus, reason: decision.reason, input };
    await events.emitWithin(trx, 'ticket.transitioned', event);
    return {
      ticket,
      from: decision.from,
      reason: decision.reason,
      /** Emits `ticket.transitioned`; call after the transaction committed. */
      emit: () => events.emit('ticket.transitioned', event),
    };
  }

  const service = {
    events,

    /** Registers a new ticket (统一登记). Retried requests with the same idempotency key return the first ticket. */
    async createTicket(ctx: CommandContext, input: NewTicket): Promise<TicketView> {
      const actor = ctx.actor;
      if (!isCenter(actor) && !GRID_ROLES.has(actor.role)) {
        throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} may not register tickets`, `角色 ${actor.role} 无权登记工单`);
      }
      const now = clock.now();
      const phone = input.callerPhone ? normalizePhone(input.callerPhone) : null;
      if (input.callerPhone && !phone) throw badRequest('PHONE_INVALID', 'malformed phone number', '电话号码格式不正确', { field: 'callerPhone' });
      const occurredAt = parseOccurredAt(input.occurredAt, now);
      if ((input.lat == null) !== (input.lng == null)) throw badRequest('COORDINATES_INCOMPLETE', 'lat and lng go together', '经纬度须同时提供', { field: 'lat' });
      const asked = input; // what the client sent: the idempotency key answers for this, not for our resolution
      input = await withResolvedPlace(actor.cityId, input);
      const territoryPath = await checkReferences(actor.cityId, input);
      const prepared = new Map<TicketTransitionParticipant, unknown>();
      for (const p of participants) {
        if (p.prepareCreate) prepared.set(p, await p.prepareCreate(actor.cityId, { categoryId: input.categoryId ?? null, type: input.type, urgency: input.urgency ?? 'normal' }, now));
      }

      // Taken before the transaction, in a statement of its own (批量取号): a failed registration burns its number.
      const number = ticketNumber(now, await numbers.next(ticketSequenceName(actor.cityId, now)));
      let created: IntakeEvents['ticket.created'] | null = null;
      const { value, replayed } = await runInTransaction(
        deps.db,
        { scope: idemScope(ctx), key: ctx.idempotencyKey, command: 'ticket.create', request: asked },
        async (trx) => {
          const r = repo(trx);
          let citizenId: string | null = null;
          let confidential = input.confidential ? 1 : 0;
          if (phone) {
            let citizen = await r.findCitizenByPhone(actor.cityId, phone);
            if (!citizen) {
              const fresh = { id: newId(), city_id: actor.cityId, phone, name: input.citizenName?.trim() || null, confidential: 0, created_at: toDbTime(now), updated_at: toDbTime(now) };
              // A first call from this number may be registered twice at once: when the twin's row won, it is the citizen.
              citizen = (await r.insertCitizen(fresh)) ? fresh : await r.findCitizenByPhone(actor.cityId, phone, { newest: true });
            } else if (!citizen.name && input.citizenName?.trim()) {
              await r.updateCitizen(citizen.id, { name: input.citizenName.trim(), updated_at: toDbTime(now) });
            }
            citizenId = citizen!.id;
            // A citizen who asked for confidentiality (保密) has every ticket kept confidential.
            if (citizen!.confidential) confidential = 1;
          }
          const row: TicketRow = {
            id: newId(),
            city_id: actor.cityId,
            number,
            status: 'accepted',
            version: 1,
            channel: input.channel,
            type: input.type,
            urgency: input.urgency ?? 'normal',
            category_id: input.categoryId ?? null,
            citizen_id: citizenId,
            caller_phone: phone,
            citizen_name: input.citizenName?.trim() || null,
            confidential,
            title: input.title?.trim() || null,
            occurred_at: occurredAt,
            address_text: input.addressText?.trim() || null,
            territory_id: input.territoryId ?? null,
            territory_path: territoryPath ?? null,
            lat: input.lat ?? null,
            lng: input.lng ?? null,
            parties: input.parties?.trim() || null,
            situation: input.situation?.trim() || null,
            demand: input.demand?.trim() || null,
            handling_unit_id: input.handlingUnitId ?? null,
            call_id: input.callId ?? null,
            merged_into_id: null,
            answer: null,
            result: null,
            round: 1,
            satisfaction: null,
            created_by: actor.id,
            created_at: toDbTime(now),
            updated_at: toDbTime(now),
            closed_at: null,
            routing_rule: null,
            responsibility_version_id: null,
            planned_unit_id: null,
          };
          await r.insertTicket(row);
          await recordAudit(trx, ctx, { entityType: 'ticket', entityId: row.id, action: 'ticket.created', after: row }, now);
          for (const p of participants) await p.created?.(trx, row, ctx, prepared.get(p));
          created = { ticket: row, actor };
          await events.emitWithin(trx, 'ticket.created', created);
          return row;
        },
        () => clock.now(),
      );
      // A replay (same Idempotency-Key) changed nothing: it announces nothing either.
      if (!replayed && created) events.emit('ticket.created', created);
      return toTicketView(value, actor);
    },

    async getTicket(actor: Actor, id: string): Promise<TicketView> {
      return toTicketView(await loadReadable(actor, id), actor);
    },

    /** The ticket's row, if the actor may read it (404 otherwise): for other parts' reads and checks. */
    async getTicketRow(actor: Actor, id: string): Promise<TicketRow> {
      return loadReadable(actor, id);
    },

    /**
     * The figures of the tickets registered in [from, to) for the center's dashboard (督办监控): counted
     * in SQL, so an update costs one small answer however many tickets the day has. Center roles only.
     */
    async figures(actor: Actor, from?: Date, to?: Date): Promise<TicketFigures> {
      if (!from || !to) {
        // Today in China (UTC+8 all year), by the server's clock.
        const chinaMidnight = Math.floor((clock.now().getTime() + 8 * 3_600_000) / 86_400_000) * 86_400_000 - 8 * 3_600_000;
        from = new Date(chinaMidnight);
        to = new Date(chinaMidnight + 86_400_000);
      }
      if (!isCenter(actor)) throw forbidden('ROLE_FORBIDDEN', 'only the hotline center sees the city\'s figures', '仅热线中心可查看全市统计');
      if (!(to.getTime() > from.getTime()) || to.getTime() - from.getTime() > 31 * 86_400_000) {
        throw badRequest('RANGE_INVALID', 'from must be before to, at most 31 days apart', '起止时间须先后有序且不超过31天', { field: 'to' });
      }
      const groups = await repo().figureGroups(actor.cityId, toDbTime(from), toDbTime(to));
      const f: TicketFigures = { from: from.toISOString(), to: to.toISOString(), total: 0, answered: 0, dispatched: 0, rated: 0, satisfied: 0, byHour: {} };
      for (const g of groups) {
        const n = Number(g.n);
        f.total += n;
        if (g.status === 'answered' || Number(g.has_answer)) f.answered += n;
        if (Number(g.has_unit) && !NOT_DISPATCHED.has(g.status)) f.dispatched += n;
        if (g.satisfaction) f.rated += n;
        if (g.satisfaction === 'satisfied' || g.satisfaction === 'basically_satisfied') f.satisfied += n;
        const hour = (Number(g.utc_hour) + 8) % 24; // China time: UTC+8 all year
        (f.byHour[g.channel] ??= new Array<number>(24).fill(0))[hour] += n;
      }
      return f;
    },

    /** A ticket by its number (工单编号), as shared in links and read out on the phone; out of scope is 404 like missing. */
    async getTicketByNumber(actor: Actor, number: string): Promise<TicketView> {
      const t = await repo().findTicketByNumber(actor.cityId, number.trim());
      if (!t || !(await mayRead(actor, t))) throw notFound('TICKET_NOT_FOUND', `ticket ${number} not found`, `工单 ${number} 不存在`);
      return toTicketView(t, actor);
    },

    /** The ticket registered from a call (its `callId`), if the actor may read it; null otherwise. */
    async findTicketOfCall(actor: Actor, callId: string): Promise<TicketView | null> {
      const t = await repo().findTicketByCallId(actor.cityId, callId);
      return t && (await mayRead(actor, t)) ? toTicketView(t, actor) : null;
    },

    async listTickets(actor: Actor, filter: Omit<TicketListFilter, 'cityId' | 'scope' | 'territoryPath'> & { territoryId?: string }, page = 1, pageSize = 20, order: TicketListOrder = {}) {
      const { territoryId, ...rest } = filter;
      let scope = ticketScopeOf(actor);
      // A unit's list holds the tickets it co-handles (协办) or handled in an earlier round, as its reads do.
      if (scope.kind === 'unit' && deps.lookups.unitWorkOrders) scope = { ...scope, held: deps.lookups.unitWorkOrders.ticketIds(scope.unitId) };
      const f: TicketListFilter = { ...rest, cityId: actor.cityId, scope };
      if (territoryId) f.territoryPath = (await checkReferences(actor.cityId, { territoryId }))!;
      // Outside the center, searching by phone would reveal whose number it is.
      if (!isCenter(actor) && (f.callerPhone || f.citizenId)) {
        throw forbidden('SCOPE_FORBIDDEN', 'only the hotline center may search by caller', '仅热线中心可按来电人查询');
      }
      if (f.callerPhone) {
        const p = normalizePhone(f.callerPhone);
        if (!p) throw badRequest('PHONE_INVALID', 'malformed phone number', '电话号码格式不正确', { field: 'callerPhone' });
        f.callerPhone = p;
      }
      const { rows, total } = await repo().listTickets(f, page, pageSize, order);
      return { items: rows.map((t) => toTicketView(t, actor)), total, page, pageSize };
    },

    /** Edits the six elements and classification; `version` guards against lost updates. */
    async updateElements(ctx: CommandContext, id: string, version: number, patch: TicketElementsPatch): Promise<TicketView> {
      const actor = ctx.actor;
      if (!isCenter(actor) || actor.role === Role.supervisor) {
        throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} may not edit tickets`, `角色 ${actor.role} 无权修改工单`);
      }
      const now = clock.now();
      const territoryPath = await checkReferences(actor.cityId, patch);
      let updated: IntakeEvents['ticket.updated'] | null = null;
      const { value, replayed } = await runInTransaction(
        deps.db,
        { scope: idemScope(ctx), key: ctx.idempotencyKey, command: `ticket.update:${id}`, request: { version, patch } },
        async (trx) => {
          const r = repo(trx);
          const before = await loadVisible(trx, actor, id);
          if (!EDITABLE_STATUSES.has(before.status as TicketStatus)) {
            throw conflict('TICKET_NOT_EDITABLE', `a ${before.status} ticket cannot be edited`, `工单当前为「${TICKET_STATUS_ZH[before.status as TicketStatus]}」，不能修改`, { status: before.status });
          }
          if (Number(before.version) !== version) throw versionConflict(before);
          const set: Partial<TicketRow> = {};
          const text = (v: string | null | undefined) => (v == null ? null : v.trim() || null);
          if (patch.type !== undefined) set.type = patch.type;
          if (patch.urgency !== undefined) set.urgency = patch.urgency;
          if (patch.citizenName !== undefined) set.citizen_name = text(patch.citizenName);
          if (patch.confidential !== undefined) set.confidential = patch.confidential ? 1 : 0;
          if (patch.title !== undefined) set.title = text(patch.title);
          if (patch.occurredAt !== undefined) set.occurred_at = parseOccurredAt(patch.occurredAt, now);
          if (patch.addressText !== undefined) set.address_text = text(patch.addressText);
          if (patch.territoryId !== undefined) {
            set.territory_id = patch.territoryId;
            set.territory_path = territoryPath ?? null;
          }
          if (patch.lat !== undefined) set.lat = patch.lat;
          if (patch.lng !== undefined) set.lng = patch.lng;
          if (patch.parties !== undefined) set.parties = text(patch.parties);
          if (patch.situation !== undefined) set.situation = text(patch.situation);
          if (patch.demand !== undefined) set.demand = text(patch.demand);
          if (patch.handlingUnitId !== undefined) set.handling_unit_id = patch.handlingUnitId;
          if (patch.categoryId !== undefined) set.category_id = patch.categoryId;
          const changed = (Object.keys(set) as (keyof TicketRow)[]).filter((k) => set[k] !== before[k]);
          if (changed.length === 0) return before;
          set.updated_at = toDbTime(now);
          if (!(await r.updateTicketIfVersion(id, version, set))) throw versionConflict(await r.findTicket(id));
          const after = (await r.findTicket(id))!;
          await recordAudit(
            trx, ctx,
            { entityType: 'ticket', entityId: id, action: 'ticket.updated', before: pick(before, changed), after: pick(after, changed), cityId: before.city_id },
            now,
          );
          updated = { ticket: after, actor, changed: Object.keys(patch) };
          await events.emitWithin(trx, 'ticket.updated', updated);
          return after;
        },
        () => clock.now(),
      );
      if (!replayed && updated) events.emit('ticket.updated', updated);
      return toTicketView(value, actor);
    },

    /** Moves a ticket through its life (see the state machine); one transaction writes state and audit. */
    async transition(ctx: CommandContext, id: string, version: number, input: TransitionInput): Promise<TicketView> {
      const actor = ctx.actor;
      const now = clock.now();
      // References are checked before the transaction: the lookups read over their own connection.
      if ((input.action === 'dispatch' || input.action === 'redispatch') && input.handlingUnitId) {
        await checkReferences(actor.cityId, { handlingUnitId: input.handlingUnitId });
      }
      const prepared = await prepareParticipants(actor, id, input, now);
      const { value, replayed } = await runInTransaction(
        deps.db,
        { scope: idemScope(ctx), key: ctx.idempotencyKey, command: `ticket.transition:${id}`, request: { version, input } },
        (trx) => applyTransition(trx, ctx, id, input, { now, version, prepared }),
        () => clock.now(),
      );
      if (!replayed) value.emit();
      // A replay answers with the ticket as it is now, seen by this actor.
      return toTicketView(replayed ? await loadVisible(deps.db, actor, id) : value.ticket, actor);
    },

    /**
     * The same transition inside a caller's transaction, for the work-order part: a work-order
     * command and the ticket change it causes commit together or not at all. The caller emits the
     * returned events after its commit. `trusted` skips the role/unit check (the caller checked who
     * may act on the work order); `prepared` is what {@link prepareTransition} read beforehand.
     */
    transitionWithin(trx: Kysely<DB>, ctx: CommandContext, id: string, input: TransitionInput, opts: { now: Date; trusted?: boolean; prepared?: Map<TicketTransitionParticipant, unknown> }) {
      return applyTransition(trx, ctx, id, input, { now: opts.now, trusted: opts.trusted, prepared: opts.prepared ?? new Map() });
    },

    /** The ticket's status as the caller's transaction sees it (null: no such ticket). */
    async statusWithin(trx: Kysely<DB>, id: string): Promise<string | null> {
      return (await repo(trx).findTicket(id))?.status ?? null;
    },

    /** Runs the participants' `prepare` for a transition the caller will make with {@link transitionWithin}. */
    prepareTransition(actor: Actor, id: string, input: TransitionInput, now: Date) {
      return prepareParticipants(actor, id, input, now, true);
    },

    /**
     * Adds a part that takes part in every ticket transition (the work orders): its `apply` runs in
     * the transition's transaction, so the ticket and what follows from it commit together.
     */
    addParticipant(p: TicketTransitionParticipant) {
      participants.push(p);
    },
    /**
     * Possible duplicates (重复件) while a ticket is built: open tickets about the same problem at the
     * same place (text, category, place) and the caller's own open tickets, best first, so the agent
     * can link or merge instead of dispatching twice.
     */
    async findDuplicates(actor: Actor, q: DuplicateQuery): Promise<{ sameProblem: DuplicateCandidate[]; sameCaller: TicketView[] }> {
      if (!isCenter(actor)) throw forbidden('ROLE_FORBIDDEN', 'only the hotline center checks duplicates', '仅热线中心可查重');
      const phone = q.callerPhone ? normalizePhone(q.callerPhone) : null;
      if (q.callerPhone && !phone) throw badRequest('PHONE_INVALID', 'malformed phone number', '电话号码格式不正确', { field: 'callerPhone' });
      let exactPath: string | null = null;
      let areaPath: string | null = null;
      if (q.territoryId) {
        const t = await deps.lookups.territory(q.territoryId);
        if (!t || t.cityId !== actor.cityId) throw badRequest('TERRITORY_NOT_FOUND', `territory ${q.territoryId} does not exist`, `区域 ${q.territoryId} 不存在`, { field: 'territoryId' });
        exactPath = t.path;
        // Compare within the street (level 2 of the path): neighbours in the next grid are the same place to a caller.
        const parts = t.path.split('/').filter(Boolean);
        areaPath = '/' + parts.slice(0, Math.min(2, parts.length)).join('/') + '/';
      }
      const since = toDbTime(new Date(clock.now().getTime() - (q.withinDays ?? 14) * 86_400_000));
      const rows = await repo().duplicateCandidates({
        cityId: actor.cityId, since, areaPath, categoryId: q.categoryId ?? null, callerPhone: phone,
        excludeId: q.excludeTicketId ?? null, finalStatuses: [...FINAL_STATUSES], limit: 500,
      });
      const mine = bigrams(q.text ?? '');
      const sameProblem: DuplicateCandidate[] = [];
      for (const t of rows) {
        const text = [t.title, t.situation, t.demand].filter(Boolean).join(' ');
        const samePlace = placeMatch({ exactPath, areaPath, address: q.addressText ?? null }, { territoryPath: t.territory_path, address: t.address_text });
        const { score, reasons } = duplicateScore({
          textSimilarity: cosine(mine, bigrams(text)),
          sameCategory: !!q.categoryId && t.category_id === q.categoryId,
          samePlace,
          sameCaller: !!phone && t.caller_phone === phone,
        });
        if (score >= 0.35) sameProblem.push({ ticket: toTicketView(t, actor), score: Math.round(score * 1000) / 1000, reasons });
      }
      sameProblem.sort((a, b) => b.score - a.score || b.ticket.createdAt.localeCompare(a.ticket.createdAt));
      const sameCaller = phone ? rows.filter((t) => t.caller_phone === phone).map((t) => toTicketView(t, actor)) : [];
      return { sameProblem: sameProblem.slice(0, 10), sameCaller };
    },

    /**
     * The unit already handling an open ticket of this category at this place, if any: routing's
     * first-responder rule (首问负责) lets it lead a new report of the same problem.
     */
    async unitHandlingOpenTicketAt(cityId: string, categoryId: string, territoryPath: string): Promise<string | null> {
      const open = ['dispatched', 'acknowledged', 'in_progress', 'extension_requested', 'replied'];
      const row = await repo().latestOpenAt({ cityId, categoryId, territoryPath, openStatuses: open });
      return row?.handling_unit_id ?? null;
    },

    /** Links two tickets (related or duplicate) without changing either's state. */
    async linkTickets(ctx: CommandContext, id: string, otherId: string, kind: 'related' | 'duplicate') {
      const actor = ctx.actor;
      if (!isCenter(actor)) throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} may not link tickets`, `角色 ${actor.role} 无权关联工单`);
      if (id === otherId) throw badRequest('LINK_TO_SELF', 'a ticket cannot be linked to itself', '工单不能关联自身');
      const now = clock.now();
      await deps.db.transaction().execute(async (trx) => {
        const a = await loadVisible(trx, actor, id);
        const b = await repo(trx).findTicket(otherId);
        if (!b || !canSee(actor, b)) throw badRequest('TICKET_NOT_FOUND', `ticket ${otherId} not found`, `工单 ${otherId} 不存在`, { field: 'ticketId' });
        const inserted = await repo(trx).insertLink({ id: newId(), ticket_id: a.id, linked_ticket_id: b.id, kind, created_by: actor.id, created_at: toDbTime(now) });
        if (inserted) await recordAudit(trx, ctx, { entityType: 'ticket', entityId: a.id, action: 'ticket.linked', after: { linkedTicketId: b.id, kind }, cityId: a.city_id }, now);
      });
      return service.linksOf(actor, id);
    },

    async linksOf(actor: Actor, id: string) {
      await loadReadable(actor, id);
      const links = await repo().linksOf(id);
      return links.map((l) => ({
        ticketId: l.ticket_id === id ? l.linked_ticket_id : l.ticket_id,
        kind: l.kind,
        direction: l.ticket_id === id ? 'outgoing' : 'incoming',
        createdAt: dbTimeToIso(l.created_at)!,
      }));
    },

    async auditOf(actor: Actor, id: string) {
      const ticket = await loadReadable(actor, id);
      const trail = await withActorNames(ticket.city_id, await listAudit(deps.db, 'ticket', id));
      if (isCenter(actor)) return trail;
      // Outside the center the trail keeps its steps but not the citizen's details; once a ticket is
      // confidential, no step of its past shows the citizen either.
      const hide = ticket.confidential === 1;
      return trail.map((e) => ({ ...e, before: redactCitizen(e.before, hide), after: redactCitizen(e.after, hide) }));
    },

    /** Caller history (来电人历史): the citizen behind a number and their recent tickets. Center only. */
    async lookupCitizen(actor: Actor, rawPhone: string) {
      if (!isCenter(actor)) throw forbidden('ROLE_FORBIDDEN', 'only the hotline center may look up callers', '仅热线中心可查询来电人');
      const phone = normalizePhone(rawPhone);
      if (!phone) throw badRequest('PHONE_INVALID', 'malformed phone number', '电话号码格式不正确', { field: 'phone' });
      const r = repo();
      const citizen = await r.findCitizenByPhone(actor.cityId, phone);
      if (!citizen) return { phone, citizen: null, tickets: [], openTickets: 0, repeatCaller: false };
      const tickets = await r.recentTicketsOfCitizen(citizen.id, 20);
      const since = toDbTime(new Date(clock.now().getTime() - (deps.repeatCallerDays ?? 30) * 86_400_000));
      const recent = await r.countTicketsOfCitizenSince(citizen.id, since);
      return {
        phone,
        citizen: { id: citizen.id, name: citizen.name, confidential: citizen.confidential === 1, since: dbTimeToIso(citizen.created_at)! },
        tickets: tickets.map((t) => toTicketView(t, actor)),
        openTickets: tickets.filter((t) => !FINAL_STATUSES.has(t.status as TicketStatus) && t.status !== 'answered').length,
        repeatCaller: recent >= 2,
      };
    },

    /** Marks a citizen as confidential (保密): every later ticket of theirs is confidential. */
    async setCitizenConfidential(ctx: CommandContext, citizenId: string, confidential: boolean) {
      if (!isCenter(ctx.actor)) throw forbidden('ROLE_FORBIDDEN', 'only the hotline center may change this', '仅热线中心可修改');
      const now = clock.now();
      await deps.db.transaction().execute(async (trx) => {
        const c = await repo(trx).findCitizen(citizenId);
        if (!c || c.city_id !== ctx.actor.cityId) throw notFound('CITIZEN_NOT_FOUND', 'citizen not found', '来电人不存在');
        await repo(trx).updateCitizen(citizenId, { confidential: confidential ? 1 : 0, updated_at: toDbTime(now) });
        await recordAudit(trx, ctx, { entityType: 'citizen', entityId: citizenId, action: 'citizen.confidentiality_set', before: { confidential: c.confidential === 1 }, after: { confidential } }, now);
      });
    },
  };
  return service;
}

function pick<T extends object>(o: T, keys: (keyof T)[]): Partial<T> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Partial<T>;
}

function redactCitizen(v: unknown, confidential: boolean): unknown {
  if (!v || typeof v !== 'object') return v;
  const o = { ...(v as Record<string, unknown>) };
  if ('caller_phone' in o) o.caller_phone = maskPhone(o.caller_phone as string | null);
  if (confidential || o.confidential === 1 || o.confidential === true) {
    delete o.caller_phone;
    delete o.citizen_name;
    delete o.citizen_id;
  }
  return o;
}

export type IntakeService = ReturnType<typeof createIntakeService>;
export { fromDbTime };
