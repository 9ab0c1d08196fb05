import { describe, it, expect, afterEach } from 'vitest';
import { createSmppGateway, type SmppGatewayOptions } from '../../sms/gateways/smpp';
import { GatewayError, type DeliveryReceipt, type GatewayConfig, type InboundSms, type SmsGateway } from '../../sms';
import { startSmscSimulator, type SmscMode, type SmscSimulator } from '../helpers/smsc-simulator';
import { until } from '../helpers/until';

/** The SMPP gateway against a real SMSC on loopback (the smpp package's server), no mocks. */

type SmppConfig = Extract<GatewayConfig, { kind: 'smpp' }>;

const sims: SmscSimulator[] = [];
const gateways: SmsGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const eventually = (pred: () => boolean, what: string, timeoutMs = 8000) => until(pred, what, timeoutMs).then(() => undefined);

async function setup(over: Partial<SmppConfig> = {}, mode: Partial<SmscMode> = {}, opts: SmppGatewayOptions = {}) {
  const sim = await startSmscSimulator({ mode });
  sims.push(sim);
  const cfg: SmppConfig = {
    kind: 'smpp', name: 'smpp', url: sim.url, systemId: sim.systemId, password: sim.password, systemType: '',
    sourceAddr: '12345', windowSize: 4, enquireLinkMs: 30_000, submitTimeoutMs: 2000, ratePerSecond: 1000, ...over,
  };
  const gw = createSmppGateway(cfg, { reconnect: { initialMs: 50, maxMs: 400 }, ...opts });
  gateways.push(gw);
  const receipts: DeliveryReceipt[] = [];
  const inbound: InboundSms[] = [];
  gw.onReceipt(async (r) => { receipts.push(r); });
  gw.onInbound(async (m) => { inbound.push(m); });
  return { sim, gw, cfg, receipts, inbound };
}

let n = 0;
const sms = (text: string, to = '13800138000', extra: { wantReceipt?: boolean } = {}) => ({ id: `01TEST${++n}`, to, from: null, text, ...extra });

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    return e as GatewayError;
  }
  throw new Error('expected the submit to fail');
}

const CHINESE = '您反映的白龙南路噪音问题已转交市生态环境局办理，工单号2025100900123。'; // < 70 UCS2 units
const LONG_CHINESE = '市民您好：'.padEnd(150, '您反映的问题已由区住建局受理，我们将在五个工作日内答复。'); // 150 units → 3 parts of ≤ 67

