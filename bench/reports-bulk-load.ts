/**
 * The reports bench's bulk loader: a seeded generator of a synthetic year of a big city's tickets
 * (tickets, work orders and what each counts for, `report_facts`), loaded with LOAD DATA LOCAL
 * INFILE on MariaDB/MySQL (from memory, a chunk at a time: no temporary files) or multi-row INSERTs
 * in large transactions on SQLite; the counters (`report_rollups`, `report_rollups_month`) are summed
 * by the product's own `atEveryRollup` as the tickets stream by (`RollupStream`) and loaded the same
 * way. Memory holds one chunk and the days still open.
 */
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { toDbTime, seededRandom } from '../core';
import { contributionsOf, atEveryRollup, rollupKeyOf, MONTH_GRAIN_PREFIX, type TicketFacts, type Contribution, type RollupGrain } from '../reports';
import type { DB, DialectName } from '../db';

const CHANNELS = ['phone', 'phone', 'phone', 'phone', 'web', 'wechat', 'app', 'sms'];
const TYPES = ['complaint', 'complaint', 'help', 'consultation', 'consultation', 'report', 'suggestion', 'praise'];
const RATINGS = ['satisfied', 'satisfied', 'satisfied', 'basically_satisfied', 'unsatisfied'];
const HOUR = 3_600_000;

export interface SyntheticCity {
  units: { id: string; code: string; name: string }[];
  categories: { id: string; code: string; name: string; level: number; parentId: string | null; path: string }[];
  territories: { id: string; name: string; level: string; parentId: string | null; path: string }[];
  leafCategories: string[];
  grids: string[];
}

/** A big city's shape: 120 units, a 4-level tree of 1,000 leaf categories, 4,000 grids. */
export function syntheticCity(): SyntheticCity {
  const units = Array.from({ length: 120 }, (_, i) => ({ id: `u${i}`, code: `u${i}`, name: `单位${i}` }));
  const categories: SyntheticCity['categories'] = [];
  const leafCategories: string[] = [];
  const tree = (level: number, widths: number[], parent: { id: string; path: string } | null) => {
    for (let i = 0; i < widths[level - 1]; i++) {
      const id = `${parent ? parent.id : 'c'}${i}`.padEnd(level * 2, '0');
      const node = { id: `${parent?.id ?? 'c'}-${i}`, code: id, name: `分类${id}`, level, parentId: parent?.id ?? null, path: `${parent?.path ?? '/'}${parent?.id ?? 'c'}-${i}/` };
      categories.push(node);
      if (level < widths.length) tree(level + 1, widths, node);
      else leafCategories.push(node.id);
    }
  };
  tree(1, [10, 5, 4, 5], null);
  const territories: SyntheticCity['territories'] = [];
  const grids: string[] = [];
  const LEVELS = ['district', 'street', 'community', 'grid'];
  const place = (level: number, widths: number[], parent: { id: string; path: string } | null) => {
    for (let i = 0; i < widths[level - 1]; i++) {
      const id = `${parent?.id ?? 't'}-${i}`;
      const node = { id, name: `区域${id}`, level: LEVELS[level - 1], parentId: parent?.id ?? null, path: `${parent?.path ?? '/'}${id}/` };
      territories.push(node);
      if (level < widths.length) place(level + 1, widths, node);
      else grids.push(id);
    }
  };
  place(1, [10, 10, 10, 4], null);
  return { units, categories, territories, leafCategories, grids };
}

export interface SyntheticChunk {
  tickets: DB['tickets'][];
  workOrders: DB['work_orders'][];
  /** What each ticket counts for (report_facts rows' content). */
  facts: Contribution[];
}

/**
 * `tickets` tickets of 2025 in chunks of `chunk`, from one seed: the same seed gives the same
 * tickets. Popular categories, places and units get more (a skewed draw).
 */
