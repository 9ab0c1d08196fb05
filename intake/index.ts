/**
 * Intake (受理): registering tickets with their six elements from every channel, citizens and caller
 * history, and the ticket's life as one audited state machine.
 */
export { createIntakeService, toTicketView, canSee, ticketScopeOf, type TicketChange, type TicketTransitionParticipant, type IntakeService, type IntakeDeps, type IntakeEvents, type NewTicket, type TicketElementsPatch, type TicketView, type DuplicateQuery, type DuplicateCandidate, type TicketFigures } from './intake.service';
export { intakeRoutes, type IntakeRoutesOptions } from './intake.routes';
export {
  TicketStatus, TICKET_STATUS_ZH, TRANSITIONS, FINAL_STATUSES, Satisfaction, SIX_ELEMENTS_ZH, decide, missingSixElements, availableActions,
  type TransitionInput, type TicketAction, type SixElement, type RoutingRecord,
} from './domain/ticket-state-machine';
export { ticketNumber } from './domain/ticket-number';
export type { IntakeLookups, TerritoryRef, UnitRef, CategoryRef } from './ports';
export type { TicketRow } from './intake.repository';
export { TicketView as TicketViewSchema, TicketCreateBody as TicketCreateBodySchema } from './intake.schemas';
