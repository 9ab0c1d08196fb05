import type { TicketType, Urgency } from '../../core';
import type { TimeLimitPolicy } from '../time-limit-policies';

/** What a ticket offers to the choice of its time-limit policy. */
export interface PolicySubject {
  type: TicketType | string;
  urgency: Urgency | string;
  /** The ticket's category and its ancestors' codes (a policy on a parent covers its children). */
  categoryCodes: string[];
  utility: boolean;
  /** The category's own policy (categories.policy_code) wins over matching. */
  categoryPolicyCode: string | null;
}

/**
 * The policy a ticket follows: its category's own policy when it names one, otherwise the
 * highest-priority policy whose every given condition fits; among equals the more specific match
 * (more conditions) wins, then the code, so the choice never depends on row order.
 */
export function choosePolicy(policies: TimeLimitPolicy[], s: PolicySubject): TimeLimitPolicy | null {
  if (s.categoryPolicyCode) {
    const own = policies.find((p) => p.code === s.categoryPolicyCode);
    if (own) return own;
  }
  const fits = (p: TimeLimitPolicy) =>
    (p.match.ticketType === undefined || p.match.ticketType === s.type) &&
    (p.match.urgency === undefined || p.match.urgency === s.urgency) &&
    (p.match.categoryCode === undefined || s.categoryCodes.includes(p.match.categoryCode)) &&
    (p.match.utility === undefined || p.match.utility === s.utility);
  const specificity = (p: TimeLimitPolicy) => Object.values(p.match).filter((v) => v !== undefined).length;
  const candidates = policies.filter(fits);
  candidates.sort((a, b) => b.priority - a.priority || specificity(b) - specificity(a) || a.code.localeCompare(b.code));
  return candidates[0] ?? null;
}
