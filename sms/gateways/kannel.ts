/**
 * Kannel (an open-source SMS gateway: bearerbox + smsbox) over its HTTP interface.
 *
 * - Submit (下行): HTTP GET to smsbox's `/cgi-bin/sendsms`. Kannel answers `202 0: Accepted for
 *   delivery` (or `202 3: Queued for later delivery`) and gives no message id: our own message id
 *   is the provider id, and the dlr-url carries it so that each receipt names our message.
 * - Receipts (状态报告): smsbox calls the dlr-url (ours + `id`, `type=%d`, `reply=%A`, `ts=%T`).
 * - Inbound (上行): smsbox calls the `get-url` of an `sms-service` group; see
 *   {@link kannelCallbackUrlTemplate} for what to put in kannel.conf.
 *
 * What kannel.conf must hold (checked against Debian's Kannel 1.4.5):
 * - `group = sendsms-user`: `max-messages = 10` (or more) and `concatenation = true`. Kannel splits a
 *   long text itself (67 UCS2 characters a part, joined by UDH); its default `max-messages` is 1
 *   and it silently cuts a longer text to that many parts, so this gateway refuses texts of more
 *   than {@link KANNEL_MAX_PARTS} parts rather than have them cut.
 * - `group = smsbox`: `mo-recode = true`, so that a UCS2 text from a handset (every Chinese one)
 *   reaches the get-url as UTF-8 (`%C` = `UTF-8`) instead of raw UTF-16 bytes.
 * - `global-sender` (smsbox) or `default-sender` (sendsms-user) when texts leave with `from` null.
 */
import type { DeliveryReceipt, GatewayConfig, InboundSms, OutboundSms, SmsGateway, SubmitResult } from '../ports';
import { GatewayError } from '../ports';
import { planSegments } from '../domain/segments';
import { maskPhone } from '../../core';
import type { GatewayLogger } from './index';

type KannelConfig = Extract<GatewayConfig, { kind: 'kannel' }>;

/** The longest text this gateway hands to Kannel; keep `max-messages` in kannel.conf at least this. */
export const KANNEL_MAX_PARTS = 10;

/** Kannel's delivery report types (`%d`), a bit mask. */
export const KANNEL_DLR = { delivered: 1, failed: 2, buffered: 4, smscAccepted: 8, smscRejected: 16 } as const;

/**
 * The dlr-mask we ask for: delivered (1) + failed at the handset (2) + rejected by the SMSC (16).
 * The intermediate states (4 buffered, 8 accepted by the SMSC) change nothing for us.
 */
export const KANNEL_DLR_MASK = KANNEL_DLR.delivered | KANNEL_DLR.failed | KANNEL_DLR.smscRejected;

/** After this many submits in a row that could not reach smsbox, health() says down. */
const DOWN_AFTER = 3;

/**
 * Kannel expands `%x` escapes in its dlr-url and get-url (`%C` charset, `%F` foreign id, …); a `%`
 * of our own (a percent-encoded token: `ß` is `%C3%9F`) is written `%%`, which Kannel turns back
 * into `%`.
 */
function kannelEscape(url: string): string {
  return url.replace(/%/g, '%%');
}

/** The dlr-url for one message: ours (with its token) + our message id + Kannel's escapes. */
export function kannelDlrUrl(dlrUrl: string, messageId: string): string {
  const sep = dlrUrl.includes('?') ? '&' : '?';
  return `${kannelEscape(dlrUrl)}${sep}id=${kannelEscape(encodeURIComponent(messageId))}&type=%d&reply=%A&ts=%T`;
}

/**
 * The `get-url` for kannel.conf's `sms-service` (keyword `default`, `catch-all = true`,
 * `max-messages = 0` so that Kannel sends no reply of its own, `omit-empty = true`):
 *
 * ```
 * group = sms-service
 * keyword = default
 * catch-all = true
 * max-messages = 0
 * omit-empty = true
 * get-url = "<what this returns>"
 * ```
 *
 * The escapes: `%p` sender, `%P` receiver (our long number), `%b` the whole text url-encoded
 * (UTF-8 with `mo-recode = true`; `%a` would squeeze runs of spaces), `%I` Kannel's message id (a
 * UUID, kept when smsbox retries the call: our de-duplication key), `%T` arrival as Unix time,
 * `%c` coding and `%C` charset (to refuse text that did not arrive as UTF-8). A `%` in the token
 * is doubled (see {@link kannelEscape}).
 */
