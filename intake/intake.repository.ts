import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { DB, TicketsTable, DialectName } from '../db';
import { insertIgnore, likeContains, newestCommitted } from '../db';

export type TicketRow = TicketsTable;

/** How a ticket list is ordered (GET /tickets `sort`, `order`). */
export interface TicketListOrder {
  sort?: 'created' | 'urgency';
  order?: 'asc' | 'desc';
}

export interface TicketListFilter {
  cityId: string;
  statuses?: string[];
  channel?: string;
  type?: string;
  /** Any of these (紧急程度). */
  urgency?: string | readonly string[];
  categoryId?: string;
  territoryPath?: string;
  handlingUnitId?: string;
  callerPhone?: string;
  citizenId?: string;
  number?: string;
  q?: string;
  createdFrom?: string;
  createdTo?: string;
  /** Only confidential (保密) tickets, or only the others (open interfaces never list the confidential). */
  confidential?: boolean;
  /**
   * Data scope (数据权限), applied on top of the filters. A unit's: the tickets it handles, and with
   * `held` those on which it holds a work order (协办 included).
   */
  scope:
    | { kind: 'city' }
    | { kind: 'unit'; unitId: string; held?: SelectQueryBuilder<DB, 'work_orders', { ticket_id: string }> }
    | { kind: 'territory'; path: string; userId: string | null }
    | { kind: 'none' };
}

/** Tickets, citizens, links and the number sequence. */
export class IntakeRepository {
  constructor(private readonly db: Kysely<DB>, private readonly dialect: DialectName) {}

  /**
   * Moves a named sequence on by `size` and returns its new value (the last number of the block just
   * taken), as one statement of its own: the row lock lasts that statement only, and concurrent
   * takers (other nodes) each get a block of their own. MySQL/MariaDB: one round trip —
   * `LAST_INSERT_ID(value + n)` hands the new value back in the update's own answer; SQLite: the
   * update's RETURNING. The row is created on first use only (a new day): concurrent inserts of the
   * same new key are what deadlocks on InnoDB, so it is an insert-ignore followed by the update.
   */
  async takeSequenceBlock(name: string, size: number): Promise<number> {
    const bump = async (): Promise<number | null> => {
      if (this.dialect === 'mysql') {
        const r = await sql`update sequences set value = last_insert_id(value + ${size}) where name = ${name}`.execute(this.db);
        return Number(r.numAffectedRows ?? 0) === 1 ? Number(r.insertId) : null;
      }
      const row = await this.db.updateTable('sequences').set({ value: sql`value + ${size}` }).where('name', '=', name).returning('value').executeTakeFirst();
      return row ? Number(row.value) : null;
    };
    const value = await bump();
    if (value !== null) return value;
    await insertIgnore(this.db, this.dialect, 'sequences', { name, value: 0 });
    const first = await bump();
    if (first === null) throw new Error(`sequence ${name} could not be created`);
    return first;
  }

  async insertTicket(row: TicketRow) {
    await this.db.insertInto('tickets').values(row).execute();
  }

