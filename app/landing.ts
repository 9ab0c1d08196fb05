import type { FastifyInstance } from 'fastify';

/**
 * The page at `/` until the agent console is built: what this server is, where the API and its
 * documentation are, and how to log in with the demo accounts.
 */
const PAGE = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>12345 热线 · 接诉即办</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font:15px/1.6 system-ui,"Noto Sans CJK SC",sans-serif;max-width:760px;margin:40px auto;padding:0 16px;color:#1f2328}
code{background:#f3f4f6;padding:1px 4px;border-radius:3px}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 10px;text-align:left}</style>
</head><body>
<h1>12345 政务服务便民热线 · 接诉即办</h1>
<p>服务已启动。坐席工作台（Web 控制台）尚在建设中；目前可通过 HTTP 接口使用全部功能。</p>
<ul>
<li>接口文档（OpenAPI）：<a href="/api/docs">/api/docs</a>，文档原文 <a href="/api/openapi.json">/api/openapi.json</a></li>
<li>健康检查：<a href="/healthz">/healthz</a></li>
<li>登录：<code>POST /api/v1/auth/login</code>，请求体 <code>{"username":"agent1","password":"demo12345"}</code>，返回会话 Cookie</li>
</ul>
<h2>演示账号（演示市，虚构数据）</h2>
<p>密码均为 <code>demo12345</code>。</p>
<table><tr><th>用户名</th><th>角色</th></tr>
<tr><td>agent1</td><td>话务员</td></tr><tr><td>dispatcher1</td><td>派单审核员</td></tr>
<tr><td>water1</td><td>承办单位经办人（自来水公司）</td></tr><tr><td>chengguan_mgr</td><td>承办单位负责人（城管局）</td></tr>
<tr><td>grid1</td><td>网格员</td></tr><tr><td>supervisor1</td><td>督查</td></tr><tr><td>admin</td><td>系统管理员</td></tr></table>
<p lang="en">12345 citizen service hotline. The agent console is not built yet; the HTTP API is documented at /api/docs. Demo accounts above, password demo12345.</p>
</body></html>`;

export function registerLandingPage(app: FastifyInstance) {
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
}
