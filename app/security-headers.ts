import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/**
 * The one inline style Swagger UI needs: the <style> inside its logo's SVG (the top bar). Allowed
 * by its hash; if a newer Swagger UI changes it, only the logo's colours are lost (and the
 * browser test in tests/api/security-headers.test.ts says so).
 */
const SWAGGER_LOGO_STYLE = '.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}';
const SWAGGER_LOGO_STYLE_HASH = `'sha256-${createHash('sha256').update(SWAGGER_LOGO_STYLE).digest('base64')}'`;

/**
 * The API's documentation (Swagger UI) is served from our own origin by @fastify/swagger-ui: its
 * page loads scripts and styles from files, builds the UI from /api/docs/json, and shows a logo
 * as a data: image. Inline code it may ship is allowed by the hashes the plugin publishes
 * (`swaggerCSP`), never by 'unsafe-inline'. No framing, no plugins, no other origin.
 */
function docsCsp(hashes: { script: string[]; style: string[] }) {
  return [
    "default-src 'self'",
    `script-src 'self' ${hashes.script.join(' ')}`.trim(),
    `style-src 'self' ${SWAGGER_LOGO_STYLE_HASH} ${hashes.style.join(' ')}`.trim(),
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** A year of HTTPS-only; no includeSubDomains: other hosts of a city's domain are not ours to bind. */
const HSTS = 'max-age=31536000';

/**
 * Security headers on every answer (API, console, docs, errors, 404s):
 * - `Cache-Control: no-store` on /api/ unless the route chose its own caching: answers hold
 *   citizens' names and phone numbers, which no shared or browser cache should keep;
 * - `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`
 *   (a route's own choice, like the console's, is kept);
 * - `Strict-Transport-Security` when the request came over HTTPS (directly, or through a proxy
 *   that says so when TRUST_PROXY is set: otherwise a client could claim it);
 * - a Content-Security-Policy on /api/docs (the console's index.html sets its own, app/landing.ts).
 */
export function registerSecurityHeaders(app: FastifyInstance) {
  let docsPolicy: string | null = null;
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('x-frame-options')) reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'no-referrer');
    if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
    const path = request.url.split('?')[0];
    if (path.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    if ((path === '/api/docs' || path.startsWith('/api/docs/')) && !reply.hasHeader('content-security-policy')) {
      // Read once, after @fastify/swagger-ui has decorated the app with its hashes.
      docsPolicy ??= docsCsp((app as unknown as { swaggerCSP?: { script: string[]; style: string[] } }).swaggerCSP ?? { script: [], style: [] });
      reply.header('content-security-policy', docsPolicy);
    }
    return payload;
  });
}
