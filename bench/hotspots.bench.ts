import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { createIntakeService, type IntakeEvents, type NewTicket } from '../intake';
import { EventBus, FixedClock, Role, type Actor } from '../core';
import type { DB } from '../db';
import { createHotspotService } from '../reports/hotspots';
import { benchDatabase, timeIt, fmt, type BenchResult } from './harness';

const agent: Actor = { kind: 'user', id: 'bench-agent', name: 'bench', role: Role.agent, cityId: 'bench', unitId: null, territoryId: null, territoryPath: null };

/**
 * Ticket registration with the hotspot counts kept in its transaction (4 groups a ticket) and the
 * touched groups evaluated after it, against the same registrations without hotspots, in one
 * process over one database. The registrations spread over 20 communities × 5 categories, from
 * 5,000 numbers, so groups cross the warning thresholds as the run goes (raises included).
 */
export async function benchHotspots(kind: 'sqlite' | 'mysql', n: number, debounceMs = 1000): Promise<BenchResult> {
  const database = await benchDatabase(kind);
  try {
    const clock = new FixedClock(new Date('2025-10-09T02:00:00Z'));
    const lookups = {
      territory: async (id: string) => ({ id, cityId: 'bench', name: id, level: 'grid', path: `/d/s${Number(id.slice(1)) % 3}/${id.replace('g', 'c')}/${id}/` }),
      unit: async () => ({ id: 'water', cityId: 'bench', name: '自来水公司', active: true }),
      category: async (id: string) => ({ id, cityId: 'bench', code: id, name: id }),
    };
    const plain = createIntakeService({ db: database.db, dialect: database.dialect, clock, lookups });
    const events = new EventBus<IntakeEvents, Kysely<DB>>();
    const counted = createIntakeService({ db: database.db, dialect: database.dialect, clock, lookups, events });
    const hotspots = createHotspotService({
      db: database.db, dialect: database.dialect, clock, debounceMs,
      ports: {
        categoryPathWithin: async (_trx, id) => `/k1/k1${id.slice(-1)}/${id}/`,
        rawSettings: async () => ({}), cityIds: async () => ['bench'], categoryName: async (_c, id) => id, territoryName: async (id) => id,
        recipientsOf: async () => [],
        feed: { stageWithin: async () => '', releaseStaged: async () => 0, publish: async () => 0 },
        tickets: { view: async () => null, createProactive: async () => ({ id: '', number: '' }), link: async () => {} },
      },
    });
    const evaluations: (Promise<unknown> | void)[] = [];
    const touched = new WeakMap<object, Awaited<ReturnType<typeof hotspots.countCreatedWithin>>>();
    events.onWithin('ticket.created', async (trx, e) => void touched.set(e, await hotspots.countCreatedWithin(trx, e.ticket)));
    events.on('ticket.created', (e) => void evaluations.push(hotspots.evaluateSoon('bench', touched.get(e) ?? [])));

    const input = (i: number): NewTicket => ({
      channel: 'phone', type: 'complaint', urgency: 'normal', callerPhone: `138${String(10_000_000 + (i % 5000)).padStart(8, '0')}`,
      occurredAt: '2025-10-09T09:30:00+08:00', addressText: `白龙南路${i}号`, territoryId: `g${i % 20}`, categoryId: `cat${i % 5}`,
      parties: '来电人', situation: '楼下垃圾无人清运', demand: '尽快清运', handlingUnitId: 'water',
    });
    for (let i = 0; i < 50; i++) await plain.createTicket({ actor: agent }, input(i));
    const plainMs = await timeIt(async () => {
      for (let i = 0; i < n; i++) await plain.createTicket({ actor: agent }, input(i));
    });
    const countedMs = await timeIt(async () => {
      for (let i = 0; i < n; i++) {
        await counted.createTicket({ actor: agent }, input(i));
        await evaluations.pop(); // evaluation included (at once without debounce): one registration after another, as one node's
      }
      await hotspots.flush(); // what is still pending at the end
    });
    await hotspots.stop();
    const warnings = Number((await database.db.selectFrom('hotspot_warnings').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const levels = (await database.db.selectFrom('hotspot_warnings').select(['category_id', 'territory_id', 'level']).orderBy('category_id').orderBy('territory_id').execute()).map((w) => `${w.category_id}|${w.territory_id}|${w.level}`);
    // The incidents (热点事件) those warnings make: which group heads each, its level, and how many warnings it holds.
    const incidentRows = await database.db.selectFrom('hotspot_incidents as i').innerJoin('hotspot_warnings as w', 'w.incident_id', 'i.id')
      .select((eb) => ['i.category_id', 'i.territory_id', 'i.level', eb.fn.countAll().as('n')]).groupBy(['i.id', 'i.category_id', 'i.territory_id', 'i.level'])
      .orderBy('i.category_id').orderBy('i.territory_id').execute();
    const incidents = incidentRows.map((i) => `${i.category_id}|${i.territory_id}|${i.level}|${i.n}`);
    return {
      name: `registration with hotspot counts + evaluation${debounceMs ? ` debounced ${debounceMs} ms` : ' after each commit'} vs without (${kind})`,
      tickets: n,
      plainTicketsPerSec: fmt((n / plainMs) * 1000, 0),
      withHotspotsTicketsPerSec: fmt((n / countedMs) * 1000, 0),
      warningsRaised: warnings,
      /** The groups warned and their final levels, hashed: equal with and without debounce. */
      warningLevels: createHash('sha256').update(levels.join(',')).digest('hex').slice(0, 12),
      incidentsOpened: incidents.length,
      /** The incidents' headlines, levels and sizes, hashed: compared between the two modes like the warnings. */
      incidentShapes: createHash('sha256').update(incidents.join(',')).digest('hex').slice(0, 12),
      ratioWithToWithout: fmt(countedMs / plainMs),
    };
  } finally {
    await database.dispose();
  }
}
