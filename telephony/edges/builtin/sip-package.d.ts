/**
 * The `sip` package (0.0.6) ships no types. We use only its message parser and serializer: the UDP
 * socket and transactions are ours (its transport binds 5060 when asked for port 0, has no socket
 * error handler and drops malformed datagrams without telling anyone).
 */
declare module 'sip' {
  export interface SipUri {
    schema: string;
    user?: string;
    password?: string;
    host: string;
    port?: number;
    params: Record<string, string | null>;
    headers: Record<string, string>;
  }
  export interface SipAor {
    name?: string;
    uri: string | SipUri;
    params: Record<string, string | null>;
  }
  export interface SipVia {
    version: string;
    protocol: string;
    host: string;
    port?: number;
    params: Record<string, string | null>;
  }
  /** Auth header values keep their quotes (`realm: '"x"'`); ours must carry them too. */
  export type SipAuth = Record<string, string> & { scheme?: string };
  export interface SipHeaders {
    via?: SipVia[];
    to?: SipAor;
    from?: SipAor;
    'call-id'?: string;
    cseq?: { seq: number; method: string };
    contact?: SipAor[] | '*';
    route?: SipAor[];
    'record-route'?: SipAor[];
    authorization?: SipAuth[];
    'www-authenticate'?: SipAuth[];
    'content-length'?: number;
    [name: string]: unknown;
  }
  export interface SipMessage {
    method?: string;
    uri?: string | SipUri;
    status?: number;
    reason?: string;
    version?: string;
    headers: SipHeaders;
    content?: string;
  }
  export function parse(data: Buffer | string): SipMessage | undefined;
  export function stringify(m: SipMessage): string;
  export function parseUri(s: string | SipUri): SipUri | undefined;
  export function stringifyUri(u: string | SipUri): string;
  export function makeResponse(rq: SipMessage, status: number, reason?: string, ext?: { headers?: Record<string, unknown>; content?: string }): SipMessage;
}
