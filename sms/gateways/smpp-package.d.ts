/**
 * The parts of the `smpp` package (0.5.1, no types of its own) that the SMPP gateway and the test
 * SMSC use. Field names follow the SMPP specification; a PDU carries its parameters and TLVs as
 * plain properties.
 */
declare module 'smpp' {
  import { EventEmitter } from 'node:events';
  import type { Server as NetServer, Socket } from 'node:net';

  /** short_message / message_payload as the package decodes them: the UDH's elements and the text. */
  export interface DecodedMessage {
    /** Each information element as [IEI, length, ...data]. */
    udh?: Buffer[];
    /** A string when the data_coding is one the package knows, the raw bytes otherwise. */
    message: string | Buffer;
  }

  export class PDU {
    constructor(command: string, options?: Record<string, unknown>);
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    isResponse(): boolean;
    response(options?: Record<string, unknown>): PDU;
    toBuffer(): Buffer;
    // Parameters and TLVs (system_id, message_id, short_message, receipted_message_id, …).
    [field: string]: any;
  }

  export type PduCallback = (pdu: PDU) => void;

  export class Session extends EventEmitter {
    socket: Socket;
    server?: Server;
    send(pdu: PDU, responseCallback?: PduCallback, sendCallback?: PduCallback): boolean;
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
    pause(): void;
    resume(): void;
    bind_transceiver(options: Record<string, unknown>, responseCallback?: PduCallback): boolean;
    submit_sm(options: Record<string, unknown>, responseCallback?: PduCallback): boolean;
    deliver_sm(options: Record<string, unknown>, responseCallback?: PduCallback): boolean;
    enquire_link(options?: Record<string, unknown> | PduCallback, responseCallback?: PduCallback): boolean;
    unbind(options?: Record<string, unknown> | PduCallback, responseCallback?: PduCallback): boolean;
  }

  export class Server extends NetServer {
    sessions: Session[];
  }

  export interface ConnectOptions {
    url?: string;
    host?: string;
    port?: number;
    tls?: boolean;
    auto_enquire_link_period?: number;
    [option: string]: unknown;
  }

  export function connect(options: ConnectOptions, listener?: () => void): Session;
  export function createServer(options: Record<string, unknown>, listener?: (session: Session) => void): Server;
  export function createServer(listener?: (session: Session) => void): Server;

  export const errors: Record<string, number>;

  const smpp: {
    PDU: typeof PDU;
    Session: typeof Session;
    Server: typeof Server;
    connect: typeof connect;
    createServer: typeof createServer;
    errors: typeof errors;
  };
  export default smpp;
}