  findTicket(id: string) {
    return this.db.selectFrom('tickets').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findTicketByNumber(cityId: string, number: string) {
    return this.db.selectFrom('tickets').selectAll().where('city_id', '=', cityId).where('number', '=', number).executeTakeFirst();
  }

  /** The newest ticket registered from a call (the gateway's call id); migration 0024 indexes it. */
  findTicketByCallId(cityId: string, callId: string) {
    return this.db.selectFrom('tickets').selectAll().where('city_id', '=', cityId).where('call_id', '=', callId).orderBy('created_at', 'desc').executeTakeFirst();
  }

  /** Writes a change only if nobody else changed the ticket since `version` was read (optimistic lock). */
  async updateTicketIfVersion(id: string, version: number, patch: Partial<TicketRow>): Promise<boolean> {
    const r = await this.db
      .updateTable('tickets')
      .set({ ...patch, version: version + 1 })
      .where('id', '=', id)
      .where('version', '=', version)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * The tickets registered in [from, to) counted in groups (channel, UTC hour, status, satisfaction,
   * answered or not, with a unit or not): a few hundred rows for a whole day of a big city, summed up
   * by the service. The hour is read from the stored UTC text (both dialects).
   */
  async figureGroups(cityId: string, from: string, to: string) {
    return this.db
      .selectFrom('tickets')
      .where('city_id', '=', cityId)
      .where('created_at', '>=', from)
      .where('created_at', '<', to)
      .select((eb) => [
        'channel', 'status', 'satisfaction',
        sql<string>`substr(${sql.ref('created_at')}, 12, 2)`.as('utc_hour'),
        eb.case().when('answer', 'is not', null).then(1).else(0).end().as('has_answer'),
        eb.case().when('handling_unit_id', 'is not', null).then(1).else(0).end().as('has_unit'),
        eb.fn.countAll<number>().as('n'),
      ])
      .groupBy(['channel', 'status', 'satisfaction', sql`substr(${sql.ref('created_at')}, 12, 2)`, sql`case when answer is not null then 1 else 0 end`, sql`case when handling_unit_id is not null then 1 else 0 end`])
      .execute();
  }

  async listTickets(f: TicketListFilter, page: number, pageSize: number, order: TicketListOrder = {}): Promise<{ rows: TicketRow[]; total: number }> {
    let q = this.db.selectFrom('tickets').where('city_id', '=', f.cityId);
    if (f.statuses?.length) q = q.where('status', 'in', f.statuses);
    if (f.channel) q = q.where('channel', '=', f.channel);
    if (f.type) q = q.where('type', '=', f.type);
    if (typeof f.urgency === 'string') q = q.where('urgency', '=', f.urgency);
    else if (f.urgency?.length) q = q.where('urgency', 'in', [...f.urgency]);
    if (f.categoryId) q = q.where('category_id', '=', f.categoryId);
    if (f.territoryPath) q = q.where('territory_path', 'like', f.territoryPath + '%');
    if (f.handlingUnitId) q = q.where('handling_unit_id', '=', f.handlingUnitId);
    if (f.callerPhone) q = q.where('caller_phone', '=', f.callerPhone);
    if (f.citizenId) q = q.where('citizen_id', '=', f.citizenId);
    if (f.number) q = q.where('number', '=', f.number);
    if (f.createdFrom) q = q.where('created_at', '>=', f.createdFrom);
    if (f.createdTo) q = q.where('created_at', '<', f.createdTo);
    if (f.confidential !== undefined) q = q.where('confidential', '=', f.confidential ? 1 : 0);
    if (f.q) {
      const pattern = likeContains(f.q);
      q = q.where((eb) =>
        eb.or([
          eb('title', 'like', pattern),
          eb('situation', 'like', pattern),
          eb('demand', 'like', pattern),
          eb('address_text', 'like', pattern),
          eb('number', '=', f.q!),
        ]),
      );
    }
    const s = f.scope;
    if (s.kind === 'none') return { rows: [], total: 0 };
    if (s.kind === 'unit') {
      const held = s.held;
      q = q.where((eb) => (held ? eb.or([eb('handling_unit_id', '=', s.unitId), eb('id', 'in', held)]) : eb('handling_unit_id', '=', s.unitId)));
    }
    if (s.kind === 'territory') {
      q = q.where((eb) => {
        const inArea = eb('territory_path', 'like', s.path + '%');
        return s.userId ? eb.or([inArea, eb('created_by', '=', s.userId)]) : inArea;
      });
    }
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const dir = order.order ?? 'desc';
    let sorted = q.selectAll();
    // 特急 and 紧急 first (the rank is ascending whatever the direction), then by age in the asked direction.
    if (order.sort === 'urgency') sorted = sorted.orderBy(sql<number>`CASE urgency WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END`);
    const rows = await sorted
      .orderBy('created_at', dir)
      .orderBy('id', dir)
      .limit(pageSize)
      .offset((page - 1) * pageSize)
      .execute();
    return { rows, total: Number(total.n) };
  }

  /**
   * Open tickets that could be the same problem: recent, not final, and sharing the area, the
   * category or the caller. Bounded: the scoring happens in memory on at most `limit` rows.
   */
  duplicateCandidates(q: { cityId: string; since: string; areaPath?: string | null; categoryId?: string | null; callerPhone?: string | null; excludeId?: string | null; finalStatuses: string[]; limit: number }) {
    return this.db
      .selectFrom('tickets')
      .selectAll()
      .where('city_id', '=', q.cityId)
      .where('created_at', '>=', q.since)
      .where('status', 'not in', q.finalStatuses)
      .$if(!!q.excludeId, (qb) => qb.where('id', '!=', q.excludeId!))
      .where((eb) => {
        const any = [];
        if (q.areaPath) any.push(eb('territory_path', 'like', q.areaPath + '%'));
        if (q.categoryId) any.push(eb('category_id', '=', q.categoryId));
        if (q.callerPhone) any.push(eb('caller_phone', '=', q.callerPhone));
        return any.length ? eb.or(any) : sql<boolean>`1 = 0`;
      })
      .orderBy('created_at', 'desc')
      .limit(q.limit)
      .execute();
  }

  /** The most recent open, dispatched ticket of a category at a place (for 首问负责). */
  latestOpenAt(q: { cityId: string; categoryId: string; territoryPath: string; openStatuses: string[] }) {
    return this.db
      .selectFrom('tickets')
      .select(['id', 'handling_unit_id'])
      .where('city_id', '=', q.cityId)
      .where('category_id', '=', q.categoryId)
      .where('territory_path', 'like', q.territoryPath + '%')
      .where('status', 'in', q.openStatuses)
      .where('handling_unit_id', 'is not', null)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** `newest`: after an insert that a concurrent twin won, read its committed row (see newestCommitted). */
  findCitizenByPhone(cityId: string, phone: string, opts: { newest?: boolean } = {}) {
    const q = this.db.selectFrom('citizens').selectAll().where('city_id', '=', cityId).where('phone', '=', phone);
    return (opts.newest ? newestCommitted(q, this.dialect) : q).executeTakeFirst();
  }

  findCitizen(id: string) {
    return this.db.selectFrom('citizens').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertCitizen(row: DB['citizens']) {
    return insertIgnore(this.db, this.dialect, 'citizens', row as unknown as Record<string, unknown>);
  }

  async updateCitizen(id: string, patch: Partial<DB['citizens']>) {
    await this.db.updateTable('citizens').set(patch).where('id', '=', id).execute();
  }

  recentTicketsOfCitizen(citizenId: string, limit: number) {
    return this.db.selectFrom('tickets').selectAll().where('citizen_id', '=', citizenId).orderBy('created_at', 'desc').limit(limit).execute();
  }

  async countTicketsOfCitizenSince(citizenId: string, since: string): Promise<number> {
    const r = await this.db
      .selectFrom('tickets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('citizen_id', '=', citizenId)
      .where('created_at', '>=', since)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async insertLink(row: DB['ticket_links']): Promise<boolean> {
    return insertIgnore(this.db, this.dialect, 'ticket_links', row as unknown as Record<string, unknown>);
  }

  linksOf(ticketId: string) {
    return this.db
      .selectFrom('ticket_links')
      .selectAll()
      .where((eb) => eb.or([eb('ticket_id', '=', ticketId), eb('linked_ticket_id', '=', ticketId)]))
      .orderBy('created_at')
      .execute();
  }
}
