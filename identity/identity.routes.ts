import type {} from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ALL_API_KEY_SCOPES, ALL_ROLES, ApiKeyScope, Role, unauthorized } from '../core';
import { actorOf, allowRoles, commandContext, errorResponses, IsoDateTime } from '../core/http';
import type { IdentityService } from './identity.service';

/** The session cookie's name on plain HTTP (local development, a LAN install without TLS). */
export const SESSION_COOKIE = 'hotline_session';
/**
 * Its name over HTTPS (ASVS V3.4.4): the `__Host-` prefix makes the browser keep it only when set
 * Secure, with Path=/ and no Domain, so no other host of the city's domain can plant or overwrite it.
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

/**
 * The session cookie of a request: `__Host-hotline_session`, Secure, when the app runs behind
 * HTTPS — COOKIE_SECURE says so, or the request came over TLS (directly, or through a proxy that
 * says so when TRUST_PROXY is set) — else `hotline_session`. Over HTTPS only the prefixed name is
 * read, so a cookie another host of the same site set cannot become a session.
 */
export function sessionCookieOf(request: FastifyRequest, cookieSecure: boolean): { name: string; secure: boolean } {
  const secure = cookieSecure || request.protocol === 'https';
  return { name: secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE, secure };
}

export interface IdentityRoutesOptions {
  identity: IdentityService;
  cookieSecure: boolean;
}

const PublicUser = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: z.string(),
  cityId: z.string(),
  unitId: z.string().nullable(),
  territoryId: z.string().nullable(),
  passwordChangeRequired: z.boolean(),
});

/** A new password (ASVS V2.1): 12–128 characters checked by the policy; the schema only bounds the body. */
const NewPassword = z.string().min(1).max(512);

