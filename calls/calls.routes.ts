import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { CENTER_ROLES, Role } from '../core';
import { actorOf, allowRoles, commandContext, errorResponses } from '../core/http';
import { CallEventBody, CallEventResult, CallParams, CallView } from './calls.schemas';
import type { CallEvent, CallService } from './calls.service';

export interface CallRoutesOptions {
  calls: CallService;
}

/** `POST /calls/events` (the telephony gateway: admin or system) and `GET /calls/:callId` (the center). */
export async function callRoutes(app: FastifyInstance, opts: CallRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { calls } = opts;

  r.post('/calls/events', {
    preHandler: allowRoles(Role.admin, Role.system),
    schema: {
      tags: ['calls'],
      summary: 'A call event from the telephony gateway: offered, transcript, answered, ended (来电事件); repeats are stored once',
      body: CallEventBody,
      response: { 200: CallEventResult, ...errorResponses },
    },
  }, async (request) => calls.record(commandContext(request), request.body as CallEvent));

  r.get('/calls/:callId', {
    preHandler: allowRoles(...CENTER_ROLES),
    schema: { tags: ['calls'], summary: 'One call with its transcript (an agent: own calls only)', params: CallParams, response: { 200: CallView, ...errorResponses } },
  }, async (request) => calls.getCall(actorOf(request), request.params.callId));
}
