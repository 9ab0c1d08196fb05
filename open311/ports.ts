/**
 * What the Open311 part needs from the others, as narrow ports; app/open311.ts wires them to the
 * identity, directory, routing and intake parts' public interfaces.
 */
import type { Actor, ApiKeyScope, CommandContext, TicketType } from '../core';

/** A ticket as Open311 reads it (intake's view, already scoped to the client's key). */
export interface Open311Ticket {
  id: string;
  number: string;
  status: string;
  statusZh: string;
  categoryId: string | null;
  confidential: boolean;
  situation: string | null;
  addressText: string | null;
  lat: number | null;
  lng: number | null;
  handlingUnitId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Open311TicketFilter {
  statuses?: string[];
  createdFrom?: string;
  createdTo?: string;
  categoryId?: string;
}

/** A request as registered through intake. */
export interface Open311NewTicket {
  type: TicketType;
  categoryId: string;
  title: string;
  situation: string | null;
  addressText: string | null;
  lat: number | null;
  lng: number | null;
  buildingCode: string | null;
  callerPhone: string | null;
  citizenName: string | null;
}

export interface Open311Category {
  id: string;
  code: string;
  name: string;
  level: number;
  parentId: string | null;
  keywords: string[];
  defaultType: TicketType | null;
  active: boolean;
}

export interface Open311Ports {
  /** The cities (jurisdictions) this installation serves. */
  cities(): Promise<{ id: string; name: string }[]>;
  /** A city's category tree (routing). */
  categories(cityId: string): Promise<Open311Category[]>;
  /** The handling unit's name (承办单位), for `agency_responsible`. */
  unitName(unitId: string): Promise<string | null>;
  /** An API key's credential, or why it is refused (identity). */
  apiKey(key: string): Promise<{ actor: Actor; apiKeyId: string; scopes: readonly ApiKeyScope[] } | { refused: 'unknown' | 'revoked' | 'expired' }>;
  tickets: {
    /** Registers a ticket through intake (its routing, confidentiality and audit); an idempotency key replays. */
    create(ctx: CommandContext, input: Open311NewTicket): Promise<Open311Ticket>;
    /** By ticket number, in the actor's data scope; null when missing or out of scope. */
    byNumber(actor: Actor, number: string): Promise<Open311Ticket | null>;
    /** By ticket id, in the actor's data scope; null when missing or out of scope. */
    byId(actor: Actor, id: string): Promise<Open311Ticket | null>;
    /** The non-confidential tickets in the actor's data scope, newest first. */
    list(actor: Actor, filter: Open311TicketFilter, limit: number): Promise<Open311Ticket[]>;
    /** Every ticket status (for `status=open|closed`). */
    statuses: readonly string[];
  };
}
