import { sql, type Kysely } from 'kysely';
import { insertIgnore, newestCommitted, upsertAdd, type DB, type DialectName } from '../../db';
import type { GroupKey } from './domain/detection';

export type WarningRow = DB['hotspot_warnings'];
export type IncidentRow = DB['hotspot_incidents'];
export type CountRow = DB['hotspot_counts'];
export type MembershipRow = DB['hotspot_ticket_groups'];

/** A group of one city. */
export interface Group {
  cityId: string;
  categoryId: string;
  territoryId: string;
}

export interface WarningFilter {
  cityId: string;
  fromDay?: string;
  toDay?: string;
  minLevel?: number;
  statuses?: string[];
  categoryId?: string;
  /** Territory scope of a leader: warnings at or under one of `under`, or over `over` (its ancestors). */
  scope?: { under: string; overIds: string[] };
  territoryPath?: string;
}

/** The hotspot part's tables: counts, callers, memberships, warnings. */
export class HotspotRepository {
  constructor(private db: Kysely<DB>, private dialect: DialectName) {}

  membershipsOf(ticketId: string): Promise<MembershipRow[]> {
    return this.db.selectFrom('hotspot_ticket_groups').selectAll().where('ticket_id', '=', ticketId).execute();
  }

  /**
   * Counts a ticket in a group (in the ticket's transaction). A repeat for the same ticket and group
   * counts nothing. Returns whether it counted.
   */
  async add(m: MembershipRow, g: GroupKey): Promise<boolean> {
    if (!(await insertIgnore(this.db, this.dialect, 'hotspot_ticket_groups', { ...m }))) return false;
    const key = { city_id: m.city_id, category_id: m.category_id, territory_id: m.territory_id, day: m.day };
    const newCaller = await insertIgnore(this.db, this.dialect, 'hotspot_callers', { ...key, caller_key: m.caller_key, tickets: 1 });
    if (!newCaller) {
      await this.db.updateTable('hotspot_callers').set({ tickets: sql`tickets + 1` }).where('city_id', '=', m.city_id).where('category_id', '=', m.category_id)
        .where('territory_id', '=', m.territory_id).where('day', '=', m.day).where('caller_key', '=', m.caller_key).execute();
    }
    await upsertAdd(this.db, this.dialect, 'hotspot_counts', [{ ...key, category_level: g.categoryLevel, territory_level: g.territoryLevel, territory_path: g.territoryPath, tickets: 1, callers: newCaller ? 1 : 0 }],
      ['city_id', 'category_id', 'territory_id', 'day'], ['tickets', 'callers']);
    return true;
  }

  /** Takes a ticket out of a group it counted in (a correction); the caller goes when it was their last ticket there. */
  async remove(m: MembershipRow): Promise<void> {
    const gone = await this.db.deleteFrom('hotspot_ticket_groups').where('ticket_id', '=', m.ticket_id).where('category_id', '=', m.category_id).where('territory_id', '=', m.territory_id).executeTakeFirst();
    if (Number(gone.numDeletedRows) === 0) return;
    const callerWhere = <Q extends { where: any }>(q: Q): Q => (q as any).where('city_id', '=', m.city_id).where('category_id', '=', m.category_id)
      .where('territory_id', '=', m.territory_id).where('day', '=', m.day).where('caller_key', '=', m.caller_key);
    await callerWhere(this.db.updateTable('hotspot_callers').set({ tickets: sql`tickets - 1` })).execute();
    const lost = await callerWhere(this.db.deleteFrom('hotspot_callers').where('tickets', '<=', 0)).executeTakeFirst();
    const lostCaller = Number(lost.numDeletedRows) > 0 ? 1 : 0;
    await this.db.updateTable('hotspot_counts').set({ tickets: sql`tickets - 1`, callers: sql`callers - ${lostCaller}` })
      .where('city_id', '=', m.city_id).where('category_id', '=', m.category_id).where('territory_id', '=', m.territory_id).where('day', '=', m.day).execute();
  }

  async countsOf(g: Group, days: string[]): Promise<Map<string, CountRow>> {
    if (!days.length) return new Map();
    const rows = await this.db.selectFrom('hotspot_counts').selectAll().where('city_id', '=', g.cityId).where('category_id', '=', g.categoryId)
      .where('territory_id', '=', g.territoryId).where('day', 'in', days).execute();
    return new Map(rows.map((r) => [r.day, r]));
  }

  /** Tickets and distinct callers of a group registered in [from, to) (DB times). */
  async windowOf(g: Group, from: string, to: string): Promise<{ tickets: number; callers: number }> {
    const r = await this.db.selectFrom('hotspot_ticket_groups')
      .select((eb) => [eb.fn.countAll().as('tickets'), eb.fn.count('caller_key').distinct().as('callers')])
      .where('city_id', '=', g.cityId).where('category_id', '=', g.categoryId).where('territory_id', '=', g.territoryId)
      .where('registered_at', '>=', from).where('registered_at', '<', to).executeTakeFirstOrThrow();
    return { tickets: Number(r.tickets), callers: Number(r.callers) };
  }

