/**
 * What the work-order part needs from the others, as narrow ports; app/ wires them to the
 * directory, calendar, routing and intake parts' public interfaces.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import type { Actor, CommandContext } from '../core';
import type { TicketRow, TransitionInput, TicketTransitionParticipant, TicketView } from '../intake';
import type { TimeLimit } from '../calendar';
import type { LadderCalendar } from './domain/ladder';

/** The working-time clock of one city, synchronous for bulk work (deadlines of every work order). */
export interface CityClock extends LadderCalendar {
  addTimeLimit(from: Date, limit: TimeLimit): Date;
}

export interface CityRules {
  /** 退回 is allowed for this long after dispatch. */
  returnWindowHours: number;
  callbackAttempts: number;
  callbackIntervalHours: number;
}

export interface WorkOrderLookups {
  /** The city's clock; throws CALENDAR_YEAR_MISSING when asked into a year without data. */
  cityClock(cityId: string): Promise<CityClock>;
  cityRules(cityId: string): Promise<CityRules>;
  /** What the choice of a time-limit policy needs of a ticket's category. */
  categoryFacts(cityId: string, categoryId: string | null): Promise<{ categoryCodes: string[]; utility: boolean; policyCode: string | null }>;
  unit(id: string): Promise<{ id: string; cityId: string; name: string; active: boolean } | null>;
  /** A territory (区/街道/社区…) and its path, for the queues' area filter. */
  territory?(id: string): Promise<{ id: string; cityId: string; path: string } | null>;
}

/** The ticket side (intake's public interface). */
export interface TicketPort {
  transitionWithin(
    trx: Kysely<DB>, ctx: CommandContext, id: string, input: TransitionInput,
    opts: { now: Date; trusted?: boolean; prepared?: Map<TicketTransitionParticipant, unknown> },
  ): Promise<{ ticket: TicketRow; emit: () => void }>;
  prepareTransition(actor: Actor, id: string, input: TransitionInput, now: Date): Promise<Map<TicketTransitionParticipant, unknown>>;
  addParticipant(p: TicketTransitionParticipant): void;
  getTicketRow(actor: Actor, id: string): Promise<TicketRow>;
  /** The ticket's status as the caller's transaction sees it. */
  statusWithin(trx: Kysely<DB>, id: string): Promise<string | null>;
  view(row: TicketRow, actor: Actor): TicketView;
}

/** Where attachments (photos, documents) are kept: disk by default, S3-compatible storage when configured. */
export interface AttachmentStorage {
  readonly kind: 'disk' | 's3';
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  /** Removes a stored file; a key already gone is no error (retention jobs run again after a crash). */
  delete(key: string): Promise<void>;
}

/**
 * Where notifications go once their transaction committed: a log by default; the console feed and
 * SMS add theirs. Delivery is at least once: a sink may be given the same notice (same `id`) again
 * after a crash or a failure of another sink, and must then not act twice.
 */
export interface NotificationSink {
  deliver(n: Notification): Promise<void> | void;
  /** Optional: a whole delivery run at once (one transaction instead of one per notice); on an error each notice goes to `deliver`. */
  deliverBatch?(ns: Notification[]): Promise<void>;
}

/** Someone must act, by when (the outbox row as the sinks see it). */
export interface Notification {
  id: string;
  cityId: string;
  event: string;
  recipient: { kind: 'unit' | 'unit_manager' | 'role' | 'citizen' | 'user'; id: string };
  ticketId: string | null;
  workOrderId: string | null;
  actBy: string | null;
  payload: Record<string, unknown>;
  createdAt: string;
}
