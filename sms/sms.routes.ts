/**
 * /sms: the message log (per ticket, per work order, the failed queue) with resend; texts into the
 * hotline (the agents' 待登记 queue) with register-as-ticket and dismiss; and the gateways' callbacks
 * (Kannel's get-url and dlr-url, a provider's webhooks) and the generic inbound API for a gateway
 * with an API key (`sms:callback`).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiKeyScope, badRequest, unauthorized, notFound } from '../core';
import { actorOf, commandContext, errorResponses, PageQuery } from '../core/http';
import { GatewayError, type SmsGateway } from './ports';
import type { SmsService } from './sms.service';

export interface SmsRoutesOptions {
  sms: SmsService;
  /** The configured gateways by name, for their HTTP callbacks, and each one's callback token. */
  callbacks: { gateway: SmsGateway; token: string | null }[];
  /** Intake's ticket-creation body: what an agent fills in when registering a text as a ticket. */
  ticketCreateBody: z.ZodObject;
}

const IdParams = z.strictObject({ id: z.string().min(1).max(64) });
const csv = z.string().max(200).transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const Message = z.object({
  id: z.string(), kind: z.string(), recipientKind: z.string(), unitId: z.string().nullable(), phone: z.string(), text: z.string().nullable(), parts: z.number(),
  state: z.string(), stateZh: z.string(), gateway: z.string().nullable(), providerMessageId: z.string().nullable(), attempts: z.number(), nextAttemptAt: z.string().nullable(),
  lastError: z.string().nullable(), ticketId: z.string().nullable(), workOrderId: z.string().nullable(), createdAt: z.string(), submittedAt: z.string().nullable(), deliveredAt: z.string().nullable(),
});
const Inbound = z.object({
  id: z.string(), gateway: z.string(), from: z.string(), to: z.string(), text: z.string(), outcome: z.string(), outcomeZh: z.string(), status: z.string(),
  ticketId: z.string().nullable(), workOrderId: z.string().nullable(), unitId: z.string().nullable(), detail: z.string().nullable(), receivedAt: z.string(), handledAt: z.string().nullable(),
});
const page = <T extends z.ZodTypeAny>(item: T) => z.object({ items: z.array(item), total: z.number(), page: z.number(), pageSize: z.number() });

/** A provider's text into the hotline through the generic API (an API key with `sms:callback`). */
const InboundBody = z.strictObject({
  gateway: z.string().min(1).max(32).default('api'),
  providerMessageId: z.string().min(1).max(128),
  from: z.string().min(1).max(32),
  to: z.string().max(32).default(''),
  text: z.string().max(2000),
  receivedAt: z.string().datetime({ offset: true }).optional(),
});