const ApiKeyView = z.object({
  id: z.string(),
  name: z.string(),
  role: z.string(),
  unitId: z.string().nullable(),
  territoryId: z.string().nullable(),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

const AssignableRole = z.enum(ALL_ROLES as [string, ...string[]]);
const ADMIN = [ApiKeyScope.admin] as const;

/** /auth (login, logout, me), /users and /api-keys for admins. */
export async function identityRoutes(app: FastifyInstance, opts: IdentityRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { identity } = opts;
  const setSession = (request: FastifyRequest, reply: FastifyReply, token: string, expires: Date) => {
    const c = sessionCookieOf(request, opts.cookieSecure);
    // No Domain attribute, ever: the __Host- prefix requires its absence.
    reply.setCookie(c.name, token, { path: '/', httpOnly: true, sameSite: 'strict', secure: c.secure, expires });
  };

  r.post('/auth/login', {
    config: { public: true },
    schema: {
      tags: ['auth'],
      summary: 'Log in with username and password; sets the session cookie',
      body: z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(200) }),
      response: { 200: z.object({ user: PublicUser, expiresAt: z.string() }), ...errorResponses },
    },
  }, async (request, reply) => {
    // request.ip honours TRUST_PROXY: behind nginx it is the client's address, not the proxy's.
    const { token, user, expiresAt } = await identity.login(request.body.username, request.body.password, { address: request.ip, requestId: String(request.id) });
    // A fresh token on every login (no session fixation, ASVS V3.2.1); the session this browser
    // held before ends with it, so a re-login never leaves a second live session behind.
    const previous = request.cookies[sessionCookieOf(request, opts.cookieSecure).name];
    if (previous) await identity.logout(previous);
    setSession(request, reply, token, expiresAt);
    return { user, expiresAt: expiresAt.toISOString() };
  });

  r.post('/auth/logout', {
    config: { public: true },
    schema: { tags: ['auth'], summary: 'End the session', response: { 204: z.null() } },
  }, async (request, reply) => {
    const c = sessionCookieOf(request, opts.cookieSecure);
    const token = request.cookies[c.name];
    if (token) await identity.logout(token);
    reply.clearCookie(c.name, { path: '/', secure: c.secure, httpOnly: true, sameSite: 'strict' });
    return reply.code(204).send(null);
  });

  r.get('/auth/me', {
    config: { apiKeyScopes: 'any', beforePasswordChange: true },
    schema: {
      tags: ['auth'],
      summary: 'Who am I (and whether I must change my password first)',
      response: {
        200: z.object({
          id: z.string().nullable(), name: z.string(), role: z.string(), kind: z.string(), cityId: z.string(), unitId: z.string().nullable(), territoryId: z.string().nullable(),
          passwordChangeRequired: z.boolean(),
        }),
        ...errorResponses,
      },
    },
  }, async (request) => {
    const a = actorOf(request);
    const c = request.credential;
    return {
      id: a.id, name: a.name, role: a.role, kind: a.kind, cityId: a.cityId, unitId: a.unitId, territoryId: a.territoryId,
      passwordChangeRequired: c?.kind === 'session' && c.passwordChangeRequired === true,
    };
  });

  const SessionView = z.object({ id: z.string(), createdAt: z.string(), expiresAt: z.string(), current: z.boolean() });
  /** The asking console session (these routes are for sessions, not API keys). */
  const sessionIdOf = (request: { credential: { kind: string; sessionId?: string } | null }) => {
    const c = request.credential;
    if (c?.kind !== 'session' || !c.sessionId) throw unauthorized('AUTH_REQUIRED', 'login required', '请先登录');
    return c.sessionId;
  };

  r.get('/auth/sessions', {
    schema: { tags: ['auth'], summary: 'My live console sessions (登录设备), the current one marked', response: { 200: z.array(SessionView), ...errorResponses } },
  }, async (request) => identity.listSessions(actorOf(request), sessionIdOf(request)));

  r.post('/auth/sessions/end-others', {
    schema: {
      tags: ['auth'],
      summary: 'End every other session of mine (其他设备下线): their cookies stop working and their live sockets close; this one goes on',
      response: { 200: z.object({ ended: z.number() }), ...errorResponses },
    },
  }, async (request) => ({ ended: await identity.endOtherSessions(commandContext(request), sessionIdOf(request)) }));

  r.post('/auth/password', {
    config: { beforePasswordChange: true },
    schema: {
      tags: ['auth'],
      summary: 'Change my password (修改密码): the current one is checked (throttled like a login), the new one held to the policy; my other sessions end, this one goes on',
      body: z.strictObject({ currentPassword: z.string().min(1).max(512), newPassword: NewPassword }),
      response: { 200: z.object({ sessionsEnded: z.number() }), ...errorResponses },
    },
  }, async (request) => identity.changeOwnPassword(commandContext(request), sessionIdOf(request), request.body, { address: request.ip }));

  r.get('/users', {
    preHandler: allowRoles(Role.admin, Role.supervisor),
    config: { apiKeyScopes: ADMIN },
    schema: { tags: ['users'], summary: 'Users of the city', response: { 200: z.array(PublicUser), ...errorResponses } },
  }, async (request) => identity.listUsers(actorOf(request).cityId));

  r.post('/users', {
    preHandler: allowRoles(Role.admin),
    config: { apiKeyScopes: ADMIN },
    schema: {
      tags: ['users'],
      summary: 'Create a user',
      body: z.strictObject({
        username: z.string().min(2).max(64),
        displayName: z.string().min(1).max(64),
        role: AssignableRole,
        password: NewPassword,
        unitId: z.string().max(64).nullish(),
        territoryId: z.string().max(64).nullish(),
        phone: z.string().max(32).nullish(),
      }),
      response: { 201: PublicUser, ...errorResponses },
    },
  }, async (request, reply) => {
    const ctx = commandContext(request);
    const user = await identity.createUser(ctx, { ...request.body, cityId: ctx.actor.cityId });
    return reply.code(201).send(user);
  });

  r.patch('/users/:id', {
    preHandler: allowRoles(Role.admin),
    config: { apiKeyScopes: ADMIN },
    schema: {
      tags: ['users'],
      summary: "Change a user's name, role, unit, territory or whether they may log in (停用); a disabled user's sessions end, and open live sockets close",
      params: z.object({ id: z.string().max(64) }),
      body: z.strictObject({
        displayName: z.string().min(1).max(64).optional(),
        role: AssignableRole.optional(),
        unitId: z.string().max(64).nullish(),
        territoryId: z.string().max(64).nullish(),
        active: z.boolean().optional(),
      }),
      response: { 200: PublicUser, ...errorResponses },
    },
  }, async (request) => {
    const b = request.body;
    // Absent means "leave it"; an explicit null clears the unit or territory.
    return identity.updateUser(commandContext(request), request.params.id, {
      displayName: b.displayName, role: b.role, active: b.active,
      ...('unitId' in b ? { unitId: b.unitId ?? null } : {}),
      ...('territoryId' in b ? { territoryId: b.territoryId ?? null } : {}),
    });
  });

  r.put('/users/:id/password', {
    preHandler: allowRoles(Role.admin),
    config: { apiKeyScopes: ADMIN },
    schema: {
      tags: ['users'],
      summary: "Reset a user's password (重置密码): held to the policy; the user must change it at the next login; every session of theirs ends",
      params: z.object({ id: z.string().max(64) }),
      body: z.strictObject({ password: NewPassword }),
      response: { 200: z.object({ sessionsEnded: z.number() }), ...errorResponses },
    },
  }, async (request) => identity.resetPassword(commandContext(request), request.params.id, request.body.password));

  r.get('/api-keys', {
    preHandler: allowRoles(Role.admin),
    config: { apiKeyScopes: ADMIN },
    schema: { tags: ['users'], summary: "The city's API keys with scopes, expiry, last use and revocation (never the secret)", response: { 200: z.array(ApiKeyView), ...errorResponses } },
  }, async (request) => identity.listApiKeys(actorOf(request).cityId));

  r.post('/api-keys', {
    preHandler: allowRoles(Role.admin),
    config: { apiKeyScopes: ADMIN },
    schema: {
      tags: ['users'],
      summary: 'Issue an API key for a machine client with its scopes and optional expiry (the key is shown once)',
      body: z.strictObject({
        name: z.string().min(1).max(64),
        role: AssignableRole,
        scopes: z.array(z.enum(ALL_API_KEY_SCOPES as [string, ...string[]])).min(1).max(ALL_API_KEY_SCOPES.length)
          .describe(`what the key may do: ${ALL_API_KEY_SCOPES.join(', ')}`),
        unitId: z.string().max(64).nullish(),
        territoryId: z.string().max(64).nullish(),
        expiresAt: IsoDateTime.nullish().describe('ISO 8601 with a zone; absent or null: until revoked'),
      }),
      response: { 201: z.object({ id: z.string(), key: z.string(), apiKey: ApiKeyView }), ...errorResponses },
    },
  }, async (request, reply) => {
    const ctx = commandContext(request);
    const b = request.body;
    return reply.code(201).send(await identity.createApiKey(ctx, { ...b, expiresAt: b.expiresAt ? new Date(b.expiresAt) : null, cityId: ctx.actor.cityId }));
  });

  r.delete('/api-keys/:id', {
    preHandler: allowRoles(Role.admin),
    config: { apiKeyScopes: ADMIN },
    schema: {
      tags: ['users'],
      summary: 'Revoke an API key (吊销): refused from now on, its live sockets closed',
      params: z.object({ id: z.string().max(64) }),
      response: { 200: ApiKeyView, ...errorResponses },
    },
  }, async (request) => identity.revokeApiKey(commandContext(request), request.params.id));
}