  /**
   * Tickets of a group in each of several [from, to) windows (DB times), in one read: the rolling
   * window's baseline (the same hours of the previous same weekdays).
   */
  async windowsOf(g: Group, windows: { from: string; to: string }[]): Promise<number[]> {
    if (!windows.length) return [];
    const rows = await this.db.selectFrom('hotspot_ticket_groups').select('registered_at')
      .where('city_id', '=', g.cityId).where('category_id', '=', g.categoryId).where('territory_id', '=', g.territoryId)
      .where((eb) => eb.or(windows.map((w) => eb.and([eb('registered_at', '>=', w.from), eb('registered_at', '<', w.to)])))).execute();
    return windows.map((w) => rows.filter((r) => r.registered_at >= w.from && r.registered_at < w.to).length);
  }

  /** The groups of a city's day with at least `minTickets` tickets (what the sweep evaluates). */
  busyGroups(cityId: string, day: string, minTickets: number): Promise<CountRow[]> {
    return this.db.selectFrom('hotspot_counts').selectAll().where('city_id', '=', cityId).where('day', '=', day).where('tickets', '>=', minTickets).execute();
  }

  /** The tickets counted in a group on a day, oldest first. */
  ticketsOf(g: Group, day: string, limit: number): Promise<{ ticket_id: string; caller_key: string; registered_at: string }[]> {
    return this.db.selectFrom('hotspot_ticket_groups').select(['ticket_id', 'caller_key', 'registered_at']).where('city_id', '=', g.cityId).where('category_id', '=', g.categoryId)
      .where('territory_id', '=', g.territoryId).where('day', '=', day).orderBy('registered_at').orderBy('ticket_id').limit(limit).execute();
  }

