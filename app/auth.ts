import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {} from '@fastify/cookie';
import { SESSION_COOKIE, type IdentityService } from '../identity';
import { unauthorized, type Actor } from '../core';

/**
 * Authentication for the /api scope: a console session cookie or an API key (`X-API-Key`, or
 * `Authorization: Bearer hk_...`). Sets `request.actor`; routes not marked public need one.
 * Cookies are SameSite=strict and every body must be application/json, which a cross-site form
 * cannot send: together they stop CSRF without a token.
 */
export function registerAuth(app: FastifyInstance, identity: IdentityService) {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request) => {
    request.actor = await resolveActor(request, identity);
    if (!request.actor && !request.routeOptions.config?.public) {
      throw unauthorized('AUTH_REQUIRED', 'login required', '请先登录');
    }
  });
}

/**
 * The actor behind a request's credentials, or null without any; an invalid API key is a 401.
 * Also used to re-check an open WebSocket later (a logout or a revoked key ends it).
 */
export async function resolveActor(request: FastifyRequest, identity: IdentityService): Promise<Actor | null> {
  const header = request.headers['x-api-key'];
  const bearer = request.headers.authorization?.match(/^Bearer\s+(hk_\S+)$/)?.[1];
  const apiKey = (typeof header === 'string' ? header : undefined) ?? bearer;
  if (apiKey) {
    const actor = await identity.actorForApiKey(apiKey);
    if (!actor) throw unauthorized('API_KEY_INVALID', 'invalid or revoked API key', 'API 密钥无效或已吊销');
    return actor;
  }
  const token = request.cookies?.[SESSION_COOKIE];
  return token ? ((await identity.actorForSession(token))?.actor ?? null) : null;
}
