/** Time-limit policies (时限规则) as stored: replaced by a city import, chosen per ticket. */
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { diffFields, newId, type TicketType, type Urgency } from '../core';
import type { TimeLimit } from '../calendar';
import { TimeLimitPoliciesRepository, type PolicyRow } from './time-limit-policies.repository';
import { DEFAULT_LADDER, type SupervisionLadder } from './domain/ladder';

/** A limit is the calendar's `{ amount, unit }` (minutes, hours, working_hours, working_days). */
export type { TimeLimit };

/** The clocks a work order runs against, each counted from dispatch (派单), and the center's own. */
export interface PolicyLimits {
  /** 签收: the unit acknowledges the work order. */
  acknowledge?: TimeLimit;
  /** 到场/响应: someone is on site (utilities: 1 h in 诸城). */
  onSite?: TimeLimit;
  /** 办结反馈: the unit reports the result to the center. */
  reply?: TimeLimit;
  /** 答复群众: the citizen has an answer (海口: consultation 24 h, complaint 48 h). */
  citizenReply?: TimeLimit;
  /** 中心派单: the center dispatches, counted from acceptance (寿光: within 1 working day, 首接负责). */
  centerDispatch?: TimeLimit;
}
export const LIMIT_KINDS = ['acknowledge', 'onSite', 'reply', 'citizenReply', 'centerDispatch'] as const satisfies readonly (keyof PolicyLimits)[];

/**
 * Which tickets a policy is for; every given field must fit (an empty match fits every ticket).
 * `categoryCode` means that category and the categories under it.
 */
export interface PolicyMatch {
  ticketType?: TicketType;
  urgency?: Urgency;
  categoryCode?: string;
  utility?: boolean;
}

/**
 * A time-limit policy (时限规则). A ticket follows its category's `policyCode` when set, otherwise the
 * highest-priority policy whose match fits.
 */
export interface TimeLimitPolicy {
  id: string;
  cityId: string;
  code: string;
  name: string;
  priority: number;
  match: PolicyMatch;
  limits: PolicyLimits;
  /** The supervision ladder of its work orders; absent: {@link DEFAULT_LADDER}. */
  ladder?: SupervisionLadder;
}

export type PolicyInput = Omit<TimeLimitPolicy, 'id' | 'cityId'>;

/** The ladder a policy's work orders follow. */
export const ladderOf = (p: Pick<TimeLimitPolicy, 'ladder'> | null | undefined): SupervisionLadder => p?.ladder ?? DEFAULT_LADDER;

type Fields = Omit<TimeLimitPolicy, 'id' | 'cityId' | 'code'>;

/** What `replacePoliciesIn` did, for the caller's audit rows and summary. */
export interface PolicyChanges {
  created: TimeLimitPolicy[];
  updated: { id: string; code: string; before: Partial<Fields>; after: Partial<Fields> }[];
  removed: TimeLimitPolicy[];
  unchanged: number;
}

function toPolicy(r: PolicyRow): TimeLimitPolicy {
  const match: PolicyMatch = {};
  if (r.ticket_type) match.ticketType = r.ticket_type as TicketType;
  if (r.urgency) match.urgency = r.urgency as Urgency;
  if (r.category_code) match.categoryCode = r.category_code;
  if (r.utility !== null && r.utility !== undefined) match.utility = Number(r.utility) === 1;
  const limits = (typeof r.limits === 'string' ? JSON.parse(r.limits) : r.limits) as PolicyLimits;
  const policy: TimeLimitPolicy = { id: r.id, cityId: r.city_id, code: r.code, name: r.name, priority: Number(r.priority), match, limits };
  if (r.ladder) policy.ladder = (typeof r.ladder === 'string' ? JSON.parse(r.ladder) : r.ladder) as SupervisionLadder;
  return policy;
}

/** Limits with their keys in one order, so equal limits store and compare equal. */
function orderedLimits(l: PolicyLimits): PolicyLimits {
  const out: PolicyLimits = {};
  for (const k of LIMIT_KINDS) if (l[k]) out[k] = { amount: l[k]!.amount, unit: l[k]!.unit };
  return out;
}

function toRow(cityId: string, id: string, p: PolicyInput): PolicyRow {
  return {
    id,
    city_id: cityId,
    code: p.code,
    name: p.name,
    priority: p.priority,
    ticket_type: p.match.ticketType ?? null,
    urgency: p.match.urgency ?? null,
    category_code: p.match.categoryCode ?? null,
    utility: p.match.utility === undefined ? null : p.match.utility ? 1 : 0,
    limits: JSON.stringify(orderedLimits(p.limits)),
    ladder: p.ladder ? JSON.stringify({ reminderAt: p.ladder.reminderAt, escalateAfter: p.ladder.escalateAfter, superviseAfter: p.ladder.superviseAfter }) : null,
  };
}

/**
 * Makes the city's policies the given set, in the caller's transaction: adds, updates in place by
 * code, and removes the codes not given (nothing refers to a policy row by id; tickets keep the
 * deadlines computed when they were dispatched). Writes no audit rows: the caller does.
 */
export async function replacePoliciesIn(trx: Kysely<DB>, cityId: string, rows: PolicyInput[]): Promise<PolicyChanges> {
  const repo = new TimeLimitPoliciesRepository(trx);
  const existing = (await repo.listCityPolicies(cityId)).map(toPolicy);
  const byCode = new Map(existing.map((p) => [p.code, p]));
  const out: PolicyChanges = { created: [], updated: [], removed: [], unchanged: 0 };
  for (const input of rows) {
    const old = byCode.get(input.code);
    const row = toRow(cityId, old?.id ?? newId(), input);
    const next = toPolicy(row);
    if (!old) {
      await repo.insertPolicy(row);
      out.created.push(next);
      continue;
    }
    const a: Fields = { name: old.name, priority: old.priority, match: old.match, limits: orderedLimits(old.limits), ladder: old.ladder };
    const b: Fields = { name: next.name, priority: next.priority, match: next.match, limits: next.limits, ladder: next.ladder };
    const { before, after, changed } = diffFields(a, b);
    if (!changed) {
      out.unchanged++;
      continue;
    }
    const { id: _id, city_id: _city, ...patch } = row;
    await repo.updatePolicy(old.id, patch);
    out.updated.push({ id: old.id, code: old.code, before, after });
  }
  const given = new Set(rows.map((r) => r.code));
  for (const p of existing) {
    if (!given.has(p.code)) {
      await repo.deletePolicy(p.id);
      out.removed.push(p);
    }
  }
  return out;
}

/** The city's policies, highest priority first. */
export async function listPolicies(db: Kysely<DB>, cityId: string): Promise<TimeLimitPolicy[]> {
  return (await new TimeLimitPoliciesRepository(db).listCityPolicies(cityId)).map(toPolicy);
}
