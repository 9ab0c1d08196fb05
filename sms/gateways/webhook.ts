/**
 * A cloud SMS provider's JSON API (云短信), in the generic shape the Chinese providers share.
 *
 * Submit: `POST cfg.url`, `Content-Type: application/json`, body
 * `{ "outId": "<our message id>", "phoneNumbers": "13800138000", "signName": "12345热线",
 *    "content": "<the whole text>", "from": "12345" }` (signName and from only when set),
 * headers `X-Timestamp: <Unix ms>` and `X-Signature: <hex HMAC-SHA256(secret, timestamp + "\n" + body)>`.
 * The provider answers `{ "code": "OK", "bizId": "…" }` (`Code`/`BizId` accepted too) or an error
 * code (`isv.BUSINESS_LIMIT_CONTROL`: throttled, try later; `isv.MOBILE_NUMBER_ILLEGAL`: this
 * message can never go).
 *
 * The contract asked of the provider (why `idempotent` is true): a second submit with an `outId` it
 * has already taken sends nothing and answers the first `bizId`. A provider that cannot promise
 * this must not be configured here (a crash between its answer and our commit would send twice).
 *
 * Callbacks (the route checks the token first):
 * - receipts: a JSON array (or one object) of
 *   `{ "biz_id"|"bizId", "out_id", "phone_number", "success": true|false, "err_code": "DELIVERED",
 *      "err_msg", "report_time": "2025-05-22 21:44:32" }` (Beijing time when no zone is given);
 * - inbound: a JSON array (or one object) of
 *   `{ "msg_id", "phone_number", "content", "dest_code", "sign_name", "send_time" }`.
 * When the provider signs its callbacks the same way (`X-Timestamp`, `X-Signature`), the signature
 * is checked: over the raw body when the route hands it as a string or Buffer, else over the
 * compact JSON of the parsed body.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DeliveryReceipt, GatewayConfig, InboundSms, OutboundSms, SmsGateway, SubmitResult } from '../ports';
import { GatewayError } from '../ports';
import { planSegments } from '../domain/segments';
import { maskPhone } from '../../core';
import type { GatewayLogger } from './index';

type WebhookConfig = Extract<GatewayConfig, { kind: 'webhook' }>;

/** After this many submits in a row that could not reach the provider, health() says down. */
const DOWN_AFTER = 3;

/** Error codes that say "not now" (throttle, quota, the provider's own trouble): retry, or fail over. */
const RETRYABLE_CODE = /LIMIT_CONTROL|LIMIT_EXCEED|THROTTL|FLOW_CONTROL|TOO_MANY|BUSY|SYSTEM_ERROR|SERVICE_UNAVAILABLE|INTERNAL_ERROR|TIMEOUT|AMOUNT_NOT_ENOUGH|OUT_OF_SERVICE/i;

/** `hex(HMAC-SHA256(secret, timestamp + "\n" + body))`. */
export function webhookSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}\n`).update(body).digest('hex');
}

/** True when `signature` is the one {@link webhookSignature} gives (compared in constant time). */
export function verifyWebhookSignature(secret: string, timestamp: string, body: string | Buffer, signature: string): boolean {
  const want = Buffer.from(webhookSignature(secret, timestamp, body), 'hex');
  const got = /^[0-9a-f]+$/i.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
  return got.length === want.length && timingSafeEqual(got, want);
}

function malformed(why: string): GatewayError {
  return new GatewayError(`webhook callback: ${why}`, 'SMS_CALLBACK_MALFORMED', false);
}

function header(headers: Record<string, unknown>, name: string): string | null {
  const v = headers[name] ?? headers[name.toLowerCase()];
  if (Array.isArray(v)) return v.length ? String(v[0]) : null;
  return v === undefined || v === null ? null : String(v);
}

function str(o: Record<string, unknown>, ...keys: string[]): string | null {
  for (const k of keys) {
    const v = o[k];
    if (v !== undefined && v !== null && v !== '') return String(v);
  }
  return null;
}

/**
 * A provider's time: `2025-05-22 21:44:32` without a zone is Beijing time (+08:00); ISO strings
 * with a zone and Unix times (seconds or ms) are taken as they are; anything else: now.
 */
export function providerTime(v: unknown): Date {
  if (typeof v === 'number' || (typeof v === 'string' && /^\d{10,13}$/.test(v))) {
    const n = Number(v);
    return new Date(n < 1e12 ? n * 1000 : n);
  }
  if (typeof v === 'string') {
    const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(v.trim());
    const d = m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`) : new Date(v);
    if (!Number.isNaN(d.getTime())) return d;
  }
  return new Date();
}

