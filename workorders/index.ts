/**
 * Work orders (工单办理): the time-limit policies (办理时限) a city import fills and the rule that
 * chooses a ticket's policy, the supervision ladder; the work orders themselves come below.
 */
export {
  replacePoliciesIn, listPolicies, ladderOf, LIMIT_KINDS,
  type TimeLimit, type PolicyLimits, type PolicyMatch, type TimeLimitPolicy, type PolicyInput, type PolicyChanges,
} from './time-limit-policies';
export { choosePolicy, type PolicySubject } from './domain/policy-match';
export { DEFAULT_LADDER, ladderSchema, planClock, CLOCKS, CLOCK_ZH, STEPS, STEP_ZH, type SupervisionLadder, type Clock, type LadderStep, type PlannedStep, type LadderCalendar } from './domain/ladder';
export { WorkOrderStatus, WORK_ORDER_STATUS_ZH, OPEN_STATUSES, riskOf, runningClocks, type Risk, type Deadlines, type WorkOrderRole } from './domain/work-order';
/**
 * The work-order service: `createWorkOrderService(deps)` registers itself as a participant of the
 * ticket's transitions; units' and the center's commands; `sweep()` fires the supervision ladder,
 * callbacks and the outbox (run by a job on every node; each step fires once).
 */
export { createWorkOrderService, toWorkOrderView, QUEUES, type WorkOrderService, type WorkOrderDeps, type WorkOrderEvents, type WorkOrderView, type Queue, type OutsideNotice } from './workorders.service';
export { workOrderRoutes, type WorkOrderRoutesOptions } from './workorders.routes';
export { unitWorkOrdersOf } from './workorders.repository';
export type { WorkOrderLookups, CityClock, CityRules, TicketPort, AttachmentStorage, NotificationSink, Notification } from './ports';
export { createDiskAttachmentStorage, createS3AttachmentStorage, type S3StorageOptions } from './adapters/attachment-storage';
export { createLogNotificationSink } from './adapters/log-sink';
