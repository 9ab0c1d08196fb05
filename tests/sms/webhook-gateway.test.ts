/**
 * The webhook gateway against a provider stand-in on loopback: a small HTTP server that checks the
 * signature, de-duplicates by outId, answers the providers' error codes, and pushes signed receipts
 * and inbound texts to a second server that stands for our callback route.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookGateway, providerTime } from '../../sms/gateways/webhook';
import { GatewayError, type DeliveryReceipt, type InboundSms, type SmsGateway } from '../../sms';

const SECRET = 'provider-secret-密钥-0123456789';

/** The documented contract, computed here on its own: hex(HMAC-SHA256(secret, timestamp + "\n" + body)). */
function sign(timestamp: string, body: string): string {
  return createHmac('sha256', SECRET).update(`${timestamp}\n${body}`, 'utf8').digest('hex');
}
function signedRight(timestamp: string, body: string, signature: string): boolean {
  const want = Buffer.from(sign(timestamp, body), 'hex');
  const got = Buffer.from(signature, 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

interface Recorded { outId: string; phoneNumbers: string; content: string; signName?: string; from?: string; bizId: string }

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
}

async function submitError(g: SmsGateway, to: string, text = '测试短信'): Promise<GatewayError> {
  const err = await g.submit({ id: `01WEBHOOKERR${to}${Date.now()}`, to, from: null, text }).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

describe('webhook gateway against a provider over HTTP', () => {
  const sent: Recorded[] = [];
  const byOutId = new Map<string, string>();
  const hanging: ServerResponse[] = [];
  let badSignatures = 0;
  let provider: Server;
  let providerUrl: string;
  // Our callback route's stand-in: what the provider pushed, raw.
  const pushed: { path: string; body: string; headers: Record<string, unknown> }[] = [];
  let route: Server;
  let routeUrl: string;

  const gateway = (over: Partial<Parameters<typeof createWebhookGateway>[0]> = {}) =>
    createWebhookGateway({ kind: 'webhook', name: 'webhook', url: `${providerUrl}/sms/send`, secret: SECRET, signName: '12345热线', timeoutMs: 5000, ratePerSecond: 50, callbackToken: null, ...over });

  /** The provider signs its pushes the way we sign our submits. */
  async function push(path: string, payload: unknown, tamper = false): Promise<{ body: string; headers: Record<string, unknown> }> {
    const body = JSON.stringify(payload);
    const ts = String(Date.now());
    const res = await fetch(`${routeUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': sign(ts, tamper ? body + ' ' : body) },
      body,
    });
    expect(res.status).toBe(200);
    return pushed[pushed.length - 1]!;
  }

  beforeAll(async () => {
    provider = createServer(async (req, res) => {
      const body = await readBody(req);
      const ts = String(req.headers['x-timestamp'] ?? '');
      const sig = String(req.headers['x-signature'] ?? '');
      const json = (status: number, o: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(o));
      if (req.method !== 'POST' || req.url !== '/sms/send') return json(404, { code: 'NOT_FOUND' });
      if (!ts || !signedRight(ts, body, sig)) { badSignatures++; return json(200, { code: 'isv.SIGNATURE_MISMATCH', message: '签名校验失败' }); }
      const m = JSON.parse(body) as Omit<Recorded, 'bizId'>;
      if (m.phoneNumbers === '13800000000') { hanging.push(res); return; } // never answers
      if (m.phoneNumbers === '13800000429') return json(200, { code: 'isv.BUSINESS_LIMIT_CONTROL', message: '触发流控' });
      if (m.phoneNumbers === '13800000500') return res.writeHead(502).end('<html>bad gateway</html>');
      if (!/^1\d{10}$/.test(m.phoneNumbers)) return json(200, { code: 'isv.MOBILE_NUMBER_ILLEGAL', message: '非法手机号' });
      // De-duplication by outId: the same id again sends nothing and answers the first bizId.
      let bizId = byOutId.get(m.outId);
      if (!bizId) {
        bizId = `${900000 + byOutId.size}^${m.outId.slice(-6)}`;
        byOutId.set(m.outId, bizId);
        sent.push({ ...m, bizId });
      }
      return json(200, { code: 'OK', message: 'OK', bizId, requestId: `req-${sent.length}` });
    });
    providerUrl = await listen(provider);
    route = createServer(async (req, res) => {
      pushed.push({ path: req.url ?? '', body: await readBody(req), headers: req.headers as Record<string, unknown> });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":0,"msg":"成功"}');
    });
    routeUrl = await listen(route);
  });

  afterAll(async () => {
    for (const r of hanging) r.destroy();
    provider.closeAllConnections();
    route.closeAllConnections();
    await Promise.all([new Promise((r) => provider.close(r)), new Promise((r) => route.close(r))]);
  });

  it('a signed submit reaches the provider with outId, number, sign name and the exact Chinese text, and its bizId comes back', async () => {
    const g = gateway();
    const text = '【12345热线】您反映的问题已办结，请对办理结果评价：回复1满意，2基本满意，3不满意。';
    const res = await g.submit({ id: '01JWEBHOOK0000000000000001', to: '13800138000', from: '12345', text });
    const rec = sent.find((s) => s.outId === '01JWEBHOOK0000000000000001');
    expect(rec).toMatchObject({ phoneNumbers: '13800138000', content: text, signName: '12345热线', from: '12345' });
    expect(res).toEqual({ providerMessageIds: [rec!.bizId], parts: 1, gateway: 'webhook' });
    expect(g.idempotent).toBe(true);
  });

  it('the same message id submitted twice is one text at the provider, with the same bizId both times', async () => {
    const g = gateway();
    const msg = { id: '01JWEBHOOK0000000000000002', to: '13800138001', from: null, text: '同一条短信只发一次' };
    const first = await g.submit(msg);
    const second = await g.submit(msg);
    expect(second.providerMessageIds).toEqual(first.providerMessageIds);
    expect(sent.filter((s) => s.outId === msg.id)).toHaveLength(1);
  });

  it('a long text is one request and counts its parts (67 a part)', async () => {
    const res = await gateway().submit({ id: '01JWEBHOOK0000000000000003', to: '13800138002', from: null, text: '长'.repeat(150) });
    expect(res.parts).toBe(3);
    expect(sent.find((s) => s.outId === '01JWEBHOOK0000000000000003')!.content).toBe('长'.repeat(150));
  });

  it('a wrong secret: the provider refuses the signature, nothing is sent, not retried', async () => {
    const before = sent.length;
    const seen = badSignatures;
    const err = await submitError(gateway({ secret: 'not-the-secret-0000000000' }), '13800138003');
    expect(badSignatures).toBe(seen + 1);
    expect(sent.length).toBe(before);
    expect(err.retryable).toBe(false);
    expect(err.code).toBe('isv.SIGNATURE_MISMATCH');
  });

  it('a throttle code (isv.BUSINESS_LIMIT_CONTROL) is retryable', async () => {
    const err = await submitError(gateway(), '13800000429');
    expect(err.retryable).toBe(true);
    expect(err.code).toBe('isv.BUSINESS_LIMIT_CONTROL');
    expect(err.message).toContain('触发流控');
  });

  it('an invalid number (isv.MOBILE_NUMBER_ILLEGAL) is not retryable', async () => {
    const err = await submitError(gateway(), '12');
    expect(err.retryable).toBe(false);
    expect(err.code).toBe('isv.MOBILE_NUMBER_ILLEGAL');
  });

  it('a 5xx without JSON is retryable', async () => {
    const err = await submitError(gateway(), '13800000500');
    expect(err.retryable).toBe(true);
    expect(err.code).toBe('WEBHOOK_UNAVAILABLE');
  });

  it('a provider that never answers times out, retryable', async () => {
    const err = await submitError(gateway({ timeoutMs: 300 }), '13800000000');
    expect(err.retryable).toBe(true);
    expect(err.code).toBe('WEBHOOK_TIMEOUT');
  });

  it('a provider nobody listens at is unreachable, retryable, and health goes down after a few', async () => {
    const spare = createServer();
    const url = await listen(spare);
    await new Promise((r) => spare.close(r));
    const g = gateway({ url: `${url}/sms/send` });
    for (let i = 0; i < 3; i++) {
      const err = await submitError(g, '13800138004');
      expect(err.code).toBe('WEBHOOK_UNREACHABLE');
      expect(err.retryable).toBe(true);
    }
    expect(g.health().up).toBe(false);
  });

  it('a signed batch of receipts pushed by the provider parses to one receipt per report, mapped to the bizIds submit returned', async () => {
    const g = gateway();
    const a = await g.submit({ id: '01JWEBHOOK0000000000000010', to: '13800138010', from: null, text: '工单已派发' });
    const b = await g.submit({ id: '01JWEBHOOK0000000000000011', to: '13800138011', from: null, text: '工单已派发' });
    const c = await g.submit({ id: '01JWEBHOOK0000000000000012', to: '13800138012', from: null, text: '工单已派发' });
    const got = await push('/api/v1/sms/gateways/webhook/receipt', [
      { phone_number: '13800138010', send_time: '2026-03-01 09:00:00', report_time: '2026-03-01 09:00:05', success: true, err_code: 'DELIVERED', err_msg: '用户接收成功', sms_size: '1', biz_id: a.providerMessageIds[0], out_id: '01JWEBHOOK0000000000000010' },
      { phone_number: '13800138011', report_time: '2026-03-01 09:00:06', success: false, err_code: 'MK:0001', err_msg: '空号', bizId: b.providerMessageIds[0], out_id: '01JWEBHOOK0000000000000011' },
      { phone_number: '13800138012', report_time: '2026-03-02 09:00:00', success: false, err_code: 'EXPIRED', biz_id: c.providerMessageIds[0], out_id: '01JWEBHOOK0000000000000012' },
    ]);
    const receipts = g.parseCallback!('receipt', { query: {}, body: got.body, headers: got.headers }) as DeliveryReceipt[];
    expect(receipts.map((r) => [r.providerMessageId, r.state])).toEqual([
      [a.providerMessageIds[0], 'delivered'],
      [b.providerMessageIds[0], 'failed'],
      [c.providerMessageIds[0], 'expired'],
    ]);
    expect(receipts[0]!.at.toISOString()).toBe('2026-03-01T01:00:05.000Z'); // Beijing time
    expect(receipts[1]!.detail).toBe('MK:0001 空号');
    // The route may hand the parsed JSON instead of the raw body: same result.
    expect(g.parseCallback!('receipt', { query: {}, body: JSON.parse(got.body), headers: got.headers })).toEqual(receipts);
  });

  it('a pushed receipt whose signature does not match its body is refused as malformed', async () => {
    const got = await push('/api/v1/sms/gateways/webhook/receipt', [{ biz_id: 'x', success: true, report_time: '2026-03-01 09:00:05' }], true);
    let err: unknown = null;
    try { gateway().parseCallback!('receipt', { query: {}, body: got.body, headers: got.headers }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('SMS_CALLBACK_MALFORMED');
  });

  it('pushed inbound texts parse to the exact Chinese text, sender (without +86), our number and the provider id', async () => {
    const got = await push('/api/v1/sms/gateways/webhook/inbound', [
      { phone_number: '+8613900139000', content: '我要投诉：小区  夜间施工噪音', sign_name: '12345热线', dest_code: '12345', send_time: '2026-03-01 21:30:00', msg_id: 'mo-1001' },
      { phone_number: '13900139001', content: '1', dest_code: '12345', send_time: '2026-03-01 21:31:00', msg_id: 'mo-1002' },
    ]);
    const texts = gateway().parseCallback!('inbound', { query: {}, body: got.body, headers: got.headers }) as InboundSms[];
    expect(texts).toEqual([
      { gateway: 'webhook', providerMessageId: 'mo-1001', from: '13900139000', to: '12345', text: '我要投诉：小区  夜间施工噪音', receivedAt: new Date('2026-03-01T13:30:00Z') },
      { gateway: 'webhook', providerMessageId: 'mo-1002', from: '13900139001', to: '12345', text: '1', receivedAt: new Date('2026-03-01T13:31:00Z') },
    ]);
  });

  it('an unsigned callback (the route checked the token) parses; a report without biz_id or success is malformed', () => {
    const g = gateway();
    expect(g.parseCallback!('receipt', { query: {}, body: { biz_id: 'b1', success: 'true', report_time: 1767225600 }, headers: {} })).toEqual([
      { gateway: 'webhook', providerMessageId: 'b1', state: 'delivered', detail: null, at: new Date('2026-01-01T00:00:00Z') },
    ]);
    expect(g.parseCallback!('receipt', { query: {}, body: [], headers: {} })).toEqual([]);
    for (const body of [[{ success: true }], [{ biz_id: 'b2' }], 'not json', [{ phone_number: '139' }]]) {
      let err: unknown = null;
      try { g.parseCallback!(Array.isArray(body) && 'phone_number' in body[0]! ? 'inbound' : 'receipt', { query: {}, body, headers: {} }); } catch (e) { err = e; }
      expect(err, JSON.stringify(body)).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).code).toBe('SMS_CALLBACK_MALFORMED');
    }
  });

  it('reads the providers\' times: Beijing wall time, ISO with a zone, Unix seconds and ms', () => {
    expect(providerTime('2026-03-01 08:00:00').toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(providerTime('2026-03-01T08:00:00Z').toISOString()).toBe('2026-03-01T08:00:00.000Z');
    expect(providerTime(1767225600).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(providerTime('1767225600000').toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
});
