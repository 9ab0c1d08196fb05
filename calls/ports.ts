/**
 * What the call intake needs from the other parts, through their public services only: the
 * directory (which line was dialled), identity (who the agent is), intake (the caller's history)
 * and the live feed (the pop-up on the agent's console).
 */
import type { Actor, Role } from '../core';
import type { LiveEventInput } from '../live';

export interface CallLine {
  number: string;
  name: string;
  mergedOn: string | null;
}

export interface CallStaff {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  cityId: string;
}

/** A ticket of the caller's history, as intake's view gives it. */
export interface CallerTicket {
  id: string;
  number: string;
  status: string;
  statusZh: string;
  title: string | null;
  handlingUnitId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface CallerHistory {
  citizen: { id: string; name: string | null; confidential: boolean } | null;
  tickets: CallerTicket[];
  openTickets: number;
  repeatCaller: boolean;
}

export interface CallPorts {
  directory: { lineByNumber(cityId: string, dialled: string): Promise<CallLine | null> };
  identity: { listUsers(cityId: string): Promise<CallStaff[]> };
  intake: { lookupCitizen(actor: Actor, phone: string): Promise<CallerHistory & { phone: string }> };
  live: { publish(e: LiveEventInput): Promise<unknown> };
}