function sameToken(given: unknown, expected: string | null) {
  if (!expected || typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function smsRoutes(app: FastifyInstance, opts: SmsRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { sms } = opts;
  const tags = ['sms'];

  r.get('/sms/messages', {
    schema: {
      tags, summary: 'Texts out: of a ticket or work order (units: to their own phone only), or every one by state for the center (the failed queue: state=failed,expired)',
      querystring: z.strictObject({ ...PageQuery.shape, ticketId: z.string().max(64).optional(), workOrderId: z.string().max(64).optional(), state: csv.optional(), recipientKind: z.enum(['unit', 'citizen']).optional() }),
      response: { 200: page(Message), ...errorResponses },
    },
    config: { apiKeyScopes: [ApiKeyScope.ticketsRead] },
  }, async (request) => {
    const q = request.query;
    return sms.listMessages(actorOf(request), { ticketId: q.ticketId, workOrderId: q.workOrderId, states: q.state, recipientKind: q.recipientKind, page: q.page, pageSize: q.pageSize });
  });

  r.post('/sms/messages/:id/resend', {
    schema: { tags, summary: '重发 Send a failed or expired text again, optionally to a corrected number (a new message)', params: IdParams, body: z.strictObject({ phone: z.string().max(32).nullish() }), response: { 200: Message, ...errorResponses } },
  }, async (request) => sms.resend(commandContext(request), request.params.id, { phone: request.body.phone }));

  r.get('/sms/inbound', {
    schema: {
      tags, summary: 'Texts into the hotline (center): status=awaiting_agent is the agents\' queue of requests to register',
      querystring: z.strictObject({ ...PageQuery.shape, status: csv.optional(), phone: z.string().max(32).optional(), ticketId: z.string().max(64).optional() }),
      response: { 200: page(Inbound), ...errorResponses },
    },
  }, async (request) => {
    const q = request.query;
    return sms.listInbound(actorOf(request), { status: q.status, phone: q.phone, ticketId: q.ticketId, page: q.page, pageSize: q.pageSize });
  });

  r.post('/sms/inbound/:id/ticket', {
    schema: {
      tags, summary: '短信受理 Register a citizen\'s text as a ticket (SMS channel, the sender as caller); a retry returns the same ticket',
      params: IdParams, body: opts.ticketCreateBody.omit({ channel: true, callerPhone: true, callId: true }).partial({ type: true }),
      response: { 200: z.object({ inbound: Inbound, ticket: z.object({ id: z.string(), number: z.string() }).passthrough() }), ...errorResponses },
    },
  }, async (request) => sms.acceptInbound(commandContext(request), request.params.id, { type: 'complaint', ...(request.body as Record<string, unknown>) }));

  r.post('/sms/inbound/:id/dismiss', {
    schema: { tags, summary: 'Set a text aside (not a request), with a reason; kept', params: IdParams, body: z.strictObject({ reason: z.string().max(500) }), response: { 200: Inbound, ...errorResponses } },
  }, async (request) => sms.dismissInbound(commandContext(request), request.params.id, request.body.reason));

  r.post('/sms/inbound', {
    schema: { tags, summary: 'A text into the hotline from a gateway (API key with sms:callback); the same providerMessageId twice is one text', body: InboundBody, response: { 200: Inbound, ...errorResponses } },
    config: { apiKeyScopes: [ApiKeyScope.smsCallback] },
  }, async (request) => {
    const actor = actorOf(request);
    if (actor.kind !== 'api_key' && actor.role !== 'admin') throw unauthorized('AUTH_REQUIRED', 'a gateway\'s API key (sms:callback) or an admin', '需要短信网关的 API 密钥或管理员');
    const b = request.body;
    return sms.receive({ gateway: b.gateway, providerMessageId: b.providerMessageId, from: b.from, to: b.to, text: b.text, receivedAt: b.receivedAt ? new Date(b.receivedAt) : undefined });
  });

  r.get('/sms/health', {
    schema: { tags, summary: 'The SMS gateways\' link state and receipts not matched to a message', response: { 200: z.object({ gateway: z.string(), up: z.boolean(), detail: z.string().optional(), unmatchedReceipts: z.number() }), ...errorResponses } },
  }, async (request) => {
    actorOf(request);
    return { ...sms.health(), ...(await sms.stats()) };
  });

  // Gateways' callbacks: no session; the gateway's own token in the URL (Kannel cannot send headers).
  const CallbackParams = z.strictObject({ gateway: z.string().min(1).max(32), kind: z.enum(['inbound', 'receipt']) });
  const callback = async (request: { params: { gateway: string; kind: 'inbound' | 'receipt' }; query: unknown; body: unknown; headers: Record<string, unknown> }) => {
    const entry = opts.callbacks.find((c) => c.gateway.name === request.params.gateway && c.gateway.parseCallback);
    if (!entry) throw notFound('SMS_GATEWAY_NOT_FOUND', `no gateway ${request.params.gateway} takes callbacks here`, `未配置短信网关 ${request.params.gateway} 的回调`);
    const query = (request.query ?? {}) as Record<string, unknown>;
    if (!sameToken(query.token ?? request.headers['x-callback-token'], entry.token)) throw unauthorized('SMS_CALLBACK_TOKEN', 'wrong or missing callback token', '回调凭证错误或缺失');
    let parsed: ReturnType<NonNullable<SmsGateway['parseCallback']>>;
    try {
      parsed = entry.gateway.parseCallback!(request.params.kind, { query, body: request.body, headers: request.headers });
    } catch (err) {
      if (err instanceof GatewayError) throw badRequest(err.code, err.message, '短信网关回调格式错误', { gateway: entry.gateway.name });
      throw err;
    }
    const items = parsed;
    for (const item of items) {
      if ('state' in item) await sms.applyReceipt(item);
      else await sms.receive(item);
    }
    return { ok: true, count: items.length };
  };
  const callbackSchema = { tags, summary: 'A gateway\'s callback: a delivery receipt or a text into the hotline (?token=…)', params: CallbackParams, response: { 200: z.object({ ok: z.boolean(), count: z.number() }), ...errorResponses } };
  r.get('/sms/gateways/:gateway/:kind', { schema: { ...callbackSchema, querystring: z.record(z.string(), z.unknown()) }, config: { public: true } }, (request) => callback(request as never));
  r.post('/sms/gateways/:gateway/:kind', { schema: { ...callbackSchema, querystring: z.record(z.string(), z.unknown()), body: z.unknown() }, config: { public: true } }, (request) => callback(request as never));
}
