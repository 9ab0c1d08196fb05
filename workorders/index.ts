/**
 * Work orders (工单办理). For now the time-limit policies (办理时限) a city import fills and the rule
 * that chooses a ticket's policy; deadlines, acknowledgement, extension and supervision come with the
 * work-order part.
 */
export {
  replacePoliciesIn, listPolicies, LIMIT_KINDS,
  type TimeLimit, type PolicyLimits, type PolicyMatch, type TimeLimitPolicy, type PolicyInput, type PolicyChanges,
} from './time-limit-policies';
export { choosePolicy, type PolicySubject } from './domain/policy-match';