export function kannelCallbackUrlTemplate(baseUrl: string, token: string): string {
  const base = baseUrl.replace(/\/$/, '');
  return `${kannelEscape(`${base}/api/v1/sms/gateways/kannel/inbound?token=${encodeURIComponent(token)}`)}&from=%p&to=%P&text=%b&id=%I&ts=%T&coding=%c&charset=%C`;
}

function q(query: Record<string, unknown>, key: string): string | null {
  const v = query[key];
  if (Array.isArray(v)) return v.length ? String(v[0]) : null;
  if (v === undefined || v === null) return null;
  return String(v);
}

function malformed(why: string): GatewayError {
  return new GatewayError(`kannel callback: ${why}`, 'SMS_CALLBACK_MALFORMED', false);
}

/** `%T` (Unix seconds); anything else: now. */
function timeOf(ts: string | null): Date {
  const n = ts && /^\d{9,11}$/.test(ts) ? Number(ts) * 1000 : NaN;
  return Number.isFinite(n) ? new Date(n) : new Date();
}

/** A receipt from the dlr-url (`id`, `type`, `reply`, `ts`); null for the intermediate states. */
export function parseKannelReceipt(gateway: string, query: Record<string, unknown>): DeliveryReceipt | null {
  const id = q(query, 'id');
  const typeText = q(query, 'type');
  if (!id) throw malformed('receipt without id');
  if (!typeText || !/^\d+$/.test(typeText)) throw malformed(`receipt type ${JSON.stringify(typeText)} is not a number`);
  const type = Number(typeText);
  const reply = q(query, 'reply') || null;
  const at = timeOf(q(query, 'ts'));
  if (type & KANNEL_DLR.delivered) return { gateway, providerMessageId: id, state: 'delivered', detail: reply, at };
  if (type & KANNEL_DLR.failed) {
    // An SMPP receipt text says why (`stat:EXPIRED`, `stat:UNDELIV`); expired is its own state.
    const expired = reply !== null && /stat:\s*EXPIRED/i.test(reply);
    return { gateway, providerMessageId: id, state: expired ? 'expired' : 'failed', detail: reply, at };
  }
  if (type & KANNEL_DLR.smscRejected) return { gateway, providerMessageId: id, state: 'failed', detail: reply ?? 'rejected by the SMSC', at };
  if (type & (KANNEL_DLR.buffered | KANNEL_DLR.smscAccepted)) return null;
  throw malformed(`unknown receipt type ${type}`);
}

/** `+8613900139000` / `008613900139000` → `13900139000`; other numbers lose only a leading `+`. */
function nationalNumber(n: string): string {
  return n.replace(/^(\+|00)?86(?=1\d{10}$)/, '').replace(/^\+/, '');
}

/** An inbound text from the get-url of {@link kannelCallbackUrlTemplate}. */
export function parseKannelInbound(gateway: string, query: Record<string, unknown>): InboundSms {
  const from = q(query, 'from');
  const to = q(query, 'to');
  const id = q(query, 'id');
  const text = q(query, 'text') ?? '';
  if (!from) throw malformed('inbound text without sender');
  if (!id) throw malformed('inbound text without id (%I)');
  const coding = q(query, 'coding');
  const charset = q(query, 'charset');
  // coding 2 = UCS2 left as UTF-16 bytes: mo-recode is off, the text would be garbage.
  if (coding === '2' || (charset && !/^utf-?8$/i.test(charset))) {
    throw malformed(`inbound text in coding ${coding ?? '?'} charset ${charset ?? '?'}: set mo-recode = true in kannel.conf's smsbox group`);
  }
  return { gateway, providerMessageId: id, from: nationalNumber(from), to: to ?? '', text, receivedAt: timeOf(q(query, 'ts')) };
}

