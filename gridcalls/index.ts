/**
 * Grid calls (网格呼叫·部门报到, 诸城) with their approval chain up the territory's levels, and the
 * grid's own work (网格办, 夏集).
 *
 * `createGridCallService({ db, ports, clock, events })` → `raise`, `approve`, `sendBack`, `resubmit`,
 * `townReply`, `rate`, `list`, `get`; `sweep()` fires each step's reminder and overdue mark once
 * (the `gridcalls.sweep` job); `followTicketWithin(trx, …)` lets an escalated call follow its ticket
 * (app/ calls it from intake's `ticket.transitioned`); `recordMatter`, `listMatters`, `matterCounts`;
 * four-level linkage: `handDown` (a town's or community's unit to a grid), `reportTask`, `listTasks`.
 * Each step's time limit is the city's (`settings.gridCalls.stepLimits`, checked by `GridCallSettings`).
 * Grid matters for the reports: `gridmatter.recorded` within the recording transaction,
 * `scanGridMatters(db, cityId)` (the rebuild's full scan), `gridMattersVisibleTo(db, actor, ids)` (drill-down).
 */
export {
  createGridCallService, toGridCallView, scanGridMatters, gridMattersVisibleTo,
  type GridCallService, type GridCallDeps, type GridCallEvents, type GridCallView, type GridMatterView, type GridMatterRecorded, type GridMatterRecord, type GridTaskView, type NewGridCall,
} from './gridcalls.service';
export { gridCallRoutes, type GridCallRoutesOptions } from './gridcalls.routes';
export type { GridCallPorts, EscalatedCall } from './ports';
export {
  GridCallStatus, GRID_CALL_STATUS_ZH, APPROVER_CHAIN, CALLER_ROLES, DEFAULT_STEP_LIMITS, STEP_ZH, decideCall, firstApproverOf, nextApproverOf,
  GridCallSettings, gridCallSettingsProblems, stepLimitsOf,
  type GridCallSettingsProblem, type GridCallStep, type GridCallCommand, type ApproverRole, type TownRoute,
} from './domain/grid-call';