/** The body as a list of objects (a provider pushes one report or a batch). */
function items(body: unknown): Record<string, unknown>[] {
  let b = body;
  if (Buffer.isBuffer(b)) b = b.toString('utf8');
  if (typeof b === 'string') {
    try { b = JSON.parse(b); } catch { throw malformed('body is not JSON'); }
  }
  const list = Array.isArray(b) ? b : [b];
  if (!list.length) return [];
  for (const x of list) if (!x || typeof x !== 'object' || Array.isArray(x)) throw malformed('expected a JSON object or an array of objects');
  return list as Record<string, unknown>[];
}

export function parseWebhookReceipts(gateway: string, body: unknown): DeliveryReceipt[] {
  return items(body).map((r) => {
    const id = str(r, 'biz_id', 'bizId', 'BizId');
    if (!id) throw malformed('receipt without biz_id');
    const success = r.success ?? r.Success;
    if (success === undefined) throw malformed(`receipt ${id} without success`);
    const ok = success === true || success === 'true' || success === 1 || success === '1';
    const code = str(r, 'err_code', 'errCode', 'ErrCode');
    const msg = str(r, 'err_msg', 'errMsg', 'ErrMsg');
    const expired = !ok && code !== null && /EXPIRED/i.test(code);
    return {
      gateway,
      providerMessageId: id,
      state: ok ? 'delivered' : expired ? 'expired' : 'failed',
      detail: [code, msg].filter(Boolean).join(' ') || null,
      at: providerTime(r.report_time ?? r.reportTime ?? r.ReportTime),
    } satisfies DeliveryReceipt;
  });
}

export function parseWebhookInbound(gateway: string, body: unknown): InboundSms[] {
  return items(body).map((m) => {
    const id = str(m, 'msg_id', 'msgId', 'MsgId');
    const from = str(m, 'phone_number', 'phoneNumber', 'PhoneNumber');
    const text = m.content ?? m.Content;
    if (!id) throw malformed('inbound text without msg_id');
    if (!from) throw malformed(`inbound text ${id} without phone_number`);
    if (typeof text !== 'string') throw malformed(`inbound text ${id} without content`);
    return {
      gateway,
      providerMessageId: id,
      from: from.replace(/^(\+|00)?86(?=1\d{10}$)/, '').replace(/^\+/, ''),
      to: str(m, 'dest_code', 'destCode', 'DestCode', 'to') ?? '',
      text,
      receivedAt: providerTime(m.send_time ?? m.sendTime ?? m.SendTime),
    } satisfies InboundSms;
  });
}

function transportError(err: unknown, timeoutMs: number): GatewayError {
  const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return new GatewayError(`webhook: no answer within ${timeoutMs} ms`, 'WEBHOOK_TIMEOUT', true);
  return new GatewayError(`webhook unreachable: ${e?.cause?.code || e?.cause?.message || e?.message || String(err)}`, 'WEBHOOK_UNREACHABLE', true);
}

