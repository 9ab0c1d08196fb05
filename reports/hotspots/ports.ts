/**
 * What the hotspot part needs from the rest of the product; app/hotspots.ts implements each over
 * the other parts' public interfaces.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db';
import type { Actor, CommandContext } from '../../core';

/** A live event as the feed takes it (the live part's LiveEventInput, restated: parts share no insides). */
export interface HotspotLiveEvent {
  type: string;
  cityId: string;
  audience: { center: boolean; userIds?: string[] };
  data: unknown;
  unitData?: unknown;
  key?: string;
}

export interface HotspotPorts {
  /** A category's path of ids ('/l1/l2/l3/'), read inside the caller's transaction; null when unknown. */
  categoryPathWithin(trx: Kysely<DB>, categoryId: string): Promise<string | null>;
  /** The city's `hotspots` settings, raw (validated here). */
  rawSettings(cityId: string): Promise<unknown>;
  /** Every city, for the periodic sweep. */
  cityIds(): Promise<string[]>;
  /** Names for the warning's title. */
  categoryName(cityId: string, categoryId: string): Promise<string | null>;
  territoryName(territoryId: string): Promise<string | null>;
  /**
   * Who is told (信息互通): the city's supervisors; the leaders over the territory (town_leader of
   * the street, community_secretary of the community, a grid_leader placed at it or above); and
   * the grid leaders inside it. User ids.
   */
  recipientsOf(cityId: string, territoryPath: string): Promise<string[]>;
  /**
   * The notification bell (the work-order outbox's `notifyWithin`), inside the raise's transaction:
   * one notice per incident, recipient and level. Optional: without it warnings are live only.
   */
  notices?: { notifyWithin(trx: Kysely<DB>, n: HotspotNotice): Promise<void> };
  /** The live feed: staged inside the raise's transaction, released after its commit. */
  feed: {
    stageWithin(trx: Kysely<DB>, e: HotspotLiveEvent): Promise<string>;
    releaseStaged(ids: string[]): Promise<unknown>;
    publish(e: HotspotLiveEvent): Promise<unknown>;
  };
  /** Intake's public API, for the tickets behind a warning and the proactive ticket. */
  tickets: {
    /** The ticket as this actor may see it (masked per role), or null when it may not. */
    view(actor: Actor, id: string): Promise<HotspotTicketView | null>;
    /** Registers the proactive ticket (主动治理工单); a repeat with the same idempotency key returns the first. */
    createProactive(cityId: string, idempotencyKey: string, input: ProactiveTicketInput): Promise<{ id: string; number: string }>;
    /** Links the proactive ticket to one behind it (关联工单); a repeat is harmless. */
    link(cityId: string, proactiveTicketId: string, ticketId: string): Promise<void>;
  };
}

/** A notice for the bell (the work-order part's OutsideNotice, restated: parts share no insides). */
export interface HotspotNotice {
  cityId: string;
  event: string;
  recipient: { kind: 'user'; id: string };
  payload: Record<string, unknown>;
  dedupKey: string;
}

export interface HotspotTicketView {
  id: string;
  number: string;
  status: string;
  statusZh: string;
  title: string | null;
  callerPhone: string | null;
  confidential: boolean;
  addressText: string | null;
  createdAt: string;
}

export interface ProactiveTicketInput {
  title: string;
  situation: string;
  demand: string;
  categoryId: string;
  territoryId: string;
  addressText: string;
  urgency: 'normal' | 'urgent';
}

export type { CommandContext };