  findWarning(id: string): Promise<WarningRow | undefined> {
    return this.db.selectFrom('hotspot_warnings').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findWarningOf(g: Group, day: string): Promise<WarningRow | undefined> {
    return this.db.selectFrom('hotspot_warnings').selectAll().where('city_id', '=', g.cityId).where('category_id', '=', g.categoryId)
      .where('territory_id', '=', g.territoryId).where('day', '=', day).executeTakeFirst();
  }

  insertWarningOnce(row: WarningRow): Promise<boolean> {
    return insertIgnore(this.db, this.dialect, 'hotspot_warnings', { ...row });
  }

  /** Raises an existing warning to `level` if it is lower; false when another raise got there first. */
  async raiseWarning(id: string, level: number, set: Partial<WarningRow>): Promise<boolean> {
    const r = await this.db.updateTable('hotspot_warnings').set({ ...set, level, version: sql`version + 1` }).where('id', '=', id).where('level', '<', level).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async updateIfVersion(id: string, version: number, set: Partial<WarningRow>): Promise<boolean> {
    const r = await this.db.updateTable('hotspot_warnings').set({ ...set, version: sql`version + 1` }).where('id', '=', id).where('version', '=', version).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Serialises the incident bookkeeping of one burst's family (its level-2 category × its street, one
   * day) between nodes: a locking read of that group's counter row, which every ticket of the family
   * counts in (MariaDB; SQLite runs one writer at a time).
   */
  async lockFamily(cityId: string, categoryId: string, territoryId: string, day: string): Promise<void> {
    await newestCommitted(this.db.selectFrom('hotspot_counts').select('tickets').where('city_id', '=', cityId).where('category_id', '=', categoryId)
      .where('territory_id', '=', territoryId).where('day', '=', day), this.dialect).execute();
  }

  /** The warnings of a city's day under a territory (a family's, before a raise). */
  warningsUnder(cityId: string, day: string, territoryPath: string): Promise<WarningRow[]> {
    return this.db.selectFrom('hotspot_warnings').selectAll().where('city_id', '=', cityId).where('day', '=', day)
      .where('territory_path', 'like', `${territoryPath.replace(/[\\%_]/g, (c) => '\\' + c)}%`).execute();
  }

  /**
   * A city's incidents of a day. A plain read: taken after `lockFamily` (the transaction's first
   * statement), its snapshot holds every incident of the family committed before the lock; other
   * families' cannot overlap, and a locking read here would serialise (and deadlock) raises of
   * unrelated bursts of the same day.
   */
  incidentsOfDay(cityId: string, day: string): Promise<IncidentRow[]> {
    return this.db.selectFrom('hotspot_incidents').selectAll().where('city_id', '=', cityId).where('day', '=', day).execute();
  }

  findIncident(id: string): Promise<IncidentRow | undefined> {
    return this.db.selectFrom('hotspot_incidents').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertIncident(row: IncidentRow): Promise<void> {
    await this.db.insertInto('hotspot_incidents').values(row).execute();
  }

  async updateIncident(id: string, set: Partial<IncidentRow>): Promise<void> {
    await this.db.updateTable('hotspot_incidents').set({ ...set, version: sql`version + 1` }).where('id', '=', id).execute();
  }

  async updateIncidentIfVersion(id: string, version: number, set: Partial<IncidentRow>): Promise<boolean> {
    const r = await this.db.updateTable('hotspot_incidents').set({ ...set, version: sql`version + 1` }).where('id', '=', id).where('version', '=', version).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** The warnings of incidents, by incident. */
  async membersOf(incidentIds: string[]): Promise<Map<string, WarningRow[]>> {
    const out = new Map<string, WarningRow[]>(incidentIds.map((id) => [id, []]));
    if (!incidentIds.length) return out;
    const rows = await this.db.selectFrom('hotspot_warnings').selectAll().where('incident_id', 'in', incidentIds).orderBy('raised_at').orderBy('id').execute();
    for (const r of rows) out.get(r.incident_id!)?.push(r);
    return out;
  }

  /** Puts a warning in an incident, its handling mirroring the incident's. */
  async joinIncident(warningId: string, incident: Pick<IncidentRow, 'id' | 'status'>): Promise<void> {
    await this.db.updateTable('hotspot_warnings').set({ incident_id: incident.id, status: incident.status }).where('id', '=', warningId).execute();
  }

  /** The incident's handling, mirrored on its warnings. */
  async mirrorHandling(incident: IncidentRow): Promise<void> {
    await this.db.updateTable('hotspot_warnings')
      .set({ status: incident.status, handled_by: incident.handled_by, handled_at: incident.handled_at, note: incident.note, proactive_ticket_id: incident.proactive_ticket_id })
      .where('incident_id', '=', incident.id).execute();
  }

  /**
   * Incidents, newest day and highest level first. A filter on category or territory, and a
   * leader's scope, hold when any warning of the incident matches (its headline or a related level).
   */
  async listIncidents(f: WarningFilter, page: number, pageSize: number): Promise<{ rows: IncidentRow[]; total: number }> {
    const like = (p: string) => `${p.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
    let q = this.db.selectFrom('hotspot_incidents as i').where('i.city_id', '=', f.cityId);
    if (f.fromDay) q = q.where('i.day', '>=', f.fromDay);
    if (f.toDay) q = q.where('i.day', '<=', f.toDay);
    if (f.minLevel) q = q.where('i.level', '>=', f.minLevel);
    if (f.statuses?.length) q = q.where('i.status', 'in', f.statuses);
    if (f.categoryId || f.territoryPath || f.scope) {
      q = q.where((eb) => {
        let m = eb.selectFrom('hotspot_warnings as w').select('w.id').whereRef('w.incident_id', '=', 'i.id');
        if (f.categoryId) m = m.where('w.category_id', '=', f.categoryId);
        if (f.territoryPath) m = m.where('w.territory_path', 'like', like(f.territoryPath));
        if (f.scope) {
          const { under, overIds } = f.scope;
          m = m.where((w) => w.or([w('w.territory_path', 'like', like(under)), ...(overIds.length ? [w('w.territory_id', 'in', overIds)] : [])]));
        }
        return eb.exists(m);
      });
    }
    const total = Number((await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await q.selectAll('i').orderBy('i.day', 'desc').orderBy('i.level', 'desc').orderBy('i.level_raised_at', 'desc').orderBy('i.id').limit(pageSize).offset((page - 1) * pageSize).execute();
    return { rows, total };
  }

  async listWarnings(f: WarningFilter, page: number, pageSize: number): Promise<{ rows: WarningRow[]; total: number }> {
    let q = this.db.selectFrom('hotspot_warnings').where('city_id', '=', f.cityId);
    if (f.fromDay) q = q.where('day', '>=', f.fromDay);
    if (f.toDay) q = q.where('day', '<=', f.toDay);
    if (f.minLevel) q = q.where('level', '>=', f.minLevel);
    if (f.statuses?.length) q = q.where('status', 'in', f.statuses);
    if (f.categoryId) q = q.where('category_id', '=', f.categoryId);
    if (f.territoryPath) q = q.where('territory_path', 'like', `${f.territoryPath.replace(/[\\%_]/g, (c) => '\\' + c)}%`);
    if (f.scope) {
      const { under, overIds } = f.scope;
      q = q.where((eb) => eb.or([
        eb('territory_path', 'like', `${under.replace(/[\\%_]/g, (c) => '\\' + c)}%`),
        ...(overIds.length ? [eb('territory_id', 'in', overIds)] : []),
      ]));
    }
    const total = Number((await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await q.selectAll().orderBy('day', 'desc').orderBy('level', 'desc').orderBy('level_raised_at', 'desc').orderBy('id').limit(pageSize).offset((page - 1) * pageSize).execute();
    return { rows, total };
  }
}
