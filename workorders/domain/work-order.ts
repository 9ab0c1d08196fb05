/**
 * A work order (工单/任务单): one unit's share of a ticket, lead (主办) or co-handler (协办), with its
 * own clocks. Pure rules: statuses, which clock is running, how close to a deadline it is.
 */
import type { Clock } from './ladder';

export const WorkOrderStatus = {
  dispatched: 'dispatched', // 待签收
  acknowledged: 'acknowledged', // 已签收 (办理中)
  extensionRequested: 'extension_requested', // 延期申请中
  returned: 'returned', // 已退回, awaiting the center's ruling
  replied: 'replied', // 已反馈, awaiting the center's review
  completed: 'completed', // 已办结
  reassigned: 'reassigned', // 已改派 (the center sent it to another unit)
  cancelled: 'cancelled', // 已撤销
} as const;
export type WorkOrderStatus = (typeof WorkOrderStatus)[keyof typeof WorkOrderStatus];

export const WORK_ORDER_STATUS_ZH: Record<WorkOrderStatus, string> = {
  dispatched: '待签收', acknowledged: '办理中', extension_requested: '延期申请中', returned: '已退回', replied: '已反馈',
  completed: '已办结', reassigned: '已改派', cancelled: '已撤销',
};

/** Statuses in which a unit still owes something (the clocks run). */
export const OPEN_STATUSES: readonly WorkOrderStatus[] = ['dispatched', 'acknowledged', 'extension_requested', 'returned'];
/** Statuses after which nothing more happens to the work order. */
export const FINAL_WORK_ORDER_STATUSES: readonly WorkOrderStatus[] = ['completed', 'reassigned', 'cancelled'];

export type WorkOrderRole = 'lead' | 'co';

export interface Deadlines {
  acknowledge: Date | null;
  onSite: Date | null;
  reply: Date | null;
  citizenReply: Date | null;
}

export interface ClockFacts {
  status: WorkOrderStatus;
  acknowledgedAt: Date | null;
  onSiteAt: Date | null;
  repliedAt: Date | null;
}

/** The clocks a work order still runs against: met clocks stop (a reply also answers the citizen). */
export function runningClocks(wo: ClockFacts): Clock[] {
  // A returned work order waits for the center's ruling: the ball is not with the unit.
  if (!OPEN_STATUSES.includes(wo.status) || wo.status === 'returned') return [];
  const out: Clock[] = [];
  if (!wo.acknowledgedAt) out.push('acknowledge');
  if (!wo.onSiteAt) out.push('onSite');
  if (!wo.repliedAt) out.push('reply', 'citizenReply');
  return out;
}

export type Risk = 'ok' | 'at_risk' | 'overdue';

/**
 * How close the work order is to its nearest running deadline: overdue once one has passed, at risk
 * once the ladder's reminder for it is due (given), or else in the last quarter of the time allowed.
 */
export function riskOf(wo: ClockFacts & { dispatchedAt: Date; deadlines: Deadlines }, now: Date, reminders?: Partial<Record<Clock, Date>>): Risk {
  let risk: Risk = 'ok';
  for (const clock of runningClocks(wo)) {
    const due = wo.deadlines[clock];
    if (!due) continue;
    if (due.getTime() <= now.getTime()) return 'overdue';
    const reminder = reminders?.[clock];
    const atRisk = reminder
      ? reminder.getTime() <= now.getTime()
      : due.getTime() - now.getTime() <= (due.getTime() - wo.dispatchedAt.getTime()) * 0.25;
    if (atRisk) risk = 'at_risk';
  }
  return risk;
}
