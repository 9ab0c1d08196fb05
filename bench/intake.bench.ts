import { createIntakeService, type NewTicket } from '../intake';
import { newId, toDbTime, FixedClock, Role, type Actor } from '../core';
import type { TicketRow } from '../intake';
import { benchDatabase, timeIt, fmt, type BenchResult } from './harness';

const agent: Actor = { kind: 'user', id: 'bench-agent', name: 'bench', role: Role.agent, cityId: 'bench', unitId: null, territoryId: null, territoryPath: null };

/**
 * Ticket creation through the intake service (validation, citizen upsert, numbering, audit row, one
 * transaction each; numbers in blocks as the product's default TICKET_NUMBER_BLOCK takes them) against raw inserts of the same ticket rows, one transaction each, in the same process.
 */
export async function benchIntake(kind: 'sqlite' | 'mysql', n: number, numberBlockSize = 20): Promise<BenchResult> {
  const database = await benchDatabase(kind);
  try {
    const clock = new FixedClock(new Date('2025-10-09T02:00:00Z'));
    const intake = createIntakeService({
      db: database.db, dialect: database.dialect, clock, numberBlockSize,
      lookups: {
        territory: async () => ({ id: 't', cityId: 'bench', name: '白龙街道', level: 'street', path: '/d/t/' }),
        unit: async () => ({ id: 'water', cityId: 'bench', name: '自来水公司', active: true }),
        category: async () => null,
      },
    });
    const input = (i: number): NewTicket => ({
      channel: 'phone', type: 'help', urgency: 'normal', callerPhone: `138${String(10_000_000 + (i % 5000)).padStart(8, '0')}`,
      occurredAt: '2025-10-09T09:30:00+08:00', addressText: `美兰区白龙南路${i}号`, territoryId: 't',
      parties: '来电人', situation: '楼下水管漏水，路面积水已有两天', demand: '尽快派人维修', handlingUnitId: 'water',
    });
    // Warm-up: JIT, statement caches, the sequence row.
    for (let i = 0; i < 50; i++) await intake.createTicket({ actor: agent }, input(i));

    const raw = (i: number): TicketRow => ({
      id: newId(), city_id: 'bench', number: `R${String(i).padStart(12, '0')}`, status: 'accepted', version: 1, channel: 'phone', type: 'help',
      urgency: 'normal', category_id: null, citizen_id: null, caller_phone: input(i).callerPhone!, citizen_name: null, confidential: 0, title: null,
      occurred_at: '2025-10-09 01:30:00.000', address_text: input(i).addressText!, territory_id: 't', territory_path: '/d/t/', lat: null, lng: null,
      parties: '来电人', situation: '楼下水管漏水，路面积水已有两天', demand: '尽快派人维修', handling_unit_id: 'water', call_id: null,
      merged_into_id: null, answer: null, result: null, round: 1, satisfaction: null, created_by: 'bench-agent',
      created_at: toDbTime(clock.now()), updated_at: toDbTime(clock.now()), closed_at: null,
      routing_rule: null, responsibility_version_id: null, planned_unit_id: null,
    });
    // The two runs alternate in ten rounds, so that a busy machine slows both alike and the ratio holds.
    let serviceMs = 0;
    let rawMs = 0;
    const rounds = 10;
    const per = Math.ceil(n / rounds);
    for (let round = 0; round < rounds; round++) {
      const from = round * per;
      const to = Math.min(n, from + per);
      serviceMs += await timeIt(async () => {
        for (let i = from; i < to; i++) await intake.createTicket({ actor: agent }, input(i));
      });
      rawMs += await timeIt(async () => {
        for (let i = from; i < to; i++) {
          const row = raw(i);
          await database.db.transaction().execute((trx) => trx.insertInto('tickets').values(row).execute());
        }
      });
    }
    return {
      name: `intake.createTicket vs raw insert (${kind}, numbers taken ${numberBlockSize} at a time)`,
      tickets: n,
      serviceTicketsPerSec: fmt((n / serviceMs) * 1000, 0),
      rawInsertsPerSec: fmt((n / rawMs) * 1000, 0),
      // How many times slower than a bare insert: the price of validation, numbering, citizen and audit.
      ratioServiceToRaw: fmt(serviceMs / rawMs),
    };
  } finally {
    await database.dispose();
  }
}
