import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';

/** Where `npm run build` (vite) puts the console. */
export const CONSOLE_DIST = fileURLToPath(new URL('../agent-console/dist/', import.meta.url));

/**
 * The agent console (坐席工作台) at `/`: the SPA built into agent-console/dist. Hashed assets under
 * /assets/ are cached for a year (immutable); index.html is answered for every other GET that is not
 * the API, so deep links (/unit, /dispatch) load the app, and is never cached, so a new build is
 * picked up on the next load. /api, /healthz and /api/docs keep their own routes and 404s.
 *
 * Without a build (a checkout where `npm run build` has not run) `/` says so and where the API is.
 */
export interface ConsoleOptions {
  distDir?: string;
  /** Whether the server runs a demo city: the login page then shows the demo accounts. */
  isDemo?: () => Promise<boolean>;
}

export async function registerConsole(app: FastifyInstance, opts: ConsoleOptions = {}) {
  const dist = opts.distDir ?? CONSOLE_DIST;
  if (!existsSync(join(dist, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(NOT_BUILT_PAGE));
    return;
  }

  await app.register(fastifyStatic, {
    root: join(dist, 'assets'),
    prefix: '/assets/',
    wildcard: true,
    index: false,
    decorateReply: false,
    // File names carry a content hash: a changed file is a new name.
    immutable: true,
    maxAge: '365d',
  });

  // index.html is re-read when a new build replaced it (its assets are new names then).
  const indexPath = join(dist, 'index.html');
  let cached = { mtimeMs: -1, html: '' };
  const indexHtml = () => {
    const mtimeMs = statSync(indexPath).mtimeMs;
    if (mtimeMs !== cached.mtimeMs) cached = { mtimeMs, html: readFileSync(indexPath, 'utf8') };
    return cached.html;
  };
  let demo = { at: 0, value: false };
  const isDemo = async () => {
    if (!opts.isDemo) return false;
    if (Date.now() - demo.at > 60_000) demo = { at: Date.now(), value: await opts.isDemo().catch(() => false) };
    return demo.value;
  };

  const sendIndex = async (reply: FastifyReply) => {
    let html = indexHtml();
    if (await isDemo()) html = html.replace('<head>', '<head>\n    <meta name="hotline-demo" content="1" />');
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .header('x-frame-options', 'DENY')
      // Defence in depth against injected markup: no inline or foreign script. Element Plus sets inline styles.
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
      )
      .send(html);
  };

  const isApiPath = (url: string) => {
    const path = url.split('?')[0];
    return path === '/api' || path.startsWith('/api/') || path === '/healthz' || path.startsWith('/assets/') || /\.[a-z0-9]{1,8}$/i.test(path);
  };

  app.get('/', { schema: { hide: true } }, async (_request, reply) => sendIndex(reply));
  app.get('/*', { schema: { hide: true } }, async (request, reply) => (isApiPath(request.url) ? reply.callNotFound() : sendIndex(reply)));
}

/** `/` of a server whose console has not been built. */
const NOT_BUILT_PAGE = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>12345 热线 · 接诉即办</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font:15px/1.6 system-ui,"Noto Sans CJK SC",sans-serif;max-width:760px;margin:40px auto;padding:0 16px;color:#1f2328}
code{background:#f3f4f6;padding:1px 4px;border-radius:3px}</style>
</head><body>
<h1>12345 政务服务便民热线 · 接诉即办</h1>
<p>服务已启动，但坐席工作台（Web 控制台）尚未构建。请在项目目录运行 <code>npm run build</code>（或直接 <code>npm start</code>，首次启动会自动构建），然后刷新本页。</p>
<ul>
<li>接口文档（OpenAPI）：<a href="/api/docs">/api/docs</a>，文档原文 <a href="/api/openapi.json">/api/openapi.json</a></li>
<li>健康检查：<a href="/healthz">/healthz</a></li>
<li>登录：<code>POST /api/v1/auth/login</code>，请求体 <code>{"username":"agent1","password":"demo12345"}</code></li>
</ul>
<p lang="en">The server is running, but the agent console has not been built: run <code>npm run build</code> and reload. API documentation: /api/docs.</p>
</body></html>`;
