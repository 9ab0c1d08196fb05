import smpp from 'smpp';
import { FixedClock, newId, toDbTime } from '../core';
import { createWorkOrderService } from '../workorders';
import { createSmsService, createGateway } from '../sms';
import { startSmscSimulator } from '../tests/helpers/smsc-simulator';
import { benchDatabase, timeIt, fmt, type BenchResult } from './harness';

const WINDOW = 10;
const TEXT = (i: number) => `【演示市12345】工单B${i}：滨江路噪音扰民。地点：滨江路1号。请于10月9日12:00前签收。回复“签收 123456”签收。`;

/** The same texts submitted straight through the smpp package's client, `WINDOW` in flight: the baseline. */
async function directSubmits(url: string, n: number): Promise<number> {
  const u = new URL(url);
  const session = smpp.connect({ host: u.hostname, port: Number(u.port) });
  await new Promise<void>((resolve, reject) => {
    session.on('error', reject);
    session.bind_transceiver({ system_id: 'hotline', password: 'secret12' }, (pdu) => (pdu.command_status === 0 ? resolve() : reject(new Error(`bind ${pdu.command_status}`))));
  });
  const ms = await timeIt(async () => {
    let next = 0;
    await Promise.all(Array.from({ length: WINDOW }, async () => {
      while (next < n) {
        const i = next++;
        const body = Buffer.from(TEXT(i), 'utf16le').swap16();
        await new Promise<void>((resolve, reject) => session.submit_sm({ destination_addr: '13900000002', source_addr: '12345', data_coding: 8, registered_delivery: 0, short_message: body }, (pdu) => (pdu.command_status === 0 ? resolve() : reject(new Error(String(pdu.command_status))))));
      }
    }));
  });
  await new Promise<void>((r) => session.unbind(() => { session.close(); r(); }));
  return ms;
}

/**
 * SMS out: `n` work-order notices from the notification outbox's SMS sink to the SMSC simulator over
 * SMPP — each a message row queued once per notice, leased, rendered from its template, submitted,
 * and recorded with its provider id and audit rows — against the smpp client submitting the same
 * texts directly (same window), in the same process.
 */
export async function benchSms(kind: 'sqlite' | 'mysql', n: number): Promise<BenchResult> {
  const database = await benchDatabase(kind);
  const sim = await startSmscSimulator({ systemId: 'hotline', password: 'secret12', mode: { receipts: 'none' } });
  try {
    const directMs = await directSubmits(sim.url, n);
    const gateway = createGateway({ kind: 'smpp', name: 'smpp', url: sim.url, systemId: 'hotline', password: 'secret12', systemType: '', sourceAddr: '12345', windowSize: WINDOW, enquireLinkMs: 30_000, submitTimeoutMs: 10_000, ratePerSecond: 100_000 });
    await gateway.start();
    const clock = new FixedClock(new Date('2025-10-09T02:00:00Z'));
    const sms = createSmsService({
      db: database.db, dialect: database.dialect, clock, gateway, sender: '12345', quietHours: null, maxAttempts: 8, expireHours: 24,
      lookups: {
        citySms: async () => ({ signature: '【演示市12345】', templates: {} }), defaultCityId: async () => 'bench',
        unit: async (id) => ({ id, cityId: 'bench', name: '演示市城市管理局', smsPhone: '13900000002', dutyPhone: null }),
        unitsByPhone: async () => [], ticket: async () => null, canSeeTicket: async () => false,
      },
      commands: {} as never,
    });
    const notUsed = () => { throw new Error('not used by the SMS bench'); };
    const workOrders = createWorkOrderService({
      db: database.db, clock, nodeId: 'bench',
      tickets: { addParticipant: () => {}, transitionWithin: notUsed, prepareTransition: notUsed, getTicketRow: notUsed, statusWithin: notUsed, view: notUsed },
      lookups: { cityClock: notUsed, cityRules: notUsed, categoryFacts: notUsed, unit: notUsed },
      storage: { kind: 'disk', put: notUsed, get: notUsed, delete: notUsed },
    });
    workOrders.addSink({ deliver: (n) => sms.deliverNotice(n), deliverBatch: (ns) => sms.deliverNotices(ns) });
    // n work-order notices in the outbox, as dispatches leave them.
    const created = toDbTime(new Date(clock.now().getTime() - 1000));
    for (let from = 0; from < n; from += 500) {
      await database.db.insertInto('notification_outbox').values(Array.from({ length: Math.min(500, n - from) }, (_, k) => {
        const i = from + k;
        return {
          id: newId(), city_id: 'bench', event: 'workorder.dispatched', recipient_kind: 'unit', recipient_id: `unit-${i % 40}`, ticket_id: null, work_order_id: `wo-${i}`,
          act_by: '2025-10-09 04:00:00.000', payload: JSON.stringify({ ticketNumber: `B${i}`, title: '滨江路噪音扰民' }), dedup_key: `bench:${i}`,
          status: 'pending', claim_token: null, created_at: created, delivered_at: null, lease_until: null, attempts: 0, last_error: null,
        };
      })).execute();
    }
    const before = sim.messages.length;
    let queueMs = 0;
    const oursMs = await timeIt(async () => {
      queueMs = await timeIt(async () => { await workOrders.deliverOutbox(); });
      while ((await sms.deliverDue({ limit: 500 })) > 0) { /* until every row is settled */ }
    });
    const sent = sim.messages.length - before;
    const submitted = await database.db.selectFrom('sms_messages').select((eb) => eb.fn.countAll<number>().as('c')).where('state', '=', 'submitted').executeTakeFirstOrThrow();
    await gateway.close();
    return {
      name: `sms.outbox_to_smsc.${kind}`, messages: n, sent, submitted: Number(submitted.c), window: WINDOW,
      oursPerSec: fmt(n / (oursMs / 1000), 0), outboxToRowsPerSec: fmt(n / (queueMs / 1000), 0), sendPerSec: fmt(n / ((oursMs - queueMs) / 1000), 0), directPerSec: fmt(n / (directMs / 1000), 0), ratio: fmt(directMs / oursMs, 3),
      note: 'ours: outbox run → SMS sink (codes, rendered rows, audit; one transaction per run) → lease → submit_sm → recorded (+audit, batched); direct: the smpp client alone, same texts and window',
    };
  } finally {
    await sim.close();
    await database.dispose();
  }
}
