import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ApiKeyScope, CENTER_ROLES, Role } from '../core';
import { actorOf, allowRoles, commandContext, errorResponses } from '../core/http';
import { CallEventBody, CallEventResult, CallParams, CallView } from './calls.schemas';
import type { CallEvent, CallService } from './calls.service';

export interface CallRoutesOptions {
  calls: CallService;
}

/** `POST /calls/events` (the telephony gateway: a `calls:write` key, or an admin) and `GET /calls/:callId` (the center). */
export async function callRoutes(app: FastifyInstance, opts: CallRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { calls } = opts;
  const adminOrSystem = allowRoles(Role.admin, Role.system);

  r.post('/calls/events', {
    // A gateway's key is let in by its calls:write scope (app/auth.ts), whatever its role; a person
    // needs the admin role (posting a call event by hand is a test or a repair).
    preHandler: async (request, reply) => (actorOf(request).kind === 'api_key' ? undefined : adminOrSystem(request, reply)),
    config: { apiKeyScopes: [ApiKeyScope.callsWrite] },
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
