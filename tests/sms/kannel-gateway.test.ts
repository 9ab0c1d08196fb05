/**
 * The Kannel gateway against a real Kannel (Debian's bearerbox + smsbox, fakesmsc as the handset
 * side): what goes in through sendsms comes out at the SMSC exactly, receipts and inbound texts
 * come back over HTTP and parse into our receipts and texts, and failures are sorted into retry or
 * give up.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKannelGateway, kannelCallbackUrlTemplate, KANNEL_MAX_PARTS } from '../../sms/gateways/kannel';
import { GatewayError, type DeliveryReceipt, type InboundSms, type SmsGateway } from '../../sms';
import { joinedLongTexts, kannelMissing, mtText, startKannel, type KannelHarness } from '../helpers/kannel';

// Skipped only on a machine without Kannel; in CI (which installs it) a missing Kannel fails.
const missing = process.env.CI ? null : kannelMissing();
if (missing) console.warn(`kannel-gateway tests skipped: ${missing}`);

// A token with characters that need escaping twice (URL, then Kannel's own `%` escapes).
const TOKEN = 'tok+en/with%percent=&x-ßü令牌-0123456789';

function gatewayFor(k: KannelHarness, over: Partial<Parameters<typeof createKannelGateway>[0]> = {}): SmsGateway {
  return createKannelGateway({
    kind: 'kannel', name: 'kannel', sendsmsUrl: k.sendsmsUrl, username: k.username, password: k.password,
    dlrUrl: `${k.callbackBase}/api/v1/sms/gateways/kannel/receipt?token=${encodeURIComponent(TOKEN)}`,
    smsc: null, timeoutMs: 5000, ratePerSecond: 50, callbackToken: TOKEN, ...over,
  });
}

async function submitError(g: SmsGateway, to = '13800138000'): Promise<GatewayError> {
  const err = await g.submit({ id: `01TESTERR${Date.now()}`, to, from: '12345', text: '测试' }).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

let seq = 0;
const newId = () => `01JKANNEL${String(++seq).padStart(4, '0')}${Date.now()}`;

describe.skipIf(!!missing)('Kannel gateway against a real bearerbox + smsbox + fakesmsc', () => {
  let k: KannelHarness;
  let gw: SmsGateway;

  beforeAll(async () => {
    k = await startKannel({ getUrl: (base) => kannelCallbackUrlTemplate(base, TOKEN) });
    gw = gatewayFor(k);
    await gw.start();
  });
  afterAll(async () => { await k?.stop(); });

  it('a Chinese text reaches the SMSC exactly, as UCS2, from our sender to the citizen', async () => {
    const text = '您的工单（编号 A0001）已受理，请保持电话畅通。12345热线';
    const res = await gw.submit({ id: newId(), to: '13800138001', from: '12345', text });
    expect(res.parts).toBe(1);
    const [line] = await k.waitForMt((mt) => { const l = mt.find((x) => x.to === '13800138001'); return l ? [l] : null; }, 'the MT at fakesmsc');
    expect(line!.type).toBe('ucs-2');
    expect(line!.from).toBe('12345');
    expect(mtText(line!)).toBe(text);
  });

  it('a plain ASCII text goes as GSM 7-bit text and arrives unchanged', async () => {
    await gw.submit({ id: newId(), to: '13800138002', from: '12345', text: 'Your case A0002 is closed. Reply 1 if satisfied.' });
    const [line] = await k.waitForMt((mt) => { const l = mt.find((x) => x.to === '13800138002'); return l ? [l] : null; }, 'the ASCII MT');
    expect(line!.type).toBe('text');
    expect(mtText(line!)).toBe('Your case A0002 is closed. Reply 1 if satisfied.');
  });

  it('a long Chinese text (150 characters) arrives whole, as 3 parts Kannel joined by UDH', async () => {
    const base = '市民您好：您反映的小区夜间施工噪音问题已转交区城市管理局处理，处理结果将以短信告知，请保持电话畅通。';
    let text = '';
    while (text.length < 150) text += base;
    text = text.slice(0, 148) + ' +';
    const res = await gw.submit({ id: newId(), to: '13800138003', from: '12345', text });
    expect(res.parts).toBe(3);
    expect(res.providerMessageIds).toHaveLength(1);
    const joined = await k.waitForMt((mt) => {
      const t = joinedLongTexts(mt.filter((l) => l.to === '13800138003'));
      return t.length ? t[0]!.parts : null;
    }, 'all parts of the long text');
    expect(joined).toHaveLength(3);
    expect(joinedLongTexts(joined)[0]!.text).toBe(text);
  });

  it('the receipt Kannel sends to the dlr-url carries our token and maps back to our message id as delivered', async () => {
    const id = newId();
    const res = await gw.submit({ id, to: '13800138004', from: '12345', text: '回访：您对本次办理结果是否满意？' });
    expect(res.providerMessageIds).toEqual([id]);
    const req = await k.waitForRequest((r) => r.path === '/api/v1/sms/gateways/kannel/receipt' && r.query.id === id, 'the receipt');
    expect(req.query.token).toBe(TOKEN);
    const parsed = gw.parseCallback!('receipt', { query: req.query, body: null, headers: {} });
    expect(parsed).toHaveLength(1);
    const receipt = parsed[0] as DeliveryReceipt;
    expect(receipt).toMatchObject({ gateway: 'kannel', providerMessageId: id, state: 'delivered' });
    expect(receipt.at).toBeInstanceOf(Date);
    expect(Math.abs(receipt.at.getTime() - Date.now())).toBeLessThan(10 * 60_000);
  });

  it('a text without a receipt wanted asks Kannel for none', async () => {
    const id = newId();
    await gw.submit({ id, to: '13800138005', from: '12345', text: '无需回执的通知', wantReceipt: false });
    await k.waitForMt((mt) => { const l = mt.find((x) => x.to === '13800138005'); return l ? [l] : null; }, 'the MT');
    // A receipt for another message submitted after it arrives; none came for this one.
    const later = newId();
    await gw.submit({ id: later, to: '13800138006', from: '12345', text: '有回执的通知' });
    await k.waitForRequest((r) => r.query.id === later, 'the later receipt');
    expect(k.requests.filter((r) => r.query.id === id)).toEqual([]);
  });

  it('an inbound Chinese text from a handset reaches the get-url and parses to the exact text, sender and Kannel id', async () => {
    const text = '我要投诉 小区噪音  扰民+夜间施工';
    k.injectMo('13900139000', '12345', text);
    const req = await k.waitForRequest((r) => r.path === '/api/v1/sms/gateways/kannel/inbound' && r.query.from === '13900139000', 'the inbound text');
    expect(req.query.token).toBe(TOKEN);
    const parsed = gw.parseCallback!('inbound', { query: req.query, body: null, headers: {} });
    expect(parsed).toHaveLength(1);
    const sms = parsed[0] as InboundSms;
    expect(sms).toMatchObject({ gateway: 'kannel', from: '13900139000', to: '12345', text });
    expect(sms.providerMessageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // A second text gets another id (the id de-duplicates, it does not merge texts).
    k.injectMo('13900139000', '12345', '再问一次');
    const req2 = await k.waitForRequest((r) => r.path.endsWith('/inbound') && r.query.text === '再问一次', 'the second inbound text');
    expect((gw.parseCallback!('inbound', { query: req2.query, body: null, headers: {} })[0] as InboundSms).providerMessageId).not.toBe(sms.providerMessageId);
  });

  it('a wrong password is refused by Kannel and not retried', async () => {
    const err = await submitError(gatewayFor(k, { password: 'wrong' }));
    expect(err.retryable).toBe(false);
    expect(err.code).toBe('KANNEL_AUTH');
    expect(err.message).toContain('403');
  });

  it('a number Kannel rejects (400) is not retried', async () => {
    const err = await submitError(gw, 'not-a-number');
    expect(err.retryable).toBe(false);
    expect(err.code).toBe('KANNEL_REFUSED');
  });

  it(`a text of more than ${KANNEL_MAX_PARTS} parts is refused before Kannel would cut it`, async () => {
    const err = await gw.submit({ id: newId(), to: '13800138007', from: '12345', text: '长'.repeat(67 * KANNEL_MAX_PARTS + 1) }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('SMS_TOO_LONG');
    expect((err as GatewayError).retryable).toBe(false);
  });
});

describe.skipIf(!!missing)('Kannel gateway when Kannel is not there', () => {
  let k: KannelHarness;
  let silent: NetServer;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    k = await startKannel({ getUrl: (base) => kannelCallbackUrlTemplate(base, TOKEN) });
    // A server that takes the connection and never answers.
    silent = createNetServer((s) => { sockets.push(s); s.on('error', () => {}); });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await k?.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
  });

  it('with bearerbox stopped (smsbox goes with it) a submit fails retryable as unreachable, and health goes down after a few', async () => {
    const gw = gatewayFor(k);
    await gw.submit({ id: newId(), to: '13800138010', from: '12345', text: '测试' });
    expect(gw.health().up).toBe(true);
    await k.killBearerbox();
    for (let i = 0; i < 3; i++) {
      const err = await submitError(gw);
      expect(err.retryable).toBe(true);
      expect(err.code).toBe('KANNEL_UNREACHABLE');
    }
    expect(gw.health().up).toBe(false);
  });

  it('a sendsms that never answers times out retryable', async () => {
    const port = (silent.address() as { port: number }).port;
    const gw = gatewayFor(k, { sendsmsUrl: `http://127.0.0.1:${port}/cgi-bin/sendsms`, timeoutMs: 300 });
    const err = await submitError(gw);
    expect(err.retryable).toBe(true);
    expect(err.code).toBe('KANNEL_TIMEOUT');
  });
});

describe('Kannel callbacks without a Kannel', () => {
  const gw = createKannelGateway({
    kind: 'kannel', name: 'kannel', sendsmsUrl: 'http://127.0.0.1:1/cgi-bin/sendsms', username: 'u', password: 'p',
    dlrUrl: 'http://hotline.example/api/v1/sms/gateways/kannel/receipt?token=t', smsc: null, timeoutMs: 1000, ratePerSecond: 1, callbackToken: 't',
  });
  const parse = (kind: 'receipt' | 'inbound', query: Record<string, unknown>) => gw.parseCallback!(kind, { query, body: null, headers: {} });

  it('maps the receipt types: 1 delivered, 2 failed (expired when the SMSC says so), 16 rejected by the SMSC; 4 and 8 are intermediate', () => {
    expect(parse('receipt', { id: 'M1', type: '1', ts: '1767225600' })[0]).toMatchObject({ providerMessageId: 'M1', state: 'delivered', at: new Date('2026-01-01T00:00:00Z') });
    expect(parse('receipt', { id: 'M2', type: '2', reply: 'id:1 sub:001 dlvrd:000 stat:UNDELIV err:001' })[0]).toMatchObject({ state: 'failed', detail: 'id:1 sub:001 dlvrd:000 stat:UNDELIV err:001' });
    expect(parse('receipt', { id: 'M3', type: '2', reply: 'id:1 stat:EXPIRED err:000' })[0]).toMatchObject({ state: 'expired' });
    expect(parse('receipt', { id: 'M4', type: '16', reply: 'NACK/0x0000000b/Invalid Destination Address' })[0]).toMatchObject({ state: 'failed' });
    expect(parse('receipt', { id: 'M5', type: '4' })).toEqual([]);
    expect(parse('receipt', { id: 'M6', type: '8' })).toEqual([]);
  });

  it('an inbound sender in international form (+86…) becomes the national mobile number', () => {
    expect(parse('inbound', { from: '+8613900139000', to: '12345', text: '你好', id: 'u1', charset: 'UTF-8' })[0]).toMatchObject({ from: '13900139000', text: '你好' });
    expect(parse('inbound', { from: '00862512345678', to: '12345', text: 'x', id: 'u2' })[0]).toMatchObject({ from: '00862512345678' });
  });

  it('throws SMS_CALLBACK_MALFORMED for a receipt without id or type, and for an inbound text left in UCS2', () => {
    for (const [kind, query] of [['receipt', { type: '1' }], ['receipt', { id: 'M1', type: 'x' }], ['inbound', { id: 'u', text: 'x' }], ['inbound', { from: '139', text: 'x', id: 'u', coding: '2', charset: 'UTF-16BE' }]] as const) {
      let err: unknown = null;
      try { parse(kind, query); } catch (e) { err = e; }
      expect(err, JSON.stringify(query)).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).code).toBe('SMS_CALLBACK_MALFORMED');
    }
  });

  it('the get-url template doubles a % of the token so Kannel does not read it as an escape', () => {
    const url = kannelCallbackUrlTemplate('https://hotline.example/', 'a%b c');
    expect(url.startsWith('https://hotline.example/api/v1/sms/gateways/kannel/inbound?token=a%%25b%%20c&')).toBe(true);
    expect(url).toContain('from=%p&to=%P&text=%b&id=%I');
  });
});
