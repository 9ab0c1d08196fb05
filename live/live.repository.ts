import type { Kysely } from 'kysely';
import type { DB, LiveEventsTable } from '../db';
import { dbTimeToIso, parseJsonColumn, toDbTime, parseIsoWithZone } from '../core';
import { normalizeAudience, scopeOf, type Audience, type Viewer } from './domain/audience';
import type { LiveEvent } from './ports';

type LiveEventRow = Omit<LiveEventsTable, 'seq' | 'event_key'> & { seq: number | bigint | string; event_key?: string | null };

/** `|a|b|` for a LIKE prefilter, null when empty. */
const bars = (list: string[] | undefined) => (list?.length ? `|${list.join('|')}|` : null);

function toEvent(r: LiveEventRow): LiveEvent {
  const e: LiveEvent = {
    seq: Number(r.seq),
    type: r.type,
    cityId: r.city_id,
    at: dbTimeToIso(r.at)!,
    audience: parseJsonColumn<Audience>(r.audience, { center: false }),
    data: parseJsonColumn<unknown>(r.data, null),
  };
  if (r.unit_data !== null) e.unitData = parseJsonColumn<unknown>(r.unit_data, null);
  return e;
}

/** The stored feed: events by sequence number, the catch-up a console asks for, pruning. */
export class LiveRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The event stored under a key, if any (a change published again is the same event). */
  async findByKey(key: string): Promise<LiveEvent | null> {
    const r = await this.db.selectFrom('live_events').selectAll().where('event_key', '=', key).executeTakeFirst();
    return r ? toEvent(r) : null;
  }

  /** Stores an event and returns its number (the database's auto-increment: no RETURNING). */
  async insert(e: Omit<LiveEvent, 'seq'>, key: string | null = null): Promise<number> {
    const a = normalizeAudience(e.audience);
    const r = await this.db
      .insertInto('live_events')
      .values({
        city_id: e.cityId,
        type: e.type,
        at: toDbTime(parseIsoWithZone(e.at) ?? new Date(e.at)),
        for_center: a.center ? 1 : 0,
        unit_ids: bars(a.unitIds),
        territory_paths: bars(a.territoryPaths),
        user_ids: bars(a.userIds),
        audience: JSON.stringify(a),
        data: JSON.stringify(e.data ?? null),
        unit_data: e.unitData === undefined ? null : JSON.stringify(e.unitData),
        event_key: key,
      })
      .executeTakeFirstOrThrow();
    return Number(r.insertId);
  }

  async maxSeq(): Promise<number> {
    const r = await this.db.selectFrom('live_events').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirst();
    return Number(r?.m ?? 0);
  }

  /** The oldest number still kept (0 when the table is empty). */
  async minSeq(): Promise<number> {
    const r = await this.db.selectFrom('live_events').select((eb) => eb.fn.min('seq').as('m')).executeTakeFirst();
    return Number(r?.m ?? 0);
  }

  /** Every event in (after, upTo], all cities: what a node missed. */
  async between(after: number, upTo: number): Promise<LiveEvent[]> {
    const rows = await this.db.selectFrom('live_events').selectAll().where('seq', '>', after).where('seq', '<=', upTo).orderBy('seq').execute();
    return rows.map(toEvent);
  }

  /**
   * A page of the catch-up of one viewer: events in (after, upTo] of its city that its scope may
   * receive, in order. The SQL only prefilters (the LIKE lists); the caller applies the audience rule.
   */
  async catchUpPage(v: Viewer, after: number, upTo: number, limit: number): Promise<LiveEvent[]> {
    const s = scopeOf(v);
    if (!v.id && s.kind === 'none') return [];
    // Unescaped patterns on purpose: a '_' or '%' in an id can only widen the prefilter, and the
    // audience rule drops what does not belong (escaping differs between SQLite and MariaDB).
    const rows = await this.db
      .selectFrom('live_events')
      .selectAll()
      .where('city_id', '=', v.cityId)
      .where('seq', '>', after)
      .where('seq', '<=', upTo)
      .where((eb) => {
        const any = [];
        if (v.id) any.push(eb('user_ids', 'like', `%|${v.id}|%`));
        if (s.kind === 'center') any.push(eb('for_center', '=', 1));
        if (s.kind === 'unit') any.push(eb('unit_ids', 'like', `%|${s.unitId}|%`));
        if (s.kind === 'territory') any.push(eb('territory_paths', 'like', `%|${s.path}%`));
        return eb.or(any);
      })
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map(toEvent);
  }

  /** Stages an event inside the caller's transaction (the repository is built over it). */
  async stage(id: string, e: Omit<LiveEvent, 'seq'>, createdAt: Date): Promise<void> {
    await this.db.insertInto('live_outbox').values({ id, created_at: toDbTime(createdAt), event: JSON.stringify(e) }).execute();
  }

  /**
   * Numbers a staged event: deletes the staged row and stores the event, in the caller's transaction.
   * Returns null when another node moved it first (its delete found nothing).
   */
  async moveStaged(id: string): Promise<LiveEvent | null> {
    const row = await this.db.selectFrom('live_outbox').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return null;
    const deleted = await this.db.deleteFrom('live_outbox').where('id', '=', id).executeTakeFirst();
    if (Number(deleted.numDeletedRows ?? 0) !== 1) return null;
    const e = JSON.parse(row.event) as Omit<LiveEvent, 'seq'>;
    return { seq: await this.insert(e), ...e };
  }

  /** Staged events older than `before`, oldest first: their node died between its commit and the move. */
  async stagedBefore(before: Date, limit: number): Promise<string[]> {
    const rows = await this.db.selectFrom('live_outbox').select('id').where('created_at', '<=', toDbTime(before)).orderBy('created_at').orderBy('id').limit(limit).execute();
    return rows.map((r) => r.id);
  }

  /** Deletes events older than `before`; returns how many. */
  async pruneBefore(before: Date): Promise<number> {
    const r = await this.db.deleteFrom('live_events').where('at', '<', toDbTime(before)).executeTakeFirst();
    return Number(r.numDeletedRows ?? 0);
  }
}