/** GSM 03.38 text goes as 7-bit; anything else as UCS2 (`coding=2`). Both are sent as UTF-8. */
export function kannelSendsmsUrl(cfg: KannelConfig, msg: OutboundSms, ucs2: boolean): string {
  const params: [string, string][] = [
    ['username', cfg.username],
    ['password', cfg.password],
    ['to', msg.to],
    ['text', msg.text],
    ['charset', 'UTF-8'],
  ];
  if (msg.from) params.push(['from', msg.from]);
  if (ucs2) params.push(['coding', '2']);
  if (cfg.smsc) params.push(['smsc', cfg.smsc]);
  if (msg.wantReceipt !== false && cfg.dlrUrl) {
    params.push(['dlr-mask', String(KANNEL_DLR_MASK)]);
    params.push(['dlr-url', kannelDlrUrl(cfg.dlrUrl, msg.id)]);
  }
  const sep = cfg.sendsmsUrl.includes('?') ? '&' : '?';
  return cfg.sendsmsUrl + sep + params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
}

/** What a failed fetch means: a timeout, a refused or unreachable host. */
function transportError(err: unknown, timeoutMs: number): GatewayError {
  const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return new GatewayError(`kannel: no answer within ${timeoutMs} ms`, 'KANNEL_TIMEOUT', true);
  const code = e?.cause?.code ?? '';
  return new GatewayError(`kannel unreachable: ${code || e?.cause?.message || e?.message || String(err)}`, 'KANNEL_UNREACHABLE', true);
}

export function createKannelGateway(cfg: KannelConfig, opts: { logger?: GatewayLogger } = {}): SmsGateway {
  let unreachableInARow = 0;
  let lastError: string | null = null;
  return {
    name: cfg.name,
    // sendsms gives no id to ask about: a second submit after a lost answer sends a second text.
    idempotent: false,
    async start() {},
    async submit(msg: OutboundSms): Promise<SubmitResult> {
      const plan = planSegments(msg.text);
      if (plan.parts === 0) throw new GatewayError('kannel: empty text', 'SMS_EMPTY', false);
      if (plan.parts > KANNEL_MAX_PARTS) throw new GatewayError(`kannel: ${plan.parts} parts, more than ${KANNEL_MAX_PARTS}`, 'SMS_TOO_LONG', false);
      // The URL holds the password: it is never logged.
      const url = kannelSendsmsUrl(cfg, msg, plan.encoding === 'ucs2');
      let status: number;
      let body: string;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(cfg.timeoutMs), headers: { accept: 'text/plain' } });
        status = res.status;
        body = (await res.text()).trim();
      } catch (err) {
        const ge = transportError(err, cfg.timeoutMs);
        unreachableInARow++;
        lastError = ge.message;
        opts.logger?.warn({ sms: { id: msg.id, to: maskPhone(msg.to), code: ge.code } }, ge.message);
        throw ge;
      }
      unreachableInARow = 0;
      // 202 `0: Accepted for delivery` / `3: Queued for later delivery`.
      if (status >= 200 && status < 300 && /^[03]:/.test(body)) {
        lastError = null;
        return { providerMessageIds: [msg.id], parts: plan.parts, gateway: cfg.name };
      }
      const detail = `kannel answered ${status}: ${body.slice(0, 200)}`;
      lastError = detail;
      opts.logger?.warn({ sms: { id: msg.id, to: maskPhone(msg.to), status } }, detail);
      if (status === 403) throw new GatewayError(detail, 'KANNEL_AUTH', false);
      if (status === 408 || status === 429 || status >= 500) throw new GatewayError(detail, 'KANNEL_UNAVAILABLE', true);
      if (status >= 400) throw new GatewayError(detail, 'KANNEL_REFUSED', false);
      // A 2xx that is neither accepted nor queued: not something we can count as sent.
      throw new GatewayError(detail, 'KANNEL_UNEXPECTED', true);
    },
    onReceipt() { /* receipts arrive over HTTP: parseCallback */ },
    onInbound() { /* inbound texts arrive over HTTP: parseCallback */ },
    parseCallback(kind, req) {
      const query = (req.query ?? {}) as Record<string, unknown>;
      if (kind === 'receipt') {
        const r = parseKannelReceipt(cfg.name, query);
        return r ? [r] : [];
      }
      return [parseKannelInbound(cfg.name, query)];
    },
    health() {
      if (unreachableInARow >= DOWN_AFTER) return { up: false, detail: lastError ?? 'kannel unreachable' };
      return { up: true, detail: lastError ? `kannel: last error ${lastError}` : `kannel: ${new URL(cfg.sendsmsUrl).host}` };
    },
    async close() {},
  };
}