describe('SMPP gateway', () => {
  it('binds and submits a Chinese text as UCS2 (data_coding 8); the SMSC decodes the exact text', async () => {
    const { sim, gw } = await setup();
    await gw.start();
    expect(gw.health().up).toBe(true);
    expect(gw.idempotent).toBe(false);
    const r = await gw.submit(sms(CHINESE));
    expect(r.parts).toBe(1);
    expect(sim.messages).toHaveLength(1);
    const m = sim.messages[0]!;
    expect(m.text).toBe(CHINESE);
    expect(m.dataCoding).toBe(8);
    expect(m.to).toBe('13800138000');
    expect(m.from).toBe('12345');
    expect(m.parts[0]!.esmClass & 0x40).toBe(0);
    expect(m.parts[0]!.udh).toEqual([]);
    expect(m.parts[0]!.registeredDelivery).toBe(1);
    expect(r.providerMessageIds).toEqual(m.messageIds);
    expect(r.gateway).toBe('smpp');
  });

  it('sends a 150-character Chinese text as 3 parts with esm_class 0x40 and one 6-byte UDH reference; the SMSC joins it exactly', async () => {
    const { sim, gw } = await setup();
    await gw.start();
    expect(LONG_CHINESE.length).toBe(150);
    const r = await gw.submit(sms(LONG_CHINESE));
    const r2 = await gw.submit(sms(LONG_CHINESE.split('').reverse().join('')));
    expect(r.parts).toBe(3);
    expect(r.providerMessageIds).toHaveLength(3);
    expect(sim.messages).toHaveLength(2);
    const [m, m2] = sim.messages as [typeof sim.messages[0], typeof sim.messages[0]];
    expect(m.text).toBe(LONG_CHINESE);
    expect(m.dataCoding).toBe(8);
    expect(m.parts).toHaveLength(3);
    const ref = m.parts[0]!.concat!.ref;
    m.parts.forEach((p, i) => {
      expect(p.esmClass & 0x40).toBe(0x40);
      // exactly one element IEI 0x00, length 3: with the UDHL byte, a 6-byte UDH
      expect(p.udh).toEqual([[0x00, 0x03, ref, 3, i + 1]]);
      expect(p.text.length).toBeLessThanOrEqual(67);
    });
    expect(r.providerMessageIds).toEqual(m.messageIds);
    // the next long text gets its own reference
    expect(m2.text).toBe(LONG_CHINESE.split('').reverse().join(''));
    expect(new Set(m2.parts.map((p) => p.concat!.ref)).size).toBe(1);
    expect(m2.parts[0]!.concat!.ref).not.toBe(ref);
  });

  it('sends a GSM-only text with data_coding 0 (extension characters included)', async () => {
    const { sim, gw } = await setup();
    await gw.start();
    const text = 'Case 2025-123 closed @ 12345 {ok} [1] ~ ^ | \\ €5: reply 1';
    await gw.submit(sms(text));
    expect(sim.messages[0]!.dataCoding).toBe(0);
    expect(sim.messages[0]!.text).toBe(text);
  });

  it('a long GSM text goes as 153-septet parts with the same UDH layout', async () => {
    const { sim, gw } = await setup();
    await gw.start();
    const text = 'Your request has been received by the 12345 hotline. '.repeat(5).trim(); // > 160
    const r = await gw.submit(sms(text));
    expect(r.parts).toBe(2);
    const m = sim.messages[0]!;
    expect(m.text).toBe(text);
    expect(m.dataCoding).toBe(0);
    expect(m.parts.map((p) => p.udh[0]!.slice(0, 2).concat(p.udh[0]!.slice(3)))).toEqual([[0, 3, 2, 1], [0, 3, 2, 2]]);
  });

  it('delivers receipts through onReceipt with the providerMessageId that submit returned', async () => {
    const { sim, gw, receipts } = await setup({}, { receipts: 'delivered', receiptDelayMs: 10 });
    await gw.start();
    const r = await gw.submit(sms(LONG_CHINESE));
    await eventually(() => receipts.length === 3, 'three receipts');
    expect(receipts.map((x) => x.providerMessageId).sort()).toEqual([...r.providerMessageIds].sort());
    expect(receipts.every((x) => x.state === 'delivered' && x.gateway === 'smpp')).toBe(true);
    expect(receipts[0]!.detail).toBe('stat:DELIVRD err:000');

    sim.setMode({ receipts: 'failed' });
    const f = await gw.submit(sms(CHINESE));
    await eventually(() => receipts.length === 4, 'the failed receipt');
    expect(receipts[3]).toMatchObject({ providerMessageId: f.providerMessageIds[0], state: 'failed', detail: 'stat:UNDELIV err:001' });

    sim.setMode({ receipts: 'expired', receiptTlvs: true });
    const e = await gw.submit(sms(CHINESE));
    await eventually(() => receipts.length === 5, 'the expired receipt');
    expect(receipts[4]).toMatchObject({ providerMessageId: e.providerMessageIds[0], state: 'expired' });
    // each receipt delivered once, answered ESME_ROK (the resp may still be on its way)
    await eventually(() => sim.deliveries.every((d) => d.status !== null), 'the last deliver_sm_resp');
    expect(sim.deliveries.map((d) => d.status)).toEqual([0, 0, 0, 0, 0]);
  });

  it('asks for no receipt when wantReceipt is false (registered_delivery 0)', async () => {
    const { sim, gw } = await setup();
    await gw.start();
    await gw.submit(sms(CHINESE, '13800138000', { wantReceipt: false }));
    expect(sim.parts[0]!.registeredDelivery).toBe(0);
  });

  it('hands a short and a long UCS2 inbound text (上行) to onInbound once each, the long one joined from its UDH parts', async () => {
    const { sim, gw, inbound } = await setup();
    await gw.start();
    const short = '我要投诉，小区门口垃圾三天没人清运';
    const long = '您好，'.padEnd(160, '我家楼下的烧烤摊每天晚上营业到凌晨两点，油烟和噪音很大，'); // 3 parts
    const a1 = await sim.sendMo('13900001111', '12345', short);
    const a2 = await sim.sendMo('13900002222', '12345', long);
    expect(a1.map((a) => a.status)).toEqual([0]);
    expect(a2.map((a) => a.status)).toEqual([0, 0, 0]);
    await eventually(() => inbound.length >= 2, 'two inbound texts');
    await sleep(50);
    expect(inbound).toHaveLength(2);
    expect(inbound[0]).toMatchObject({ gateway: 'smpp', from: '13900001111', to: '12345', text: short });
    expect(inbound[1]).toMatchObject({ from: '13900002222', to: '12345', text: long });
    expect(inbound[0]!.providerMessageId).toMatch(/^smpp-mo-[0-9a-f]{24}$/);
    expect(inbound[0]!.providerMessageId).not.toBe(inbound[1]!.providerMessageId);
    // a GSM inbound text (data_coding 0)
    await sim.sendMo('13900003333', '12345', 'TD');
    await eventually(() => inbound.length === 3, 'the GSM text');
    expect(inbound[2]!.text).toBe('TD');
  });

  it('hands on a long inbound text whose part never came after moReassemblyMs, the gap marked, rather than losing it', async () => {
    const { sim, gw, inbound } = await setup({}, {}, { moReassemblyMs: 150 });
    await gw.start();
    const long = '您好，'.padEnd(160, '我家楼下的烧烤摊每天晚上营业到凌晨两点，油烟和噪音很大，'); // 3 parts of 67, 67, 26
    await sim.sendMo('13900002222', '12345', long, { skipParts: [2] });
    expect(inbound).toHaveLength(0); // held for the missing part
    await eventually(() => inbound.length === 1, 'the incomplete text');
    expect(inbound[0]!.text).toBe(`${long.slice(0, 67)}…${long.slice(134)}`);
  });

  it('answers ESME_RX_T_APPN when the inbound handler throws; the SMSC delivers again and nothing is lost', async () => {
    const { sim, gw } = await setup();
    const seen: string[] = [];
    let failNext = 2;
    gw.onInbound(async (m) => {
      if (failNext-- > 0) throw new Error('database away');
      seen.push(m.text);
    });
    await gw.start();
    const attempts = await sim.sendMo('13900001111', '12345', '路灯坏了');
    expect(attempts.map((a) => a.status)).toEqual([0x64, 0x64, 0]);
    expect(seen).toEqual(['路灯坏了']);
    // a long text: only its last part is refused, the held parts complete it on redelivery
    failNext = 1;
    const long = '您好，'.padEnd(100, '请问公积金提取需要哪些材料，'); // 2 parts
    const a2 = await sim.sendMo('13900002222', '12345', long);
    expect(a2.map((a) => a.status)).toEqual([0, 0x64, 0]);
    expect(seen).toEqual(['路灯坏了', long]);
  });

  it('a receipt whose handler throws is answered with an error and delivered again', async () => {
    const { sim, gw, receipts } = await setup();
    let fail = true;
    gw.onReceipt(async () => {
      if (fail) {
        fail = false;
        throw new Error('message row not stored yet');
      }
    });
    await gw.start();
    const r = await gw.submit(sms(CHINESE));
    await eventually(() => sim.deliveries.some((d) => d.status === 0), 'the receipt taken');
    expect(sim.deliveries.map((d) => d.status)).toEqual([0x64, 0]);
    // the collecting handler (registered first) saw it both times; the id is the submit's
    expect(receipts.map((x) => x.providerMessageId)).toEqual([r.providerMessageIds[0], r.providerMessageIds[0]]);
  });

  it('a throttled submit is a retryable SMPP_THROTTLED; the next one goes through', async () => {
    const { sim, gw } = await setup({}, { throttle: 1 });
    await gw.start();
    const e = await rejection(gw.submit(sms(CHINESE)));
    expect(e.code).toBe('SMPP_THROTTLED');
    expect(e.retryable).toBe(true);
    await gw.submit(sms(CHINESE));
    expect(sim.messages.map((m) => m.acknowledged)).toEqual([false, true]);
  });

  it('an invalid destination (ESME_RINVDSTADR 0x0B) is not retryable; a full SMSC queue (0x14) is', async () => {
    const { gw } = await setup({}, { rejectDestinations: { '10000000000': 0x0b, '13000000000': 0x14, '13100000000': 0x66 } });
    await gw.start();
    const bad = await rejection(gw.submit(sms(CHINESE, '10000000000')));
    expect(bad).toMatchObject({ code: 'SMPP_REJECTED_0B', retryable: false });
    const full = await rejection(gw.submit(sms(CHINESE, '13000000000')));
    expect(full).toMatchObject({ code: 'SMPP_QUEUE_FULL', retryable: true });
    const refused = await rejection(gw.submit(sms(CHINESE, '13100000000')));
    expect(refused).toMatchObject({ code: 'SMPP_REJECTED_66', retryable: false });
  });

  it('a submit the SMSC never answers times out (retryable SMPP_TIMEOUT) and frees its window slot', async () => {
    const { sim, gw } = await setup({ submitTimeoutMs: 300, windowSize: 1 }, { answerSubmits: false });
    await gw.start();
    const e = await rejection(gw.submit(sms(CHINESE)));
    expect(e).toMatchObject({ code: 'SMPP_TIMEOUT', retryable: true });
    expect(gw.health().up).toBe(true);
    sim.setMode({ answerSubmits: true });
    await gw.submit(sms(CHINESE)); // the window of 1 is free again
    expect(sim.messages.filter((m) => m.acknowledged)).toHaveLength(1);
  });

  it('never has more than windowSize submit_sm outstanding, and does fill the window', async () => {
    const { sim, gw } = await setup({ windowSize: 3 }, { submitDelayMs: 15 });
    await gw.start();
    const texts = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? `${i}:${LONG_CHINESE}` : `第${i}条：${CHINESE}`));
    const results = await Promise.all(texts.map((t) => gw.submit(sms(t))));
    expect(results.reduce((s, r) => s + r.parts, 0)).toBe(sim.parts.length);
    expect(sim.stats.maxOutstanding).toBe(3);
    expect(sim.messages.map((m) => m.text).sort()).toEqual([...texts].sort());
  });

  it('an SMSC that drops the link with a full window: every submit in flight rejects retryable, the gateway reconnects, nothing acknowledged is seen twice', async () => {
    const { sim, gw } = await setup({ windowSize: 4 });
    await gw.start();
    const before = ['一', '二', '三'].map((x) => `第${x}条通知：${CHINESE}`);
    for (const t of before) await gw.submit(sms(t));

    sim.setMode({ dropWhenOutstanding: 4 });
    const during = Array.from({ length: 7 }, (_, i) => `重发测试${i}：${CHINESE}`);
    const outcomes = await Promise.allSettled(during.map((t) => gw.submit(sms(t))));
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    for (const o of outcomes) {
      const e = (o as PromiseRejectedResult).reason;
      expect(e).toBeInstanceOf(GatewayError);
      expect(e.retryable).toBe(true);
      expect(e.code).toBe('SMPP_LINK_DOWN');
    }
    expect(sim.stats.drops).toBe(1);
    expect(sim.parts.filter((p) => p.answered === null)).toHaveLength(4); // held in the window, never answered

    await eventually(() => gw.health().up && sim.stats.binds === 2, 'the gateway bound again');
    // the service retries what failed
    for (const t of during) await gw.submit(sms(t));
    const acked = sim.messages.filter((m) => m.acknowledged).map((m) => m.text);
    expect(acked).toHaveLength(10);
    expect(new Set(acked).size).toBe(acked.length);
    expect([...acked].sort()).toEqual([...before, ...during].sort());
  });

  it('sends enquire_link every enquireLinkMs and keeps one bound link', async () => {
    const { sim, gw } = await setup({ enquireLinkMs: 100 });
    await gw.start();
    await eventually(() => sim.stats.enquireLinks >= 3, 'three enquire_link', 5000);
    expect(sim.stats.binds).toBe(1);
    expect(gw.health().up).toBe(true);
    await gw.submit(sms(CHINESE));
  });

  it('treats a link whose enquire_link gets no answer as dead: drops it, fails what is in flight and binds again', async () => {
    const { sim, gw } = await setup({ enquireLinkMs: 100, submitTimeoutMs: 400 }, { answerEnquireLink: false, answerSubmits: false });
    await gw.start();
    const pending = gw.submit(sms(CHINESE)).catch((e: unknown) => e);
    await eventually(() => sim.stats.binds === 2, 'a second bind', 5000);
    const e = (await pending) as GatewayError;
    expect(e).toBeInstanceOf(GatewayError);
    expect(e.retryable).toBe(true);
    sim.setMode({ answerEnquireLink: true, answerSubmits: true });
    await eventually(() => gw.health().up, 'bound');
    await gw.submit(sms(CHINESE));
  });

  it('retries refused binds with backoff; start() returns without waiting for the link', async () => {
    const { sim, gw } = await setup({}, { refuseBinds: 2 });
    await gw.start();
    expect(gw.health().up).toBe(false);
    const e = await rejection(gw.submit(sms(CHINESE)));
    expect(e).toMatchObject({ code: 'SMPP_NOT_BOUND', retryable: true });
    await eventually(() => gw.health().up, 'bound at the third attempt');
    expect(sim.stats.bindAttempts).toBe(3);
    await gw.submit(sms(CHINESE));
  });

  it('a wrong password is refused and the gateway stays down', async () => {
    const { sim, gw } = await setup({ password: 'wrong' });
    await gw.start();
    await eventually(() => sim.stats.bindAttempts >= 2, 'a second attempt');
    expect(gw.health()).toMatchObject({ up: false });
    expect(gw.health().detail).toMatch(/bind refused \(0x0E\)/);
    expect(sim.stats.binds).toBe(0);
  });

  it('answers an unbind from the SMSC and binds again', async () => {
    const { sim, gw } = await setup();
    await gw.start();
    sim.unbindAll();
    await eventually(() => sim.stats.binds === 2 && gw.health().up, 'bound again');
    await gw.submit(sms(CHINESE));
    expect(sim.messages[0]!.session).toBe(2);
  });

  it('close() unbinds, stops reconnecting, and later submits fail retryable', async () => {
    const { sim, gw } = await setup();
    await gw.start();
    await gw.close();
    expect(sim.stats.unbinds).toBe(1);
    expect(gw.health().up).toBe(false);
    await sleep(200);
    expect(sim.stats.bindAttempts).toBe(1);
    const e = await rejection(gw.submit(sms(CHINESE)));
    expect(e).toMatchObject({ code: 'SMPP_CLOSED', retryable: true });
  });
});
