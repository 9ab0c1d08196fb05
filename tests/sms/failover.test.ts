import { describe, it, expect, afterEach } from 'vitest';
import { createGatewaysFromConfig, createFailoverGateway, withRateLimit } from '../../sms/gateways';
import { GatewayError, type DeliveryReceipt, type GatewayConfig, type InboundSms, type OutboundSms, type SmsGateway } from '../../sms';
import { startSmscSimulator, type SmscSimulator } from '../helpers/smsc-simulator';
import { until } from '../helpers/until';

/** Failover down the configured gateways (real SMPP links to two SMSCs on loopback) and the rate limit. */

const sims: SmscSimulator[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const eventually = (pred: () => boolean, what: string, timeoutMs = 8000) => until(pred, what, timeoutMs).then(() => undefined);

const smppConfig = (name: string, sim: SmscSimulator): GatewayConfig => ({
  kind: 'smpp', name, url: sim.url, systemId: sim.systemId, password: sim.password, systemType: '', sourceAddr: '12345',
  windowSize: 4, enquireLinkMs: 30_000, submitTimeoutMs: 2000, ratePerSecond: 1000,
});

async function twoSmscs() {
  const primary = await startSmscSimulator();
  const backup = await startSmscSimulator();
  sims.push(primary, backup);
  const gw = createGatewaysFromConfig([smppConfig('primary', primary), smppConfig('backup', backup)]);
  closers.push(() => gw.close());
  await gw.start();
  return { primary, backup, gw };
}

let n = 0;
const sms = (text: string, to = '13800138000'): OutboundSms => ({ id: `01FAIL${++n}`, to, from: null, text });
const TEXT = '您的工单已办结，请回复1满意、2基本满意、3不满意。';

describe('failover gateway', () => {
  it('takes the primary while it works; a throttled primary hands the text to the backup, and the result names it', async () => {
    const { primary, backup, gw } = await twoSmscs();
    expect(gw.name).toBe('primary,backup');
    expect(gw.idempotent).toBe(false);
    const first = await gw.submit(sms(TEXT));
    expect(first.gateway).toBe('primary');

    primary.setMode({ throttle: 1 });
    const second = await gw.submit(sms(`${TEXT}（二）`));
    expect(second.gateway).toBe('backup');
    expect(backup.messages.map((m) => m.text)).toEqual([`${TEXT}（二）`]);
    expect(second.providerMessageIds).toEqual(backup.messages[0]!.messageIds);
    expect(primary.messages.map((m) => m.acknowledged)).toEqual([true, false]);
  });

  it('skips a primary that is down (health) without trying it', async () => {
    const { primary, backup, gw } = await twoSmscs();
    await primary.close();
    sims.splice(sims.indexOf(primary), 1);
    await eventually(() => !gw.members[0]!.health().up, 'the primary down');
    expect(gw.health().up).toBe(true);
    expect(gw.health().detail).toMatch(/primary: down.*backup: up/);
    const r = await gw.submit(sms(TEXT));
    expect(r.gateway).toBe('backup');
    expect(backup.messages).toHaveLength(1);
  });

  it('does not try a gateway whose health says down, even one that would take the text', async () => {
    const down = recordingGateway('down');
    down.gateway.health = () => ({ up: false, detail: 'not bound' });
    const up = recordingGateway('up');
    const gw = createFailoverGateway([down.gateway, up.gateway]);
    const r = await gw.submit(sms(TEXT));
    expect(r.gateway).toBe('up');
    expect(down.seen).toEqual([]);
    expect(up.seen).toHaveLength(1);
  });

  it('does not fail over on a non-retryable refusal (invalid number): the error is thrown, the backup sees nothing', async () => {
    const { primary, backup, gw } = await twoSmscs();
    primary.setMode({ rejectDestinations: { '10000000000': 0x0b } });
    const e = await gw.submit(sms(TEXT, '10000000000')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GatewayError);
    expect(e).toMatchObject({ code: 'SMPP_REJECTED_0B', retryable: false });
    expect(backup.stats.submits).toBe(0);
  });

  it('when every gateway fails retryably, the error is retryable and names them', async () => {
    const { primary, backup, gw } = await twoSmscs();
    primary.setMode({ throttle: 1 });
    backup.setMode({ rejectDestinations: { '13800138000': 0x14 } });
    const e = (await gw.submit(sms(TEXT)).catch((x: unknown) => x)) as GatewayError;
    expect(e).toBeInstanceOf(GatewayError);
    expect(e.retryable).toBe(true);
    expect(e.code).toBe('SMPP_QUEUE_FULL');
    expect(e.message).toMatch(/primary: SMPP_THROTTLED; backup: SMPP_QUEUE_FULL/);
  });

  it('fans receipts and inbound texts of every gateway out to the handlers', async () => {
    const { backup, gw } = await twoSmscs();
    const receipts: DeliveryReceipt[] = [];
    const inbound: InboundSms[] = [];
    gw.onReceipt(async (r) => { receipts.push(r); });
    gw.onInbound(async (m) => { inbound.push(m); });
    const a = await gw.submit(sms(TEXT));
    await backup.sendMo('13900001111', '12345', '2');
    await eventually(() => receipts.length === 1 && inbound.length === 1, 'a receipt and an inbound text');
    expect(receipts[0]).toMatchObject({ gateway: 'primary', providerMessageId: a.providerMessageIds[0], state: 'delivered' });
    expect(inbound[0]).toMatchObject({ gateway: 'backup', from: '13900001111', text: '2' });
  });

  it('is idempotent only when every gateway is', () => {
    const fake = (name: string, idempotent: boolean) => recordingGateway(name, idempotent).gateway;
    expect(createFailoverGateway([fake('a', true), fake('b', true)]).idempotent).toBe(true);
    expect(createFailoverGateway([fake('a', true), fake('b', false)]).idempotent).toBe(false);
  });
});

/** An in-memory gateway that records the order of submits (for the rate limit; no SMSC needed). */
function recordingGateway(name = 'rec', idempotent = true) {
  const seen: string[] = [];
  const gateway: SmsGateway = {
    name, idempotent,
    async start() {},
    async submit(msg) {
      seen.push(msg.id);
      return { providerMessageIds: [`p-${msg.id}`], parts: 1 };
    },
    onReceipt() {},
    onInbound() {},
    health: () => ({ up: true }),
    async close() {},
  };
  return { gateway, seen };
}

describe('rate limit', () => {
  it('holds submits beyond the bucket and lets them out in the order they came', async () => {
    const { gateway, seen } = recordingGateway();
    const limited = withRateLimit(gateway, 5);
    const ids = Array.from({ length: 8 }, (_, i) => `m${i}`);
    const done = Promise.all(ids.map((id) => limited.submit({ id, to: '13800138000', from: null, text: 'hi' })));
    await new Promise((r) => setImmediate(r));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(8); // a bucket of 5: the rest wait for tokens
    const results = await done;
    expect(seen).toEqual(ids);
    expect(results.map((r) => r.providerMessageIds[0])).toEqual(ids.map((id) => `p-${id}`));
  });

  it('a long text takes one token per part', async () => {
    const { gateway, seen } = recordingGateway();
    const limited = withRateLimit(gateway, 3);
    const long = '您好'.repeat(75); // 150 UCS2 units: 3 parts, the whole bucket
    const a = limited.submit({ id: 'long', to: '13800138000', from: null, text: long });
    const b = limited.submit({ id: 'short', to: '13800138000', from: null, text: 'hi' });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['long']);
    await Promise.all([a, b]);
    expect(seen).toEqual(['long', 'short']);
  });

  it('close() rejects the submits still waiting for a token (retryable), none reaches the gateway', async () => {
    const { gateway, seen } = recordingGateway();
    const limited = withRateLimit(gateway, 1);
    const all = ['a', 'b', 'c'].map((id) => limited.submit({ id, to: '13800138000', from: null, text: 'hi' }).then(() => 'sent', (e: GatewayError) => e.code));
    await new Promise((r) => setImmediate(r));
    await limited.close();
    expect(await Promise.all(all)).toEqual(['sent', 'SMS_GATEWAY_CLOSED', 'SMS_GATEWAY_CLOSED']);
    expect(seen).toEqual(['a']);
  });

  it('createGatewaysFromConfig puts each gateway under its rate and behind failover, also alone', async () => {
    const sim = await startSmscSimulator();
    sims.push(sim);
    const gw = createGatewaysFromConfig([{ ...smppConfig('smpp', sim), ratePerSecond: 2 } as GatewayConfig]);
    closers.push(() => gw.close());
    await gw.start();
    const texts = ['一', '二', '三', '四'].map((x) => `第${x}条`);
    const submits = texts.map((t) => gw.submit(sms(t)));
    await eventually(() => sim.messages.length >= 2, 'the first two');
    await sleep(20);
    expect(sim.messages.length).toBeLessThan(4);
    const results = await Promise.all(submits);
    expect(results.every((r) => r.gateway === 'smpp')).toBe(true);
    expect(sim.messages.map((m) => m.text)).toEqual(texts);
  });
});