export function* syntheticYear(city: SyntheticCity, tickets: number, chunk: number, seed = 12345): Generator<SyntheticChunk> {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const skew = <T>(xs: readonly T[]) => xs[Math.floor(Math.pow(rand(), 2) * xs.length)];
  const categoryPaths = new Map(city.categories.map((c) => [c.id, c.path]));
  const territoryPaths = new Map(city.territories.map((t) => [t.id, t.path]));
  const yearStart = Date.parse('2024-12-31T16:00:00Z'); // 2025-01-01 00:00 in China
  const yearMs = 365 * 24 * HOUR;
  const t = (d: Date | null) => (d ? toDbTime(d) : null);
  for (let from = 0; from < tickets; from += chunk) {
    const out: SyntheticChunk = { tickets: [], workOrders: [], facts: [] };
    for (let i = from; i < Math.min(tickets, from + chunk); i++) {
      const id = `T${String(i).padStart(9, '0')}`;
      // In creation order over the year (a uniform draw inside each ticket's slot): the counters of a day
      // are complete once the generator has passed it (see `RollupStream`).
      const created = new Date(yearStart + Math.floor(((i + rand()) / tickets) * yearMs));
      const r = rand();
      const status = r < 0.1 ? 'closed' : r < 0.13 ? 'merged' : r < 0.15 ? 'cancelled' : r < 0.9 ? 'closed' : 'in_progress';
      const onSpot = r < 0.1;
      const unit = onSpot || status === 'merged' || status === 'cancelled' ? null : skew(city.units).id;
      const facts: TicketFacts = {
        id, cityId: 'bench', status, channel: pick(CHANNELS), type: pick(TYPES), categoryId: skew(city.leafCategories), territoryId: skew(city.grids), categoryPath: null, territoryPath: null,
        handlingUnitId: unit, createdAt: created, closedAt: null, answeredOnSpot: onSpot, round: rand() < 0.05 ? 2 : 1, satisfaction: null,
        mergedIntoId: status === 'merged' ? 'T000000000' : null, workOrders: [], ratings: [],
      };
      facts.categoryPath = categoryPaths.get(facts.categoryId!)!;
      facts.territoryPath = territoryPaths.get(facts.territoryId!)!;
      if (unit) {
        const dispatched = new Date(created.getTime() + rand() * HOUR);
        const ackDue = new Date(dispatched.getTime() + 2 * HOUR);
        const acked = new Date(dispatched.getTime() + rand() * 3 * HOUR);
        const replyDue = new Date(dispatched.getTime() + 72 * HOUR);
        const replied = status === 'closed' ? new Date(acked.getTime() + rand() * 90 * HOUR) : null;
        facts.workOrders.push({ unitId: unit, role: 'lead', status: status === 'closed' ? 'completed' : 'acknowledged', dispatchedAt: dispatched, acknowledgeDue: ackDue, acknowledgedAt: acked, returnedAt: null, replyDue, repliedAt: replied });
        if (replied) facts.closedAt = new Date(replied.getTime() + rand() * 24 * HOUR);
      } else if (onSpot) facts.closedAt = new Date(created.getTime() + 10 * 60_000);
      if (facts.closedAt && rand() < 0.7) {
        facts.satisfaction = pick(RATINGS);
        facts.ratings.push({ satisfaction: facts.satisfaction, at: facts.closedAt });
      }
      out.tickets.push({
        id, city_id: 'bench', number: id, status, version: 1, channel: facts.channel, type: facts.type, urgency: 'normal', category_id: facts.categoryId,
        citizen_id: null, caller_phone: null, citizen_name: null, confidential: 0, title: null, occurred_at: null, address_text: null, territory_id: facts.territoryId,
        territory_path: facts.territoryPath, lat: null, lng: null, parties: null, situation: null, demand: null, handling_unit_id: unit, call_id: null, merged_into_id: facts.mergedIntoId,
        answer: onSpot ? '已答复' : null, result: null, round: facts.round, satisfaction: facts.satisfaction, created_by: null, created_at: toDbTime(created), updated_at: toDbTime(created),
        closed_at: t(facts.closedAt), routing_rule: null, responsibility_version_id: null, planned_unit_id: null,
      } as DB['tickets']);
      for (const w of facts.workOrders) {
        out.workOrders.push({
          id: `W${id.slice(1)}`, city_id: 'bench', ticket_id: id, ticket_number: id, ticket_title: null, unit_id: w.unitId, role: 'lead', round: 1, status: w.status, version: 1,
          policy_code: 'general', dispatched_at: toDbTime(w.dispatchedAt), acknowledge_due: t(w.acknowledgeDue), on_site_due: null, reply_due: t(w.replyDue), citizen_reply_due: null,
          acknowledged_at: t(w.acknowledgedAt), on_site_at: null, replied_at: t(w.repliedAt), result: null, extension_reason: null, extension_proposed_due: null, extension_count: 0,
          return_reason: null, returned_at: null, closed_at: t(facts.closedAt), created_at: toDbTime(w.dispatchedAt), updated_at: toDbTime(w.dispatchedAt), urgency: 'normal',
          category_id: facts.categoryId, territory_path: null,
        });
      }
      out.facts.push(...contributionsOf(facts));
    }
    yield out;
  }
}

export const factRow = (c: Contribution) => ({
  ticket_id: c.ticketId, city_id: c.cityId, measure: c.measure, day: c.day, unit_id: c.unitId, category_id: c.categoryId, territory_id: c.territoryId,
  category_top: c.categoryTop, territory_top: c.territoryTop, channel: c.channel, type: c.type, n: c.n,
});

