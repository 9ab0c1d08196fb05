import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {} from '@fastify/cookie';
import { sessionCookieOf, type IdentityService } from '../identity';
import { forbidden, unauthorized, type Actor } from '../core';
import type { RequestCredential } from '../core/http';

/** Methods that change something: the ones a forged cross-site request would use. */
const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const canonicalOrigin = (origin: string): string | null => {
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
  } catch {
    return null;
  }
};

/**
 * CSRF (ASVS 4.0 V4.2.2, V13.2.3): a write that the browser's cookie authenticates must come from
 * a page of this server (or of ALLOWED_ORIGINS). SameSite=strict and JSON-only bodies stop other
 * sites, but not another host of the same site (a city's other web apps under gov.cn), nor a
 * multipart upload form; the `Origin` header (else `Sec-Fetch-Site`) that browsers send on every
 * such request does. Requests with an API key carry no ambient credential and are not checked;
 * clients that send neither header (the CLI, gateways, tests) are not browsers and pass.
 */
function refuseForeignOrigin(request: FastifyRequest, allowed: ReadonlySet<string>) {
  if (!UNSAFE_METHODS.has(request.method)) return;
  if (request.headers['x-api-key'] || /^Bearer\s+hk_/.test(request.headers.authorization ?? '')) return;
  const origin = request.headers.origin;
  if (typeof origin === 'string') {
    const o = canonicalOrigin(origin);
    // request.protocol and request.host follow X-Forwarded-Proto/-Host only when TRUST_PROXY is set.
    if (o && (o === canonicalOrigin(`${request.protocol}://${request.host}`) || allowed.has(o))) return;
  } else {
    const site = request.headers['sec-fetch-site'];
    if (site !== 'cross-site' && site !== 'same-site') return;
  }
  throw forbidden('ORIGIN_FORBIDDEN', 'this request comes from a page of another origin', '请求来自其他站点的页面，已拒绝');
}

/**
 * Authentication for the /api scope: a console session cookie or an API key (`X-API-Key`, or
 * `Authorization: Bearer hk_...`). Sets `request.actor` and `request.credential`; routes not marked
 * public need one. Cookies are SameSite=strict, every body must be application/json (which a
 * cross-site form cannot send), and a cookie write from a page of another origin is refused
 * (403 ORIGIN_FORBIDDEN, before anything runs): together they stop CSRF without a token.
 *
 * An API key only gets onto a route that declares one of its scopes (`config.apiKeyScopes`): a
 * gateway's key that posts call events cannot create admins, read numbers or import calendars.
 */
export function registerAuth(app: FastifyInstance, identity: IdentityService, opts: { allowedOrigins?: readonly string[]; cookieSecure?: boolean } = {}) {
  const allowed = new Set((opts.allowedOrigins ?? []).map(canonicalOrigin).filter((o): o is string => o !== null));
  app.decorateRequest('actor', null);
  app.decorateRequest('credential', null);
  app.addHook('onRequest', async (request) => {
    refuseForeignOrigin(request, allowed);
    const resolved = await resolveCredential(request, identity, opts.cookieSecure ?? false);
    request.actor = resolved?.actor ?? null;
    request.credential = resolved?.credential ?? null;
    const credential = request.credential;
    if (credential?.kind === 'api_key') {
      const wanted = request.routeOptions.config?.apiKeyScopes;
      if (wanted !== 'any' && !wanted?.some((s) => credential.scopes.includes(s))) {
        const need = wanted?.length ? wanted.join(' | ') : 'a console session';
        throw forbidden('API_KEY_SCOPE', `this API key may not use this route (needs ${need})`, `该 API 密钥无权访问此接口（需要 ${need}）`, { needs: wanted ?? [] });
      }
    }
    // An account that must change its password (强制修改密码) reaches only who-am-I and the change;
    // public routes (the live feed) see it as not logged in.
    if (credential?.kind === 'session' && credential.passwordChangeRequired && !request.routeOptions.config?.beforePasswordChange) {
      if (!request.routeOptions.config?.public) {
        throw forbidden('PASSWORD_CHANGE_REQUIRED', 'change your password first', '请先修改密码', { passwordChangeRequired: true });
      }
      request.actor = null;
      request.credential = null;
    }
    if (!request.actor && !request.routeOptions.config?.public) {
      throw unauthorized('AUTH_REQUIRED', 'login required', '请先登录');
    }
  });
}

/**
 * The actor and credential behind a request, or null without any; an unknown, revoked or expired
 * API key is a 401.
 */
export async function resolveCredential(request: FastifyRequest, identity: IdentityService, cookieSecure: boolean): Promise<{ actor: Actor; credential: RequestCredential } | null> {
  const header = request.headers['x-api-key'];
  const bearer = request.headers.authorization?.match(/^Bearer\s+(hk_\S+)$/)?.[1];
  const apiKey = (typeof header === 'string' ? header : undefined) ?? bearer;
  if (apiKey) {
    const c = await identity.apiKeyCredential(apiKey);
    if ('refused' in c) {
      if (c.refused === 'expired') throw unauthorized('API_KEY_EXPIRED', 'this API key has expired', 'API 密钥已过期');
      throw unauthorized('API_KEY_INVALID', 'invalid or revoked API key', 'API 密钥无效或已吊销');
    }
    return { actor: c.actor, credential: { kind: 'api_key', apiKeyId: c.apiKeyId, scopes: c.scopes, expiresAt: c.expiresAt } };
  }
  const token = request.cookies?.[sessionCookieOf(request, cookieSecure).name];
  const s = token ? await identity.sessionCredential(token) : null;
  return s ? { actor: s.actor, credential: { kind: 'session', sessionId: s.sessionId, expiresAt: s.expiresAt, passwordChangeRequired: s.user.passwordChangeRequired } } : null;
}

/**
 * The actor behind a request's credentials, or null without any; an invalid API key is a 401.
 * Also used to re-check an open WebSocket later (a logout or a revoked key ends it).
 */
export async function resolveActor(request: FastifyRequest, identity: IdentityService, cookieSecure: boolean): Promise<Actor | null> {
  return (await resolveCredential(request, identity, cookieSecure))?.actor ?? null;
}
