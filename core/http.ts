/**
 * What every part's routes share: the authenticated actor on the request, role guards, the error
 * body shape and common zod schemas. The app's auth hook (app/) sets `request.actor`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { forbidden, unauthorized } from './errors';
import { parseIsoWithZone } from './time';
import type { Actor, CommandContext, Role } from './actor';
import type { ApiKeyScope } from './api-key-scopes';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
    /** What the actor came with, and when it ends (the live feed closes a socket then). */
    credential: RequestCredential | null;
  }
  interface FastifyContextConfig {
    /** Routes open without login (health, login, public forms). */
    public?: boolean;
    /**
     * The scopes that let an API key onto this route (any one of them); `'any'` for every key (who
     * am I). Without it the route is for console sessions only: a key gets 403 API_KEY_SCOPE.
     */
    apiKeyScopes?: readonly ApiKeyScope[] | 'any';
    /** Open to a session that must change its password first (who am I, change password). */
    beforePasswordChange?: boolean;
  }
}

/** A request's credentials: a console session or an API key with its scopes. */
export type RequestCredential =
  | { kind: 'session'; sessionId: string; expiresAt: Date; passwordChangeRequired?: boolean }
  | { kind: 'api_key'; apiKeyId: string; scopes: readonly ApiKeyScope[]; expiresAt: Date | null };

/** The authenticated actor, or 401. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw unauthorized('AUTH_REQUIRED', 'login required', '请先登录');
  return request.actor;
}

/** The command context of a request: actor, request id, and the client's Idempotency-Key header. */
export function commandContext(request: FastifyRequest): CommandContext {
  const key = request.headers['idempotency-key'];
  return {
    actor: actorOf(request),
    requestId: String(request.id),
    idempotencyKey: typeof key === 'string' && key.length > 0 ? key.slice(0, 128) : undefined,
  };
}

/** A preHandler that lets only the given roles through (403 ROLE_FORBIDDEN otherwise). */
export function allowRoles(...roles: Role[]) {
  const allowed = new Set<string>(roles);
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const actor = actorOf(request);
    if (!allowed.has(actor.role)) {
      throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} may not do this`, `角色 ${actor.role} 无权执行此操作`);
    }
  };
}

export const ErrorBody = z.object({
  code: z.string(),
  message: z.string(),
  message_zh: z.string(),
  details: z.unknown().optional(),
  request_id: z.string().optional(),
});

/** Response schemas for the usual errors, to spread into a route's `response`. */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  422: ErrorBody,
};

/** Offset paging shared by list endpoints. */
export const PageQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
});

/** One page of a list and the count of the whole list (under the same filters): what paged list endpoints answer. */
export const PageOf = <T extends z.ZodTypeAny>(item: T) => z.object({ items: z.array(item), total: z.number(), page: z.number(), pageSize: z.number() });

export const IsoDateTime = z
  .string()
  .refine((s) => parseIsoWithZone(s) !== null, 'a real date and time between 2000 and 2100 in ISO 8601 with a time zone, e.g. 2025-10-01T09:00:00+08:00');
