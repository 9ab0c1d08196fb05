import type { Actor, CommandContext, Role } from '../core';
import type { Satisfaction } from './domain/inbound-text';

/**
 * The SMS part's ports. A gateway (短信网关) carries texts to and from the operators: an SMPP 3.4
 * link to an SMSC, Kannel's HTTP interface, a cloud provider's JSON webhook, or a log file for the
 * embedded default. Everything above the port (message rows, retries, templates, inbound commands)
 * is shared.
 */

/** One text to send, as the SMS service hands it to a gateway. */
export interface OutboundSms {
  /**
   * Our message id (ULID). A gateway that honours a client reference (a cloud provider's `outId`)
   * sends it, so that a second submit of the same id after a crash sends nothing new.
   */
  id: string;
  /** Digits only, mainland mobile (e.g. `13800138000`) or a fixed line with its area code. */
  to: string;
  /** The sender number (the hotline's long number, e.g. `12345`); null: the gateway's default. */
  from: string | null;
  /** The whole text, signature included. UCS2 when it holds anything outside GSM 7-bit. */
  text: string;
  /** Ask for a delivery receipt (default true). */
  wantReceipt?: boolean;
}

export interface SubmitResult {
  /** The provider's ids, one per submitted part (SMPP answers each submit_sm); receipts name one of them. */
  providerMessageIds: string[];
  /** How many parts went out (1 for a single text; several for a long one joined by UDH). */
  parts: number;
  /** The gateway that took it (set by the failover wrapper; a single gateway leaves it out or gives its own name). */
  gateway?: string;
}

export type ReceiptState = 'delivered' | 'failed' | 'expired';

/** A delivery receipt (状态报告): what happened to a submitted message at the handset. */
export interface DeliveryReceipt {
  gateway: string;
  /** As returned by submit (SMPP message_id, Kannel's dlr reference, the provider's BizId). */
  providerMessageId: string;
  state: ReceiptState;
  /** The SMSC's error or status text (`stat:UNDELIV err:001`), for the console and the audit. */
  detail?: string | null;
  at: Date;
}

/** A text a citizen or a unit sent to the hotline (上行短信). */
export interface InboundSms {
  gateway: string;
  /** The provider's id of this text; the same id twice is the same text (dropped the second time). */
  providerMessageId: string;
  from: string;
  to: string;
  text: string;
  /** When the operator took it; unset: when it reached us. */
  receivedAt?: Date;
}

/**
 * Why a submit failed. `retryable`: a timeout, a throttle, a lost link (try again, maybe on the
 * next gateway); not retryable: the operator refused this message (invalid number, blacklisted,
 * content refused) and another attempt would fail the same way.
 */
export class GatewayError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

export interface SmsGateway {
  /** The configured name (`smpp`, `kannel`, `webhook`, `log`, or a custom one), stored on each message. */
  readonly name: string;
  /** Submitting the same `OutboundSms.id` twice sends one text (the provider de-duplicates by it). */
  readonly idempotent: boolean;
  /** Connects (SMPP bind) where there is a link to keep; HTTP and log gateways resolve at once. */
  start(): Promise<void>;
  /** Throws a {@link GatewayError}; resolves once the gateway accepted every part. */
  submit(msg: OutboundSms): Promise<SubmitResult>;
  /** Receipts and inbound texts that arrive on the gateway's own link (SMPP deliver_sm). */
  onReceipt(handler: (r: DeliveryReceipt) => Promise<void>): void;
  onInbound(handler: (m: InboundSms) => Promise<void>): void;
  /**
   * For gateways that call back over HTTP (Kannel's get-url and dlr-url, a provider's webhook): turns
   * one request into the receipts or inbound texts it carries. A provider may push a batch in one
   * request (a JSON array of reports), so the answer is a list; an empty list when the request holds
   * nothing for us (an intermediate state: answered 200 so the provider does not retry for ever).
   * Throws a {@link GatewayError} `SMS_CALLBACK_MALFORMED`.
   */
  parseCallback?(kind: 'inbound' | 'receipt', req: { query: Record<string, unknown>; body: unknown; headers: Record<string, unknown> }): Array<DeliveryReceipt | InboundSms>;
  /** The link's state for /healthz and the console. */
  health(): { up: boolean; detail?: string };
  close(): Promise<void>;
}

/** One gateway's configuration, as app/config.ts reads it from the environment (`SMS_*`). */
export type GatewayConfig =
  | { kind: 'log'; name: string; file: string | null; ratePerSecond: number }
  | {
      kind: 'smpp'; name: string; url: string; systemId: string; password: string; systemType: string;
      sourceAddr: string | null; windowSize: number; enquireLinkMs: number; submitTimeoutMs: number; ratePerSecond: number;
    }
  | { kind: 'kannel'; name: string; sendsmsUrl: string; username: string; password: string; dlrUrl: string | null; smsc: string | null; timeoutMs: number; ratePerSecond: number; callbackToken: string | null }
  | { kind: 'webhook'; name: string; url: string; secret: string; signName: string | null; timeoutMs: number; ratePerSecond: number; callbackToken: string | null };

// --- what the SMS service needs from the rest of the product (app/ wires them) ----------------------

/** A city's SMS settings (city.json `settings.sms`), with the signature filled in. */
export interface CitySms {
  signature: string;
  templates: Record<string, string>;
}

/** What the SMS part needs to know of tickets, units and cities (app/ wires the other parts). */
export interface SmsLookups {
  citySms(cityId: string): Promise<CitySms>;
  /** The city a text belongs to when nothing in it says (an installation of one city). */
  defaultCityId(): Promise<string | null>;
  unit(unitId: string): Promise<{ id: string; cityId: string; name: string; smsPhone: string | null; dutyPhone: string | null } | null>;
  /** Units whose registered SMS or duty phone this is, and the user of a unit with this phone (who acts). */
  unitsByPhone(phone: string): Promise<{ unitId: string; cityId: string; unitName: string; user: { id: string; name: string; role: string } | null }[]>;
  ticket(cityId: string, ticketId: string): Promise<{ id: string; cityId: string; number: string; title: string | null; place: string | null; category: string | null; confidential: boolean } | null>;
  /** Whether this viewer may see the ticket (intake's scope). */
  canSeeTicket(actor: Actor, ticketId: string): Promise<boolean>;
}

/** The commands a text may carry, through the work-order and intake parts' services. */
export interface SmsCommandPort {
  workOrder(actor: Actor, id: string): Promise<{ id: string; version: number; status: string; ticketId: string; ticketNumber: string; unitId: string }>;
  acknowledge(ctx: CommandContext, id: string, version: number): Promise<unknown>;
  recordOnSite(ctx: CommandContext, id: string, version: number): Promise<unknown>;
  reply(ctx: CommandContext, id: string, version: number, result: string): Promise<unknown>;
  returnToCenter(ctx: CommandContext, id: string, version: number, reason: string): Promise<unknown>;
  rateTicket(ctx: CommandContext, ticketId: string, satisfaction: Satisfaction): Promise<unknown>;
  /** Registers a ticket an agent made of a text (SMS channel); idempotent by the context's key. */
  createTicket(ctx: CommandContext, input: Record<string, unknown>): Promise<{ id: string; number: string }>;
}

/** The console feed (live part), as a narrow port. */
export interface SmsLiveEvent {
  type: string;
  cityId: string;
  audience: { center: boolean; unitIds?: string[]; roles?: (typeof Role)[keyof typeof Role][] };
  data: unknown;
  unitData?: unknown;
  key?: string;
}