export function createWebhookGateway(cfg: WebhookConfig, opts: { logger?: GatewayLogger } = {}): SmsGateway {
  let unreachableInARow = 0;
  let lastError: string | null = null;

  async function post(msg: OutboundSms, body: string): Promise<{ status: number; text: string }> {
    const timestamp = String(Date.now());
    try {
      const res = await fetch(cfg.url, {
        method: 'POST',
        signal: AbortSignal.timeout(cfg.timeoutMs),
        headers: {
          'content-type': 'application/json; charset=utf-8',
          accept: 'application/json',
          'x-timestamp': timestamp,
          'x-signature': webhookSignature(cfg.secret, timestamp, body),
        },
        body,
      });
      const text = await res.text();
      unreachableInARow = 0;
      return { status: res.status, text };
    } catch (err) {
      const ge = transportError(err, cfg.timeoutMs);
      unreachableInARow++;
      lastError = ge.message;
      opts.logger?.warn({ sms: { id: msg.id, to: maskPhone(msg.to), code: ge.code } }, ge.message);
      throw ge;
    }
  }

  return {
    name: cfg.name,
    idempotent: true,
    async start() {},
    async submit(msg: OutboundSms): Promise<SubmitResult> {
      const plan = planSegments(msg.text);
      if (plan.parts === 0) throw new GatewayError('webhook: empty text', 'SMS_EMPTY', false);
      const payload: Record<string, string> = { outId: msg.id, phoneNumbers: msg.to, content: msg.text };
      if (cfg.signName) payload.signName = cfg.signName;
      if (msg.from) payload.from = msg.from;
      const { status, text } = await post(msg, JSON.stringify(payload));
      let answer: Record<string, unknown> | null = null;
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) answer = parsed as Record<string, unknown>;
      } catch { /* not JSON: judged by the status below */ }
      const code = answer ? str(answer, 'code', 'Code') : null;
      const message = answer ? str(answer, 'message', 'Message', 'msg') : null;
      const bizId = answer ? str(answer, 'bizId', 'BizId', 'biz_id') : null;
      if (status >= 200 && status < 300 && code !== null && code.toUpperCase() === 'OK') {
        if (!bizId) {
          lastError = 'webhook: OK without bizId';
          throw new GatewayError('webhook: the provider answered OK without a bizId', 'WEBHOOK_NO_ID', true);
        }
        lastError = null;
        return { providerMessageIds: [bizId], parts: plan.parts, gateway: cfg.name };
      }
      const detail = `webhook answered ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : text && !answer ? `: ${text.slice(0, 200)}` : ''}`;
      lastError = detail;
      opts.logger?.warn({ sms: { id: msg.id, to: maskPhone(msg.to), status, code } }, detail);
      if (code && code.toUpperCase() !== 'OK') throw new GatewayError(detail, code, RETRYABLE_CODE.test(code) || status >= 500);
      if (status === 408 || status === 429 || status >= 500) throw new GatewayError(detail, 'WEBHOOK_UNAVAILABLE', true);
      if (status >= 400) throw new GatewayError(detail, status === 401 || status === 403 ? 'WEBHOOK_AUTH' : 'WEBHOOK_REFUSED', false);
      throw new GatewayError(detail, 'WEBHOOK_UNEXPECTED', true);
    },
    onReceipt() { /* receipts arrive over HTTP: parseCallback */ },
    onInbound() { /* inbound texts arrive over HTTP: parseCallback */ },
    parseCallback(kind, req) {
      const headers = (req.headers ?? {}) as Record<string, unknown>;
      const signature = header(headers, 'x-signature');
      if (signature !== null) {
        const timestamp = header(headers, 'x-timestamp') ?? '';
        const raw = typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body ?? null);
        if (!cfg.secret || !verifyWebhookSignature(cfg.secret, timestamp, raw, signature)) throw malformed('bad signature');
      }
      return kind === 'receipt' ? parseWebhookReceipts(cfg.name, req.body) : parseWebhookInbound(cfg.name, req.body);
    },
    health() {
      if (unreachableInARow >= DOWN_AFTER) return { up: false, detail: lastError ?? 'webhook unreachable' };
      return { up: true, detail: lastError ? `webhook: last error ${lastError}` : `webhook: ${new URL(cfg.url).host}` };
    },
    async close() {},
  };
}