/** A TSV field for LOAD DATA's defaults (tab-separated, backslash escapes, \N for null). */
function tsvField(v: unknown): string {
  if (v == null) return '\\N';
  return String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

function* slices(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

export interface BulkLoader {
  load(table: 'tickets' | 'work_orders' | 'report_facts' | 'report_rollups' | 'report_rollups_month', rows: readonly object[]): Promise<void>;
  close(): Promise<void>;
}

/** LOAD DATA LOCAL INFILE over its own connection (MariaDB/MySQL), or multi-row INSERTs in one transaction a call (SQLite). */
export async function openBulkLoader(database: { db: Kysely<DB>; dialect: DialectName; url: string }): Promise<BulkLoader> {
  if (database.dialect === 'mysql') {
    const { createConnection } = await import('mysql2/promise');
    const u = new URL(database.url.replace(/^mariadb:/, 'mysql:'));
    const conn = await createConnection({
      host: u.hostname, port: u.port ? Number(u.port) : 3306, user: decodeURIComponent(u.username || 'root'), password: decodeURIComponent(u.password),
      database: u.pathname.replace(/^\//, ''), charset: 'utf8mb4', flags: ['+LOCAL_FILES'],
    });
    await conn.query("SET time_zone = '+00:00', unique_checks = 0, foreign_key_checks = 0");
    return {
      async load(table, objects) {
        const rows = objects as readonly Record<string, unknown>[];
        if (!rows.length) return;
        const columns = Object.keys(rows[0]);
        const text = rows.map((r) => columns.map((c) => tsvField(r[c])).join('\t')).join('\n') + '\n';
        await conn.query({
          sql: `LOAD DATA LOCAL INFILE 'bulk.tsv' INTO TABLE \`${table}\` CHARACTER SET utf8mb4 (${columns.map((c) => `\`${c}\``).join(', ')})`,
          // In slices: each is one packet, and a packet may not exceed max_allowed_packet.
          infileStreamFactory: () => Readable.from(slices(Buffer.from(text, 'utf8'), 256 * 1024)),
        });
      },
      close: () => conn.end(),
    };
  }
  return {
    async load(table, rows) {
      if (!rows.length) return;
      const per = Math.max(1, Math.floor(30_000 / Object.keys(rows[0]).length)); // SQLite's bound-parameter limit
      await database.db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += per) await trx.insertInto(table).values(rows.slice(i, i + per) as never).execute();
      });
    },
    close: async () => {},
  };
}

/**
 * The counters of a stream of facts in creation order, summed in memory with the product's own
 * `atEveryRollup` and handed out a finished day at a time: a ticket's facts fall on its creation day
 * or later (acceptance, deadlines, closing), so once tickets created on day D arrive, every day
 * before D is final. Memory holds the days still open and the month counters (bounded by months ×
 * grains × keys), never the whole year.
 */
export class RollupStream {
  private readonly days = new Map<string, Map<string, Contribution & { grain: RollupGrain }>>();
  private readonly months = new Map<string, Contribution & { grain: RollupGrain }>();

  add(facts: readonly Contribution[]): void {
    for (const f of facts) {
      for (const c of atEveryRollup(f)) {
        const into = c.day.length === 7 ? this.months : this.days.get(c.day) ?? this.days.set(c.day, new Map()).get(c.day)!;
        const k = rollupKeyOf(c);
        const e = into.get(k);
        if (e) e.n += c.n;
        else into.set(k, { ...c, ticketId: '' });
      }
    }
  }

  /** The day counters of the days before `day` (all of them without it), as rows in key order; forgotten here. */
  takeDaysBefore(day: string | null): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const d of [...this.days.keys()].sort()) {
      if (day && d >= day) continue;
      for (const [, c] of [...this.days.get(d)!].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (c.n !== 0) out.push({ city_id: c.cityId, grain: c.grain, measure: c.measure, day: c.day, unit_id: c.unitId, category_id: c.categoryId, territory_id: c.territoryId, channel: c.channel, type: c.type, n: c.n });
      }
      this.days.delete(d);
    }
    return out;
  }

  /** The month counters, as rows in key order. */
  takeMonths(): Record<string, unknown>[] {
    const rows = [...this.months].sort(([a], [b]) => (a < b ? -1 : 1)).filter(([, c]) => c.n !== 0).map(([, c]) => ({
      city_id: c.cityId, grain: c.grain.slice(MONTH_GRAIN_PREFIX.length), month: c.day, measure: c.measure, unit_id: c.unitId, category_id: c.categoryId, territory_id: c.territoryId, channel: c.channel, type: c.type, n: c.n,
    }));
    this.months.clear();
    return rows;
  }
}
