/**
 * What the citizen pages need from other parts, as narrow ports; app/citizen.ts wires them to the
 * intake, routing, directory, work-order and SMS parts' public interfaces.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import type { Actor, CommandContext, TicketType } from '../core';

/** The ticket fields the citizen pages read (a system actor's view: numbers unmasked). */
export interface CitizenTicket {
  id: string;
  number: string;
  status: string;
  type: string;
  callerPhone: string | null;
  addressText: string | null;
  situation: string | null;
  answer: string | null;
  result: string | null;
  satisfaction: string | null;
  createdAt: string;
  closedAt: string | null;
}

export interface CitizenPlace {
  /** The territory (grid) the building lies in. */
  territoryId: string;
  territoryName: string;
  /** How the building reads on the form and in the ticket: 滨江社区第一网格 QR-990102001001-0001. */
  label: string;
}

export interface CitizenPorts {
  tickets: {
    create(ctx: CommandContext, input: { channel: 'qr'; type: TicketType; callerPhone: string | null; title: string; situation: string; addressText: string; buildingCode: string; occurredAt: null }): Promise<CitizenTicket>;
    get(actor: Actor, id: string): Promise<CitizenTicket>;
    /** null when no ticket has this number. */
    byNumber(actor: Actor, number: string): Promise<CitizenTicket | null>;
    /** Open tickets about the same problem at the same place, best first (intake's duplicate check). */
    findDuplicates(actor: Actor, q: { text: string; territoryId: string; addressText: string; withinDays: number }): Promise<{ ticketId: string; number: string; score: number }[]>;
    linkDuplicate(ctx: CommandContext, id: string, otherId: string): Promise<void>;
    /** Throws (404) unless the actor may read the ticket. */
    requireReadable(actor: Actor, id: string): Promise<void>;
  };
  places: {
    /** The building a code names, or null when it is not (or no longer) in the gazetteer. */
    building(cityId: string, code: string): Promise<CitizenPlace | null>;
    buildings(cityId: string): Promise<{ code: string; territoryId: string; territoryPath: string; label: string; communityId: string | null; communityName: string | null }[]>;
    territory(id: string): Promise<{ id: string; cityId: string; path: string; name: string; level: string } | null>;
  };
  /** The citizen's rating, as a callback's (workorders' rateTicket). */
  rate(ctx: CommandContext, ticketId: string, r: { satisfaction: 'satisfied' | 'basically_satisfied' | 'unsatisfied'; comment: string | null }): Promise<unknown>;
  sms: {
    /** The city's SMS signature (【演示市12345】), read before the transaction that queues the text. */
    signature(cityId: string): Promise<string>;
    /** Queues the code's text (signed) in the caller's transaction (sent once it commits). */
    queueCodeWithin(trx: Kysely<DB>, m: { cityId: string; ticketId: string; phone: string; sourceKey: string; text: string }, now: Date): Promise<void>;
    /** Starts a delivery run after the commit. */
    kick(): void;
  };
  storage: {
    put(key: string, body: Buffer, contentType: string): Promise<void>;
    get(key: string): Promise<Buffer>;
  };
}
