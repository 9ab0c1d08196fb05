import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ALL_ROLES, CENTER_ROLES, Role } from '../core';
import { actorOf, allowRoles, commandContext, errorResponses } from '../core/http';
import {
  AgentBody, AgentView, CallbackListQuery, CallbackView, CallIdParams, CallRecordView, CompleteCallbackBody, IdParams, LinkTicketBody, MetricsQuery,
  MetricsView, PasswordBody, QueueSettingsInput, QueueView, SkillParams, UserParams, WallboardView,
} from './telephony.schemas';
import type { TelephonyService } from './telephony.service';

export interface TelephonyRoutesOptions {
  telephony: TelephonyService;
}

/** Parses a single `bytes=a-b` range (what <audio> sends); null when absent, 'bad' when unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'bad' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (!m[1] && !m[2])) return 'bad';
  let start: number, end: number;
  if (!m[1]) {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  }
  if (start > end || start >= size) return 'bad';
  return { start, end };
}

/** Telephony (话务): call records, recordings, callback requests, metrics, the wallboard, agent and queue settings. */
export async function telephonyRoutes(app: FastifyInstance, opts: TelephonyRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { telephony } = opts;
  const center = allowRoles(...CENTER_ROLES);
  const admin = allowRoles(Role.admin);
  const tags = ['telephony'];

  r.get('/telephony/calls/:callId', {
    preHandler: center,
    schema: { tags, summary: 'A call detail record (话单); an agent: own calls only', params: CallIdParams, response: { 200: CallRecordView, ...errorResponses } },
  }, async (request) => telephony.getRecord(actorOf(request), request.params.callId));

  r.post('/telephony/calls/:callId/ticket', {
    preHandler: center,
    schema: { tags, summary: 'Links the call to an existing ticket (关联已有工单)', params: CallIdParams, body: LinkTicketBody, response: { 200: CallRecordView, ...errorResponses } },
  }, async (request) => telephony.linkTicket(commandContext(request), request.params.callId, request.body.ticketId));

  r.get('/telephony/calls/:callId/recording', {
    // Units may reach it for their own non-confidential tickets; the service decides.
    preHandler: allowRoles(...ALL_ROLES),
    schema: { tags, summary: 'The call recording (录音), stereo WAV; supports Range for seeking', params: CallIdParams },
  }, async (request, reply) => {
    const rec = await telephony.recording(actorOf(request), request.params.callId);
    const size = rec.body.length;
    const range = parseRange(request.headers.range, size);
    reply.header('accept-ranges', 'bytes').header('cache-control', 'private, no-store').header('x-content-type-options', 'nosniff').type(rec.contentType);
    if (range === 'bad') return reply.code(416).header('content-range', `bytes */${size}`).send(Buffer.alloc(0));
    if (!range) return reply.header('content-length', size).send(rec.body);
    return reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', range.end - range.start + 1)
      .send(rec.body.subarray(range.start, range.end + 1));
  });

  r.get('/telephony/callbacks', {
    preHandler: center,
    schema: { tags, summary: 'Callback requests left by callers (留言回拨)', querystring: CallbackListQuery, response: { 200: z.array(CallbackView), ...errorResponses } },
  }, async (request) => telephony.listCallbacks(actorOf(request), request.query.status ? request.query.status.split(',').map((s) => s.trim()).filter(Boolean) : undefined, request.query.limit));

  r.post('/telephony/callbacks/:id/claim', {
    preHandler: center,
    schema: { tags, summary: 'Claims a callback request (认领)', params: IdParams, response: { 200: CallbackView, ...errorResponses } },
  }, async (request) => telephony.claimCallback(commandContext(request), request.params.id));

  r.post('/telephony/callbacks/:id/complete', {
    preHandler: center,
    schema: { tags, summary: 'Completes a claimed callback request (回拨完成)', params: IdParams, body: CompleteCallbackBody, response: { 200: CallbackView, ...errorResponses } },
  }, async (request) => telephony.completeCallback(commandContext(request), request.params.id, request.body.note));

  r.get('/telephony/metrics', {
    preHandler: center,
    schema: { tags, summary: 'GB/T 33358 metrics per queue and China hour over [from, to) (话务指标)', querystring: MetricsQuery, response: { 200: MetricsView, ...errorResponses } },
  }, async (request) => telephony.metrics(actorOf(request), request.query));

  r.get('/telephony/wallboard', {
    preHandler: center,
    schema: { tags, summary: 'The live wallboard now (实时监控); pushed as telephony.wallboard on the live feed', response: { 200: WallboardView, ...errorResponses } },
  }, async (request) => telephony.wallboard(actorOf(request)));

  r.get('/telephony/queues', {
    preHandler: center,
    schema: { tags, summary: 'Queues with their effective settings', response: { 200: z.array(QueueView), ...errorResponses } },
  }, async (request) => telephony.listQueues(actorOf(request)));

  r.put('/telephony/queues/:skill', {
    preHandler: admin,
    schema: { tags, summary: 'Sets a queue: ring timeout, overflow, maximum wait (admin)', params: SkillParams, body: QueueSettingsInput, response: { 200: QueueView, ...errorResponses } },
  }, async (request) => telephony.setQueue(commandContext(request), request.params.skill, request.body));

  r.get('/telephony/agents', {
    preHandler: center,
    schema: { tags, summary: 'Agents with their phone, skills and registration', response: { 200: z.array(AgentView), ...errorResponses } },
  }, async (request) => telephony.listAgents(actorOf(request)));

  r.put('/telephony/agents/:userId', {
    preHandler: admin,
    schema: { tags, summary: "Sets an agent's phone (SIP username) and skills (admin)", params: UserParams, body: AgentBody, response: { 200: AgentView, ...errorResponses } },
  }, async (request) => telephony.setAgent(commandContext(request), request.params.userId, request.body));

  r.put('/telephony/agents/:userId/phone-password', {
    preHandler: admin,
    schema: { tags, summary: "Sets the agent phone's SIP password (stored as HA1; admin)", params: UserParams, body: PasswordBody, response: { 204: z.null(), ...errorResponses } },
  }, async (request, reply) => {
    await telephony.setPhonePassword(commandContext(request), request.params.userId, request.body.password);
    return reply.code(204).send(null);
  });
}
