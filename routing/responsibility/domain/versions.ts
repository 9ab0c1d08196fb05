/**
 * The life of a responsibility list version (清单版本): a change is imported as a draft, proposed,
 * approved by someone else (four-eyes) with the date it takes effect, or rejected. Which approved
 * version is in force at an instant follows from the dates alone, so a ticket routed last month keeps
 * the version of last month. Pure.
 */
import { badRequest, conflict, forbidden, type Actor } from '../../../core';

/** Stored status. */
export const VersionStatus = {
  draft: 'draft', // 草稿: imported, not yet submitted
  proposed: 'proposed', // 待审批
  approved: 'approved', // 已批准: in force from effective_from
  rejected: 'rejected', // 已驳回 (or withdrawn before taking effect)
} as const;
export type VersionStatus = (typeof VersionStatus)[keyof typeof VersionStatus];

/** The status as shown: `approved` splits into scheduled / active / superseded by the date. */
export const VersionState = {
  draft: 'draft',
  proposed: 'proposed',
  rejected: 'rejected',
  scheduled: 'scheduled', // 已批准，待生效
  active: 'active', // 现行
  superseded: 'superseded', // 已被替代
} as const;
export type VersionState = (typeof VersionState)[keyof typeof VersionState];

export const VersionStateLabelZh: Readonly<Record<VersionState, string>> = {
  draft: '草稿',
  proposed: '待审批',
  rejected: '已驳回',
  scheduled: '待生效',
  active: '现行有效',
  superseded: '已失效',
};

/** The roles that propose, approve and reject list versions. */
export const LIST_MANAGER_ROLES = ['dispatcher', 'admin', 'supervisor'] as const;

export interface VersionTimeline {
  id: string;
  number: number;
  status: VersionStatus;
  effectiveFrom: Date | null;
}

/** Later effective date wins; on the same date, the higher version number. */
function newer(a: VersionTimeline, b: VersionTimeline): boolean {
  const ta = a.effectiveFrom!.getTime();
  const tb = b.effectiveFrom!.getTime();
  return ta !== tb ? ta > tb : a.number > b.number;
}

/** The version in force at `at`: the approved one with the latest effective date not after it. */
export function versionInForce<T extends VersionTimeline>(versions: readonly T[], at: Date): T | null {
  let best: T | null = null;
  for (const v of versions) {
    if (v.status !== 'approved' || !v.effectiveFrom || v.effectiveFrom.getTime() > at.getTime()) continue;
    if (!best || newer(v, best)) best = v;
  }
  return best;
}

/** The shown state of `v` at `now`, among all the versions of its city. */
export function stateOf(v: VersionTimeline, all: readonly VersionTimeline[], now: Date): VersionState {
  if (v.status !== 'approved') return v.status;
  if (!v.effectiveFrom || v.effectiveFrom.getTime() > now.getTime()) return 'scheduled';
  return versionInForce(all, now)?.id === v.id ? 'active' : 'superseded';
}

const mayManage = (actor: Pick<Actor, 'role'>) => (LIST_MANAGER_ROLES as readonly string[]).includes(actor.role) || actor.role === 'system';

export function assertMayManage(actor: Pick<Actor, 'role'>): void {
  if (!mayManage(actor)) {
    throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} may not change the responsibility list`, `角色 ${actor.role} 无权变更责任清单`);
  }
}

export interface VersionFacts extends VersionTimeline {
  proposedBy: string | null;
  createdBy: string | null;
}

const wrongState = (v: VersionTimeline, want: string, wantZh: string, state: VersionState) =>
  conflict('RESPONSIBILITY_VERSION_STATE', `version ${v.number} is ${state}; it must be ${want}`, `清单版本 ${v.number} 当前为「${VersionStateLabelZh[state]}」，须为「${wantZh}」`, {
    id: v.id,
    state,
  });

/** A draft may be proposed. */
export function decidePropose(v: VersionFacts, state: VersionState): void {
  if (v.status !== 'draft') throw wrongState(v, 'a draft', '草稿', state);
}

/** The slack allowed for "now" in an effective date sent by a client (clock skew, time to click). */
export const EFFECTIVE_SLACK_MS = 5 * 60_000;

/**
 * A proposed version may be approved by someone other than its proposer (四眼原则), effective now or
 * later: a date in the past would rewrite which list old tickets were routed under. Returns the
 * effective date to store (a time within the slack is moved up to now).
 */
export function decideApprove(v: VersionFacts, actor: Pick<Actor, 'id' | 'role'>, effectiveFrom: Date, now: Date, state: VersionState): Date {
  if (v.status !== 'proposed') throw wrongState(v, 'proposed', '待审批', state);
  if (actor.role !== 'system' && (!actor.id || actor.id === v.proposedBy)) {
    throw forbidden('FOUR_EYES', 'the proposer of a version cannot approve it', '提交审批的人不能审批自己的清单版本（双人审核）', { id: v.id });
  }
  if (Number.isNaN(effectiveFrom.getTime())) throw badRequest('EFFECTIVE_FROM_INVALID', 'effectiveFrom is not a date', '生效时间无效');
  if (effectiveFrom.getTime() < now.getTime() - EFFECTIVE_SLACK_MS) {
    throw badRequest('EFFECTIVE_FROM_IN_PAST', 'a version cannot take effect in the past', '生效时间不能早于当前时间', { effectiveFrom: effectiveFrom.toISOString() });
  }
  return effectiveFrom.getTime() < now.getTime() ? now : effectiveFrom;
}

/**
 * A draft or a proposed version may be rejected (with a reason), and so may an approved one that has
 * not yet taken effect (withdrawn). One in force or past is history and stays.
 */
export function decideReject(v: VersionFacts, reason: string, state: VersionState): void {
  if (!reason.trim()) throw badRequest('REASON_REQUIRED', 'a reason is required', '须填写驳回理由');
  if (!(state === 'draft' || state === 'proposed' || state === 'scheduled')) throw wrongState(v, 'draft, proposed or not yet in effect', '草稿、待审批或待生效', state);
}
