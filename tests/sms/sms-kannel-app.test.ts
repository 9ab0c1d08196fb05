/**
 * The hotline on Debian's Kannel, both ways through the product's own routes: a citizen's receipt
 * leaves through smsbox's sendsms and reaches the handset (fakesmsc) as UCS2, Kannel's delivery report
 * comes back to /sms/gateways/kannel/receipt and marks it delivered; a text typed on a handset comes in
 * through the get-url to /sms/gateways/kannel/inbound, waits for an agent, and is answered through Kannel.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, type Scenario } from '../workorders/helpers';
import { kannelMissing, mtText, startKannel, type KannelHarness } from '../helpers/kannel';
import { kannelCallbackUrlTemplate } from '../../sms/gateways/kannel';
import { testConfig } from '../../app/config';
import { until } from '../helpers/until';

const TOKEN = 'kannel-callback-token-0123456789';
const missing = kannelMissing();

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}


describe.skipIf(!!missing)(`the hotline on Kannel, both ways${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let kannel: KannelHarness;
  let s: Scenario;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    kannel = await startKannel({ getUrl: () => kannelCallbackUrlTemplate(base, TOKEN) });
    s = await startScenario(undefined, {
      sms: {
        ...testConfig().sms,
        callbackBaseUrl: base,
        gateways: [{
          kind: 'kannel', name: 'kannel', sendsmsUrl: kannel.sendsmsUrl, username: kannel.username, password: kannel.password,
          dlrUrl: `${base}/api/v1/sms/gateways/kannel/receipt?token=${TOKEN}`, smsc: null, timeoutMs: 5_000, ratePerSecond: 100, callbackToken: TOKEN,
        }],
      },
    });
    await s.t.app.listen({ port, host: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    await s?.t.close();
    await kannel?.stop();
  });

  const rowsTo = (phone: string) => s.t.ctx.database.db.selectFrom('sms_messages').selectAll().where('phone', '=', phone).execute();

  it('a receipt to the citizen reaches the handset in UCS2 and Kannel\'s report marks it delivered', async () => {
    const t = await s.newTicket({ callerPhone: '13911114001' });
    const lines = await kannel.waitForMt((mt) => {
      const hit = mt.filter((l) => l.to === '13911114001' && mtText(l).includes(t.number));
      return hit.length ? hit : null;
    }, 'the receipt at the handset');
    expect(lines[0]!.type).toBe('ucs-2');
    expect(mtText(lines[0]!)).toBe(`【演示市12345】您反映的问题已受理，工单编号${t.number}，我们将尽快转交有关单位办理。`);
    const [m] = await until(async () => {
      const rows = await rowsTo('13911114001');
      return rows[0]?.state === 'delivered' ? rows : null;
    }, 'delivered by Kannel\'s report');
    expect(m).toMatchObject({ gateway: 'kannel', provider_message_id: m!.id });
  }, 60_000);

  it('a text from a handset arrives through the get-url, waits for an agent, and is answered through Kannel', async () => {
    kannel.injectMo('13911114002', '12345', '幸福路口红绿灯坏了');
    const row = await until(async () => s.t.ctx.database.db.selectFrom('sms_inbound').selectAll().where('from_phone', '=', '13911114002').where('status', '!=', 'processing').executeTakeFirst(), 'the inbound text handled');
    expect(row).toMatchObject({ gateway: 'kannel', body: '幸福路口红绿灯坏了', status: 'awaiting_agent' });
    await kannel.waitForMt((mt) => {
      const hit = mt.filter((l) => l.to === '13911114002' && mtText(l).includes('您的短信已收到'));
      return hit.length ? hit : null;
    }, 'the reply at the handset');
  }, 60_000);

  it('a callback without the token is refused and changes nothing', async () => {
    const res = await fetch(`${base}/api/v1/sms/gateways/kannel/inbound?token=wrong&from=13911114003&to=12345&text=x&id=abc&charset=UTF-8&coding=0`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'SMS_CALLBACK_TOKEN' });
    expect(await s.t.ctx.database.db.selectFrom('sms_inbound').selectAll().where('from_phone', '=', '13911114003').execute()).toHaveLength(0);
  });
});
