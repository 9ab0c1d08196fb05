/**
 * A node killed between the gateway's acceptance of a text and the commit that records it (kill -9,
 * a real child process). The text is never lost: its row stays leased, and once the lease has run
 * out another node submits it again under the same message id. A provider that de-duplicates by
 * that id (the webhook contract) sends it once; SMPP cannot de-duplicate, so the SMSC gets it twice
 * and the audit trail says so (`sms.resubmitted`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock, newId, toDbTime } from '../../core';
import { createSmsService, createGateway, type GatewayConfig } from '../../sms';
import { listAudit } from '../../audit';
import { testDialect } from '../helpers/db';
import { runChildUntil, sharedDatabase } from '../helpers/child';
import { startSmscSimulator, type SmscSimulator } from '../helpers/smsc-simulator';
import { startSmsProvider, type SmsProviderStandIn } from '../helpers/sms-provider';

describe(`a crash between submit and commit loses no text (${testDialect})`, () => {
  let shared: Awaited<ReturnType<typeof sharedDatabase>>;
  let sim: SmscSimulator;
  let provider: SmsProviderStandIn;

  beforeAll(async () => {
    shared = await sharedDatabase();
    sim = await startSmscSimulator({ systemId: 'hotline', password: 'secret12' });
    provider = await startSmsProvider();
  }, 60_000);

  afterAll(async () => {
    await sim?.close();
    await provider?.close();
    await shared?.cleanup();
  });

  async function queued(text: string) {
    const id = newId();
    const now = toDbTime(new Date(Date.now() - 1000));
    await shared.database.db.insertInto('sms_messages').values({
      id, city_id: 'demo', kind: 'ticket.receipt', recipient_kind: 'citizen', unit_id: null, phone: '13912345678', body: text, context: null, parts: 1,
      state: 'queued', source_key: `crash:${id}`, ticket_id: null, work_order_id: null, confidential: 0, gateway: null, provider_message_id: null,
      attempts: 0, next_attempt_at: now, lease_until: null, claim_token: null, last_error: null, expires_at: toDbTime(new Date(Date.now() + 86_400_000)),
      created_at: now, updated_at: now, submitted_at: null, delivered_at: null,
    }).execute();
    return id;
  }

  function survivor(cfg: GatewayConfig, clock: FixedClock) {
    const gateway = createGateway(cfg);
    const sms = createSmsService({
      db: shared.database.db, dialect: shared.database.dialect, clock, gateway, sender: '12345', quietHours: null, maxAttempts: 8, expireHours: 24,
      lookups: { citySms: async () => ({ signature: '【演示市12345】', templates: {} }), defaultCityId: async () => 'demo', unit: async () => null, unitsByPhone: async () => [], ticket: async () => null, canSeeTicket: async () => false },
      commands: {} as never,
    });
    return { gateway, sms };
  }

  const row = (id: string) => shared.database.db.selectFrom('sms_messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('through a provider that de-duplicates by message id: sent once, recorded once', async () => {
    const text = '【演示市12345】您反映的问题已受理，工单编号A-1。';
    const id = await queued(text);
    const { killed, output } = await runChildUntil('tests/sms/fixtures/sms-crash-child.ts', [shared.url, 'webhook', provider.url], 'SUBMITTED');
    expect(killed, output).toBe(true);
    expect(provider.sent.filter((s) => s.outId === id)).toHaveLength(1);
    expect((await row(id)).state).toBe('submitting');

    const clock = new FixedClock(new Date(Date.now() + 5_000));
    const { gateway, sms } = survivor({ kind: 'webhook', name: 'webhook', url: provider.url, secret: 's', signName: null, timeoutMs: 5_000, ratePerSecond: 1000, callbackToken: null }, clock);
    await gateway.start();
    // While the dead node's lease runs, nobody takes the text.
    expect(await sms.deliverDue()).toBe(0);
    clock.set(new Date(Date.now() + 61_000));
    expect(await sms.deliverDue()).toBe(1);
    const after = await row(id);
    expect(after).toMatchObject({ state: 'submitted', gateway: 'webhook', provider_message_id: provider.sent.find((s) => s.outId === id)!.bizId, attempts: 2 });
    // Submitted twice, sent once: the provider kept one text for the id.
    expect(provider.submits).toBeGreaterThanOrEqual(2);
    expect(provider.sent.filter((s) => s.outId === id)).toHaveLength(1);
    const audit = await listAudit(shared.database.db, 'sms', id);
    expect(audit.map((a) => a.action)).toContain('sms.resubmitted');
    await gateway.close();
  }, 120_000);

  it('over SMPP (no de-duplication): the text goes again rather than being lost, and the audit says so', async () => {
    const text = '【演示市12345】您反映的问题已受理，工单编号B-2。';
    const id = await queued(text);
    const { killed, output } = await runChildUntil('tests/sms/fixtures/sms-crash-child.ts', [shared.url, 'smpp', sim.url], 'SUBMITTED');
    expect(killed, output).toBe(true);
    expect(sim.messages.filter((m) => m.text === text)).toHaveLength(1);

    const clock = new FixedClock(new Date(Date.now() + 61_000));
    const { gateway, sms } = survivor({ kind: 'smpp', name: 'smpp', url: sim.url, systemId: 'hotline', password: 'secret12', systemType: '', sourceAddr: '12345', windowSize: 10, enquireLinkMs: 30_000, submitTimeoutMs: 5_000, ratePerSecond: 1000 }, clock);
    await gateway.start();
    expect(await sms.deliverDue()).toBe(1);
    expect(await row(id)).toMatchObject({ state: 'submitted', gateway: 'smpp', attempts: 2 });
    expect(sim.messages.filter((m) => m.text === text)).toHaveLength(2);
    const audit = await listAudit(shared.database.db, 'sms', id);
    expect(audit.find((a) => a.action === 'sms.resubmitted')?.after).toMatchObject({ idempotentGateway: false });
    // Settled: a later run sends nothing more.
    clock.set(new Date(Date.now() + 600_000));
    expect(await sms.deliverDue()).toBe(0);
    await gateway.close();
  }, 120_000);
});
