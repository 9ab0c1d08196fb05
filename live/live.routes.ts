import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiKeyScope, type Actor } from '../core';
import { actorOf, errorResponses } from '../core/http';
import { LiveCloseCode, type ErrorMessage } from './live.protocol';
import { PresenceStatus } from './ports';
import type { LiveService } from './live.service';

export interface LiveRoutesOptions {
  live: LiveService;
  /**
   * Resolves a request's credentials again, exactly as the API's auth hook does (app/auth.ts): an
   * open socket is re-checked periodically, so a logout or a revoked key ends it.
   */
  reauthenticate: (request: FastifyRequest) => Promise<Actor | null>;
  /**
   * The origins (scheme://host:port) whose pages may open the feed. Empty or absent: only the
   * server's own origin, as the request names it (scheme honouring TRUST_PROXY, Host header).
   */
  allowedOrigins?: readonly string[];
}

const LiveQuery = z.strictObject({
  after: z.coerce.number().int().min(0).optional().describe('resume after this sequence number (the last one the console saw)'),
});

const PresenceView = z.object({
  userId: z.string(),
  name: z.string(),
  role: z.string(),
  status: z.enum(Object.values(PresenceStatus) as [PresenceStatus, ...PresenceStatus[]]),
  since: z.string().nullable(),
});

/** An origin in its canonical form (scheme://host[:port], default port dropped), or null when it is not one. */
export function canonicalOrigin(origin: string): string | null {
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
  } catch {
    return null;
  }
}

/**
 * Whether a page of `origin` may open the feed: scheme, host and port must all match, since a page
 * of another port (another app on the same host) or of plain http is another site to the browser.
 */
function originAllowed(origin: string, request: FastifyRequest, allowed: ReadonlySet<string>): boolean {
  const o = canonicalOrigin(origin);
  if (!o) return false;
  if (allowed.size) return allowed.has(o);
  // request.protocol and request.host follow X-Forwarded-Proto/-Host only when TRUST_PROXY is set.
  return o === canonicalOrigin(`${request.protocol}://${request.host}`);
}

/**
 * `GET /live` (WebSocket, see live.protocol.ts) and `GET /live/presence`. Mounted inside the API
 * scope, so the socket's upgrade request passes the same auth hook as every API request.
 */
export async function liveRoutes(app: FastifyInstance, opts: LiveRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { live } = opts;
  const allowed = new Set((opts.allowedOrigins ?? []).map((o) => canonicalOrigin(o)).filter((o): o is string => o !== null));

  // Public at the HTTP level only so that a console without a session gets a close code it can act
  // on (4401: go to login) instead of a failed handshake browsers report without a status.
  r.get('/live', { websocket: true, config: { public: true, apiKeyScopes: [ApiKeyScope.liveRead] }, schema: { querystring: LiveQuery } }, (socket, request) => {
    const refuse = (code: number, error: ErrorMessage) => {
      socket.send(JSON.stringify(error));
      socket.close(code, error.code);
    };
    if (!request.actor) {
      return refuse(LiveCloseCode.authRequired, { type: 'error', code: 'AUTH_REQUIRED', message: 'login required', messageZh: '请先登录' });
    }
    // Browsers send cookies on cross-site WebSocket handshakes that SameSite does not cover (same
    // site, other host): a page of another host must not read the feed with the user's session.
    const origin = request.headers.origin;
    if (origin && !originAllowed(origin, request, allowed)) {
      return refuse(LiveCloseCode.originForbidden, { type: 'error', code: 'ORIGIN_FORBIDDEN', message: `origin ${origin} may not open the live feed`, messageZh: '不允许从该来源连接实时推送' });
    }
    const cred = request.credential;
    live.attach(socket, request.actor, {
      after: request.query.after ?? null,
      reauthenticate: () => opts.reauthenticate(request),
      sessionId: cred?.kind === 'session' ? cred.sessionId : null,
      apiKeyId: cred?.kind === 'api_key' ? cred.apiKeyId : null,
      expiresAt: cred?.expiresAt ?? null,
    });
  });

  r.get('/live/presence', {
    schema: { tags: ['live'], summary: 'Seat status of the hotline center staff (坐席状态), center roles only', response: { 200: z.array(PresenceView), ...errorResponses } },
  }, async (request) => live.listPresence(actorOf(request)));
}
