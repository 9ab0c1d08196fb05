/**
 * What the telephony part needs from the other parts, through their public services only (app/
 * builds these): the directory (city settings, merged lines), the live feed (seat presence, the
 * wallboard), calls/ (the screen pop), intake (caller priority, ticket access), identity (who is an
 * agent) and the attachment storage.
 */
import type { Actor, CommandContext } from '../core';
import type { CallEvent } from '../calls';
import type { LiveEventInput } from '../live';
import type { AttachmentStorage } from '../workorders';

export interface TelephonyStaff {
  id: string;
  username: string;
  displayName: string;
  role: string;
}

/**
 * Sets an agent phone's SIP password: only its HA1 is stored, in the edge's credential table
 * (sip_endpoints, which audits the change); the phone's registrations are checked against it.
 */
export interface SipPhoneCredentials {
  setPassword(ctx: CommandContext, input: { cityId: string; username: string; password: string; userId: string }): Promise<void>;
}

export interface TelephonyPorts {
  directory: {
    /** The city's settings object (city.json `settings`); telephony reads its `telephony` key. */
    settingsOf(cityId: string): Promise<Record<string, unknown>>;
    lineByNumber(cityId: string, dialled: string): Promise<{ number: string; name: string } | null>;
  };
  /** Seat presence as the console sets it (空闲/示忙/小休…). */
  presence: { list(cityId: string): Promise<{ userId: string; status: string; since: string | null }[]> };
  staff: { list(cityId: string): Promise<TelephonyStaff[]> };
  /** 0 for an ordinary caller; higher for a repeat caller with an open urgent ticket (优先接入). */
  callerPriority(cityId: string, phone: string): Promise<number>;
  /** calls/: the screen pop and the call's life on the agent's console. */
  calls: { record(ctx: CommandContext, e: CallEvent): Promise<unknown> };
  /** A ticket the actor may read (throws the intake's 404 otherwise), with what the access rules need. */
  tickets: { readable(actor: Actor, ticketId: string): Promise<{ id: string; confidential: boolean; handlingUnitId: string | null }> };
  live: { publish(e: LiveEventInput): Promise<unknown> };
  storage: AttachmentStorage;
  credentials: SipPhoneCredentials;
}
