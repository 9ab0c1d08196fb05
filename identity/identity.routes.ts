import type {} from '@fastify/cookie';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ALL_ROLES, Role } from '../core';
import { actorOf, allowRoles, commandContext, errorResponses } from '../core/http';
import type { IdentityService } from './identity.service';

export const SESSION_COOKIE = 'hotline_session';

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
});

/** /auth (login, logout, me), /users and /api-keys for admins. */
export async function identityRoutes(app: FastifyInstance, opts: IdentityRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { identity } = opts;

  r.post('/auth/login', {
    config: { public: true },
    schema: {
      tags: ['auth'],
      summary: 'Log in with username and password; sets the session cookie',
      body: z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(200) }),
      response: { 200: z.object({ user: PublicUser, expiresAt: z.string() }), ...errorResponses },
    },
  }, async (request, reply) => {
    const { token, user, expiresAt } = await identity.login(request.body.username, request.body.password);
    reply.setCookie(SESSION_COOKIE, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: opts.cookieSecure,
      expires: expiresAt,
    });
    return { user, expiresAt: expiresAt.toISOString() };
  });

  r.post('/auth/logout', {
    config: { public: true },
    schema: { tags: ['auth'], summary: 'End the session', response: { 204: z.null() } },
  }, async (request, reply) => {
    const token = request.cookies[SESSION_COOKIE];
    if (token) await identity.logout(token);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send(null);
  });

  r.get('/auth/me', {
    schema: {
      tags: ['auth'],
      summary: 'Who am I',
      response: {
        200: z.object({ id: z.string().nullable(), name: z.string(), role: z.string(), kind: z.string(), cityId: z.string(), unitId: z.string().nullable(), territoryId: z.string().nullable() }),
        ...errorResponses,
      },
    },
  }, async (request) => {
    const a = actorOf(request);
    return { id: a.id, name: a.name, role: a.role, kind: a.kind, cityId: a.cityId, unitId: a.unitId, territoryId: a.territoryId };
  });

  r.get('/users', {
    preHandler: allowRoles(Role.admin, Role.supervisor),
    schema: { tags: ['users'], summary: 'Users of the city', response: { 200: z.array(PublicUser), ...errorResponses } },
  }, async (request) => identity.listUsers(actorOf(request).cityId));

  r.post('/users', {
    preHandler: allowRoles(Role.admin),
    schema: {
      tags: ['users'],
      summary: 'Create a user',
      body: z.strictObject({
        username: z.string().min(2).max(64),
        displayName: z.string().min(1).max(64),
        role: z.enum(ALL_ROLES as [string, ...string[]]),
        password: z.string().min(8).max(200),
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

  r.post('/api-keys', {
    preHandler: allowRoles(Role.admin),
    schema: {
      tags: ['users'],
      summary: 'Issue an API key for a machine client (shown once)',
      body: z.strictObject({
        name: z.string().min(1).max(64),
        role: z.enum(ALL_ROLES as [string, ...string[]]),
        unitId: z.string().max(64).nullish(),
        territoryId: z.string().max(64).nullish(),
      }),
      response: { 201: z.object({ id: z.string(), key: z.string() }), ...errorResponses },
    },
  }, async (request, reply) => {
    const ctx = commandContext(request);
    return reply.code(201).send(await identity.createApiKey(ctx, { ...request.body, cityId: ctx.actor.cityId }));
  });
}
