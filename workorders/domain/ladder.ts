/**
 * The supervision ladder (督办/催办): what happens around each deadline of a work order. A reminder
 * before the deadline (at a share of the time allowed, counted in office minutes when the limit is
 * in working time), an overdue notice when it passes, escalation to the unit's manager and the
 * supervisors, and a supervision order (督办单) when it stays overdue. Each step is a milestone row
 * with a due time; the sweep fires each exactly once.
 */
import { z } from 'zod';
import { timeLimitSchema, type TimeLimit } from '../../calendar';

export interface SupervisionLadder {
  /** Remind when this share of the time allowed has passed (0.75); null: no reminder. */
  reminderAt: number | null;
  /** Escalate (升级) this long after the deadline; null: never. */
  escalateAfter: TimeLimit | null;
  /** Raise a supervision order (督办单) this long after the deadline; null: never automatically. */
  superviseAfter: TimeLimit | null;
}

export const DEFAULT_LADDER: SupervisionLadder = {
  reminderAt: 0.75,
  escalateAfter: { amount: 1, unit: 'working_days' },
  superviseAfter: { amount: 2, unit: 'working_days' },
};

export const ladderSchema = z.strictObject({
  reminderAt: z.number().gt(0).lt(1).nullable(),
  escalateAfter: timeLimitSchema.nullable(),
  superviseAfter: timeLimitSchema.nullable(),
});

/** The clocks of a work order (工单时限), each counted from dispatch. */
export const CLOCKS = ['acknowledge', 'onSite', 'reply', 'citizenReply'] as const;
export type Clock = (typeof CLOCKS)[number];
export const CLOCK_ZH: Record<Clock, string> = { acknowledge: '签收', onSite: '到场', reply: '办结反馈', citizenReply: '答复群众' };

export const STEPS = ['reminder', 'overdue', 'escalation', 'supervision'] as const;
export type LadderStep = (typeof STEPS)[number];
export const STEP_ZH: Record<LadderStep, string> = { reminder: '临期提醒', overdue: '超期通知', escalation: '超期升级', supervision: '督办' };

/** The center's own clock (中心派单), on the ticket before dispatch. */
export type CenterClock = 'centerDispatch';

/** Escalation and supervision orders are for the clocks that hold a unit to its work; the others only remind and warn. */
const ESCALATING: ReadonlySet<Clock> = new Set(['acknowledge', 'reply']);

export interface PlannedStep {
  clock: Clock | CenterClock;
  step: LadderStep;
  deadline: Date;
  due: Date;
}

/** What the ladder needs of the working-time clock (the calendar's synchronous city calendar). */
export interface LadderCalendar {
  workingMinutesBetween(a: Date, b: Date): number;
  addWorkingMinutes(from: Date, minutes: number): Date;
  addTimeLimit(from: Date, limit: TimeLimit): Date;
}

/**
 * The milestones of one clock: from `start` (dispatch) to `deadline`. The reminder's share is of
 * office time when there is office time between them (a 3-working-day limit over National Day is
 * reminded on a working day), of natural time otherwise (a 30-minute limit at night).
 */
export function planClock(clock: Clock | CenterClock, start: Date, deadline: Date, ladder: SupervisionLadder, cal: LadderCalendar): PlannedStep[] {
  const out: PlannedStep[] = [];
  if (ladder.reminderAt !== null && deadline.getTime() > start.getTime()) {
    const office = cal.workingMinutesBetween(start, deadline);
    const due = office > 0
      ? cal.addWorkingMinutes(start, office * ladder.reminderAt)
      : new Date(start.getTime() + (deadline.getTime() - start.getTime()) * ladder.reminderAt);
    if (due.getTime() < deadline.getTime()) out.push({ clock, step: 'reminder', deadline, due });
  }
  out.push({ clock, step: 'overdue', deadline, due: deadline });
  if (clock === 'centerDispatch') {
    // The center's delay goes to the supervisors; there is no unit to raise a supervision order to.
    if (ladder.escalateAfter) out.push({ clock, step: 'escalation', deadline, due: cal.addTimeLimit(deadline, ladder.escalateAfter) });
  } else if (ESCALATING.has(clock)) {
    if (ladder.escalateAfter) out.push({ clock, step: 'escalation', deadline, due: cal.addTimeLimit(deadline, ladder.escalateAfter) });
    if (ladder.superviseAfter) out.push({ clock, step: 'supervision', deadline, due: cal.addTimeLimit(deadline, ladder.superviseAfter) });
  }
  return out;
}
