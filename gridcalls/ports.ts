/**
 * What the grid-call part needs from the others, as narrow ports; app/gridcalls.ts wires them to the
 * calendar, directory, intake, work-order and live parts' public interfaces.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import type { CommandContext } from '../core';
import type { TimeLimit } from '../calendar';
import type { LiveEventInput } from '../live';

export interface GridCallPorts {
  /** The deadline of a time limit on the city's working clock (工作时间); throws CALENDAR_YEAR_MISSING. */
  deadline(cityId: string, from: Date, limit: TimeLimit): Promise<Date>;
  /** `settings.gridCalls` of the city as stored (checked by this part: `GridCallSettings`), or undefined. */
  gridSettings(cityId: string): Promise<unknown>;
  /** A territory with its path (grid, community, street); null when unknown in the city. */
  territory(cityId: string, id: string): Promise<{ id: string; path: string; name: string; level: string } | null>;
  /** Registers the center's ticket of an escalated call (channel grid); idempotent on the key. */
  createTicket(ctx: CommandContext, call: EscalatedCall, idempotencyKey: string): Promise<{ id: string; number: string }>;
  /** Records the caller's rating on the ticket's open callback (satisfied → closed; not → second handling). */
  rateTicket(cityId: string, ticketId: string, rating: { satisfaction: string; comment: string | null }, idempotencyKey: string): Promise<void>;
  /** A unit (town 镇街 / community 社区 units hand work down to grids). */
  unit(cityId: string, id: string): Promise<{ id: string; kind: string; name: string; territoryId: string | null } | null>;
  /**
   * The work order as the acting unit sees it (throws its 404 otherwise), and a progress note on it,
   * so that a hand-down and the grid's report stand in the work order's own trail.
   */
  workOrder(ctx: CommandContext, id: string): Promise<{ id: string; ticketId: string; unitId: string; status: string; replyDue: string | null; title: string | null }>;
  noteOnWorkOrder(ctx: CommandContext, id: string, text: string): Promise<void>;
  /** The live feed: staged inside the change's transaction, released after its commit. */
  feed: {
    stageWithin(trx: Kysely<DB>, e: LiveEventInput): Promise<string>;
    releaseStaged(ids: string[]): Promise<unknown>;
  };
}

/** What a ticket is made of when the town sends a call on to the center. */
export interface EscalatedCall {
  callId: string;
  number: string;
  title: string;
  situation: string;
  demand: string | null;
  addressText: string | null;
  territoryId: string;
  categoryId: string | null;
  callerName: string;
  /** When the grid raised it (the ticket's 时间 element). */
  raisedAt: string;
}
