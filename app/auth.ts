import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/cookie';
import { SESSION_COOKIE, type IdentityService } from '../identity';
import { unauthorized } from '../core';

/**
 * Authentication for the /api scope: a console session cookie or an API key (`X-API-Key`, or
 * `Authorization: Bearer hk_...`). Sets `request.actor`; routes not marked public need one.
 * Cookies are SameSite=strict and every body must be application/json, which a cross-site form
 * cannot send: together they stop CSRF without a token.
 */
export function registerAuth(app: FastifyInstance, identity: IdentityService) {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request) => {
    const header = request.headers['x-api-key'];
    const bearer = request.headers.authorization?.match(/^Bearer\s+(hk_\S+)$/)?.[1];
    const apiKey = (typeof header === 'string' ? header : undefined) ?? bearer;
    if (apiKey) {
      request.actor = await identity.actorForApiKey(apiKey);
      if (!request.actor) throw unauthorized('API_KEY_INVALID', 'invalid or revoked API key', 'API 密钥无效或已吊销');
      return;
    }
    const token = request.cookies?.[SESSION_COOKIE];
    if (token) request.actor = (await identity.actorForSession(token))?.actor ?? null;
    if (!request.actor && !request.routeOptions.config?.public) {
      throw unauthorized('AUTH_REQUIRED', 'login required', '请先登录');
    }
  });
}
