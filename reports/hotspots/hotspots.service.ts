/**
 * Hotspot warnings (热点预警, 未诉先办): counts kept in each ticket's transaction, detection on
 * registration and by a sweep, delivery to the matching leaders and grid leaders, acknowledgement,
 * and the one-step proactive ticket (主动治理工单).
 */
import { sql, type Kysely } from 'kysely';
import { transactionWithRetry, type DB, type DialectName } from '../../db';
import { recordAudit, listAudit } from '../../audit';
import {
  badRequest, conflict, forbidden, notFound, chinaDate, TtlCache, dbTimeToIso, newId, systemActor, systemClock, toDbTime, isCenter, Role,
  type Actor, type Clock, type CommandContext,
} from '../../core';
import {
  assess, baselineDays, groupsOf, HotspotSettings, DEFAULT_HOTSPOT_SETTINGS, WARNING_LEVEL_CODE, WARNING_LEVEL_ZH,
  type Assessment, type GroupKey,
} from './domain/detection';
import { incidentToJoin, moreSpecific, overlaps } from './domain/incidents';
import { HotspotRepository, type Group, type IncidentRow, type WarningRow } from './hotspots.repository';
import type { HotspotPorts, HotspotTicketView, HotspotLiveEvent } from './ports';

/** What counting needs of a ticket row (intake's row has these columns). */
export interface CountedTicket {
  id: string;
  city_id: string;
  channel: string;
  category_id: string | null;
  territory_path: string | null;
  citizen_id: string | null;
  created_at: string;
}

export const WarningStatus = { open: 'open', acknowledged: 'acknowledged', dismissed: 'dismissed', converted: 'converted' } as const;
export type WarningStatus = (typeof WarningStatus)[keyof typeof WarningStatus];
export const WARNING_STATUS_ZH: Readonly<Record<WarningStatus, string>> = { open: '待处置', acknowledged: '已知悉', dismissed: '已排除', converted: '已转主动治理' };

/** Tickets of the hotline's own making are not citizens' demand: they never count. */
export const PROACTIVE_CHANNEL = 'proactive';

/** Roles that read warnings: the center's supervisors, dispatchers and admins; the territory leaders (their territory only). */
const CENTER_READERS: ReadonlySet<string> = new Set([Role.supervisor, Role.dispatcher, Role.admin]);
const TERRITORY_READERS: ReadonlySet<string> = new Set([Role.townLeader, Role.communitySecretary, Role.gridLeader]);
const MAX_TICKETS_SHOWN = 200;

export interface HotspotDeps {
  db: Kysely<DB>;
  dialect: DialectName;
  ports: HotspotPorts;
  clock?: Clock;
  logger?: { error(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /**
   * How long `evaluateSoon` gathers the groups registrations touch before evaluating them, each
   * once (0: at once, one evaluation per registration). A busy group is evaluated once per period
   * however many tickets arrive in it; the sweep covers whatever a stopped node left pending.
   */
  debounceMs?: number;
}

export interface WarningView {
  id: string;
  day: string;
  level: number;
  levelCode: 'blue' | 'yellow' | 'red';
  levelZh: string;
  basis: 'day' | 'window';
  categoryId: string;
  categoryName: string;
  categoryLevel: number;
  territoryId: string;
  territoryName: string;
  territoryLevel: string;
  territoryPath: string;
  /** Tickets and distinct callers when the level was raised, and the baseline it was judged against. */
  tickets: number;
  callers: number;
  baselineMean: number;
  baselineSpread: number;
  status: WarningStatus;
  statusZh: string;
  version: number;
  raisedAt: string;
  levelRaisedAt: string;
  handledBy: string | null;
  handledAt: string | null;
  note: string | null;
  proactiveTicketId: string | null;
  title: string;
}

export function toWarningView(w: WarningRow): WarningView {
  const level = Number(w.level) as 1 | 2 | 3;
  return {
    id: w.id, day: w.day, level, levelCode: WARNING_LEVEL_CODE[level], levelZh: WARNING_LEVEL_ZH[level], basis: w.basis as 'day' | 'window',
    categoryId: w.category_id, categoryName: w.category_name, categoryLevel: Number(w.category_level),
    territoryId: w.territory_id, territoryName: w.territory_name, territoryLevel: w.territory_level, territoryPath: w.territory_path,
    tickets: Number(w.tickets), callers: Number(w.callers), baselineMean: Number(w.baseline_mean), baselineSpread: Number(w.baseline_spread),
    status: w.status as WarningStatus, statusZh: WARNING_STATUS_ZH[w.status as WarningStatus] ?? w.status, version: Number(w.version),
    raisedAt: dbTimeToIso(w.raised_at)!, levelRaisedAt: dbTimeToIso(w.level_raised_at)!, handledBy: w.handled_by, handledAt: dbTimeToIso(w.handled_at), note: w.note,
    proactiveTicketId: w.proactive_ticket_id,
    title: `${w.territory_name}「${w.category_name}」诉求集中（${w.day}）`,
  };
}

/** A warning of an incident other than its headline: a related level (关联层级) of the same burst. */
export type RelatedLevelView = Pick<WarningView,
  'level' | 'levelCode' | 'levelZh' | 'basis' | 'categoryId' | 'categoryName' | 'categoryLevel' | 'territoryId' | 'territoryName' | 'territoryLevel' | 'tickets' | 'callers'
> & {
  warningId: string;
  /** e.g. 滨江街道「城市建设和市政管理」 */
  label: string;
};

/**
 * A hotspot incident (热点事件): the warnings of one burst, told and handled as one. The group
 * fields (category, territory, figures, basis, baseline, title) are its headline's, the most
 * specific warning; `level` is the highest of its warnings; status and handling are the incident's.
 */
export interface IncidentView extends Omit<WarningView, 'level' | 'levelCode' | 'levelZh'> {
  level: number;
  levelCode: 'blue' | 'yellow' | 'red';
  levelZh: string;
  headlineWarningId: string;
  headlineLevel: number;
  /** The other warnings of the burst, most specific first. */
  related: RelatedLevelView[];
}

const levelsOf = (w: WarningRow) => ({ categoryLevel: Number(w.category_level), territoryLevel: w.territory_level });
const bySpecificity = (a: WarningRow, b: WarningRow) => moreSpecific(levelsOf(b), levelsOf(a)) || (a.id < b.id ? -1 : 1);

export function toIncidentView(i: IncidentRow, members: WarningRow[]): IncidentView {
  const headline = members.find((m) => m.id === i.headline_warning_id) ?? members[0];
  const h = toWarningView(headline);
  const level = Number(i.level) as 1 | 2 | 3;
  const related = members.filter((m) => m.id !== headline.id).sort(bySpecificity).map((m): RelatedLevelView => {
    const l = Number(m.level) as 1 | 2 | 3;
    return {
      warningId: m.id, level: l, levelCode: WARNING_LEVEL_CODE[l], levelZh: WARNING_LEVEL_ZH[l], basis: m.basis as 'day' | 'window',
      categoryId: m.category_id, categoryName: m.category_name, categoryLevel: Number(m.category_level), territoryId: m.territory_id, territoryName: m.territory_name,
      territoryLevel: m.territory_level, tickets: Number(m.tickets), callers: Number(m.callers), label: `${m.territory_name}「${m.category_name}」`,
    };
  });
  return {
    ...h, id: i.id, day: i.day, level, levelCode: WARNING_LEVEL_CODE[level], levelZh: WARNING_LEVEL_ZH[level],
    status: i.status as WarningStatus, statusZh: WARNING_STATUS_ZH[i.status as WarningStatus] ?? i.status, version: Number(i.version),
    raisedAt: dbTimeToIso(i.raised_at)!, levelRaisedAt: dbTimeToIso(i.level_raised_at)!, handledBy: i.handled_by, handledAt: dbTimeToIso(i.handled_at), note: i.note,
    proactiveTicketId: i.proactive_ticket_id, headlineWarningId: headline.id, headlineLevel: h.level, related,
  };
}

const groupOf = (cityId: string, g: { categoryId: string; territoryId: string }): Group => ({ cityId, categoryId: g.categoryId, territoryId: g.territoryId });
const notFoundWarning = (id: string) => notFound('HOTSPOT_NOT_FOUND', `hotspot warning ${id} not found`, `预警 ${id} 不存在`);

/** Parses a city's `hotspots` settings; bad settings are an error the city import should have caught. */
export function parseHotspotSettings(raw: unknown): HotspotSettings {
  const r = HotspotSettings.safeParse(raw ?? {});
  if (!r.success) throw badRequest('HOTSPOT_SETTINGS_INVALID', `hotspots settings are invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, '热点预警参数配置有误');
  return r.data;
}

export function createHotspotService(deps: HotspotDeps) {
  const clock = deps.clock ?? systemClock;
  const { ports } = deps;
  const repo = (db: Kysely<DB> = deps.db) => new HotspotRepository(db, deps.dialect);
  /** A transaction retried on a deadlock (two nodes raising at once on MariaDB). */
  const inTransaction = <T>(work: (trx: Kysely<DB>) => Promise<T>): Promise<T> => transactionWithRetry(deps.db, work);

  // Read on every registration: kept a minute (a changed setting applies within it).
  const settingsCache = new TtlCache<HotspotSettings>(60_000, 1_000);
  async function settingsOf(cityId: string): Promise<HotspotSettings> {
    const hit = settingsCache.get(cityId);
    if (hit) return hit;
    try {
      const parsed = parseHotspotSettings(await ports.rawSettings(cityId));
      settingsCache.set(cityId, parsed);
      return parsed;
    } catch (err) {
      // A bad setting must not silence the warnings: the defaults hold until the city fixes it.
      deps.logger?.error({ err, cityId }, 'hotspots: invalid city settings; using the defaults');
      return DEFAULT_HOTSPOT_SETTINGS;
    }
  }

  async function groupsOfTicket(trx: Kysely<DB>, t: Pick<CountedTicket, 'channel' | 'category_id' | 'territory_path'>): Promise<GroupKey[]> {
    if (t.channel === PROACTIVE_CHANNEL || !t.category_id || !t.territory_path) return [];
    return groupsOf(await ports.categoryPathWithin(trx, t.category_id), t.territory_path);
  }

  const membership = (t: CountedTicket, g: GroupKey) => ({
    ticket_id: t.id, category_id: g.categoryId, territory_id: g.territoryId, city_id: t.city_id,
    day: chinaDate(new Date(`${t.created_at.replace(' ', 'T')}Z`)), caller_key: t.citizen_id ?? `ticket:${t.id}`, registered_at: t.created_at,
  });

  /** Moves a ticket's counts to `wanted` (in the ticket's transaction); returns the groups it now counts in. */
  async function recountWithin(trx: Kysely<DB>, t: CountedTicket, wanted: GroupKey[]): Promise<Group[]> {
    const r = repo(trx);
    const current = await r.membershipsOf(t.id);
    const key = (x: { categoryId?: string; territoryId?: string; category_id?: string; territory_id?: string }) => `${x.categoryId ?? x.category_id}|${x.territoryId ?? x.territory_id}`;
    const want = new Set(wanted.map(key));
    for (const m of current) if (!want.has(key(m))) await r.remove(m);
    const have = new Map(current.map((m) => [key(m), m]));
    for (const g of wanted) {
      const m = have.get(key(g));
      // Kept groups keep their day and caller: a correction does not move a ticket to another day.
      if (!m) await r.add(current[0] ? { ...membership(t, g), day: current[0].day, registered_at: current[0].registered_at } : membership(t, g), g);
    }
    return wanted.map((g) => groupOf(t.city_id, g));
  }

  // Debounced evaluation (per group): the groups touched since the last flush, evaluated together.
  const debounceMs = deps.debounceMs ?? 0;
  const pending = new Map<string, Group>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let flushing: Promise<WarningView[]> = Promise.resolve([]);
  let stopped = false;

  function evaluateSoon(cityId: string, groups: Group[]): Promise<WarningView[]> | void {
    if (!debounceMs) return evaluate(cityId, groups);
    if (stopped) return;
    for (const g of groups) pending.set(`${cityId}|${g.categoryId}|${g.territoryId}`, { ...g, cityId });
    if (!timer && pending.size) {
      timer = setTimeout(() => { timer = null; void flush(); }, debounceMs);
      timer.unref?.();
    }
  }

  /** Evaluates the pending groups now (one flush at a time); a failure is logged, the sweep retries. */
  function flush(): Promise<WarningView[]> {
    if (timer) { clearTimeout(timer); timer = null; }
    flushing = flushing.then(async () => {
      const batch = [...pending.values()];
      pending.clear();
      const byCity = new Map<string, Group[]>();
      for (const g of batch) byCity.set(g.cityId, [...(byCity.get(g.cityId) ?? []), g]);
      const out: WarningView[] = [];
      for (const [cityId, groups] of byCity) {
        try {
          out.push(...(await evaluate(cityId, groups)));
        } catch (err) {
          deps.logger?.error({ err, cityId }, 'hotspots: debounced evaluation failed; the sweep will retry');
        }
      }
      return out;
    });
    return flushing;
  }

  /** Warns about the groups whose level rose (one transaction per raise). */
  async function evaluate(cityId: string, groups: Group[], now = clock.now()): Promise<WarningView[]> {
    const s = await settingsOf(cityId);
    if (!s.enabled || !groups.length) return [];
    const raised: WarningView[] = [];
    const seen = new Set<string>();
    const day = chinaDate(now);
    const due: { g: Group; a: NonNullable<Awaited<ReturnType<typeof assessGroup>>> }[] = [];
    for (const g of groups) {
      const k = `${g.categoryId}|${g.territoryId}`;
      if (seen.has(k)) continue;
      seen.add(k);
      // Nothing rises above red: a group already there is not assessed again today.
      if (Number((await repo().findWarningOf(g, day))?.level ?? 0) >= 3) continue;
      const a = await assessGroup(g, s, now);
      if (a && a.level > 0 && a.key) due.push({ g, a });
    }
    // The most specific first: a burst's incident opens under its headline, and the broader levels join it.
    due.sort((x, y) => moreSpecific(y.a.key!, x.a.key!));
    for (const { g, a } of due) {
      const w = await raise(g, a, now);
      if (w) raised.push(w);
    }
    return raised;
  }

  async function assessGroup(g: Group, s: HotspotSettings, now: Date): Promise<(Assessment & { day: string; key?: { categoryLevel: number; territoryLevel: string; territoryPath: string } }) | null> {
    const r = repo();
    const day = chinaDate(now);
    const windowMs = s.windowHours * 3_600_000;
    const [todayRows, win] = await Promise.all([r.countsOf(g, [day]), r.windowOf(g, toDbTime(new Date(now.getTime() - windowMs)), toDbTime(new Date(now.getTime() + 1000)))]);
    const today = todayRows.get(day);
    const tickets = Number(today?.tickets ?? 0);
    const callers = Number(today?.callers ?? 0);
    // Most groups most of the time are below every minimum: no baseline is read for them.
    const { minTickets, minCallers } = s.levels.blue;
    if ((tickets < minTickets || callers < minCallers) && (win.tickets < minTickets || win.callers < minCallers)) return null;
    const past = baselineDays(day, s.baselineWeeks);
    const history = await r.countsOf(g, past);
    const windows = past.map((_, i) => {
      const end = now.getTime() - (i + 1) * 7 * 86_400_000;
      return { from: toDbTime(new Date(end - windowMs)), to: toDbTime(new Date(end + 1000)) };
    });
    const winHistory = await r.windowsOf(g, windows);
    const a = assess({ tickets, callers, history: past.map((d) => Number(history.get(d)?.tickets ?? 0)) }, { ...win, history: winHistory }, s);
    return { ...a, day, key: today ? { categoryLevel: Number(today.category_level), territoryLevel: today.territory_level, territoryPath: today.territory_path } : undefined };
  }

  /** `hotspot.raised` carries the incident and the warning raised in it; `hotspot.updated` the incident. */
  function liveEvent(type: string, cityId: string, incident: IncidentView, recipients: string[], warning?: WarningView): HotspotLiveEvent {
    const data = warning ? { incident, warning } : { incident };
    // A warning holds no citizen's data: the outside payload is the same.
    const key = `${type}:${incident.id}:${incident.version}${warning ? `:${warning.id}:${warning.level}` : ''}`;
    return { type, cityId, audience: { center: false, userIds: recipients }, data, unitData: data, key };
  }

  /**
   * Raises the group's warning of the day to `a.level` if lower (exactly one caller wins a given
   * level) and keeps its incident: a new warning joins the day's incident whose headline it overlaps
   * (becoming the headline when more specific) or opens one; a related level that rises goes with
   * the bigger of the bursts it overlaps (domain/incidents.ts). The bell rings once per incident,
   * recipient and level: on opening and on each rise of the incident's level everyone told of it;
   * on a join, only those the new warning's territory adds (the others' notices are repeats, dropped
   * by their dedup key).
   */
  async function raise(g: Group, a: Assessment & { day: string; key?: { categoryLevel: number; territoryLevel: string; territoryPath: string } }, now: Date): Promise<WarningView | null> {
    const existing = await repo().findWarningOf(g, a.day);
    if ((existing && Number(existing.level) >= a.level) || !a.key) return null;
    const key = a.key;
    // Reads over other parts happen before the transaction (SQLite runs one connection at a time).
    const categoryPath = (await ports.categoryPathWithin(deps.db, g.categoryId)) ?? `/${g.categoryId}/`;
    // The burst's family: its level-2 category × its street. Every warning it can share an incident with is in it.
    const family = { categoryId: categoryPath.split('/').filter(Boolean)[1] ?? g.categoryId, path: `/${key.territoryPath.split('/').filter(Boolean).slice(0, 2).join('/')}/` };
    const familyTerritoryId = family.path.split('/').filter(Boolean)[1] ?? g.territoryId;
    const paths = new Set([key.territoryPath, family.path, ...(await repo().warningsUnder(g.cityId, a.day, family.path)).map((w) => w.territory_path)]);
    const [categoryName, territoryName, recipientLists] = await Promise.all([
      ports.categoryName(g.cityId, g.categoryId), ports.territoryName(g.territoryId), Promise.all([...paths].map((p) => ports.recipientsOf(g.cityId, p))),
    ]);
    const recipientsAt = new Map([...paths].map((p, i) => [p, recipientLists[i]]));
    const at = toDbTime(now);
    const facts = { basis: a.basis, tickets: a.tickets, callers: a.callers, baseline_mean: a.mean, baseline_spread: a.spread, level_raised_at: at };
    const staged: string[] = [];
    const ctx: CommandContext = { actor: systemActor(g.cityId, 'hotspots') };
    const row = await inTransaction(async (trx) => {
      staged.length = 0; // a retried attempt stages its own event
      const r = repo(trx);
      // First: one raise at a time per family, so two nodes never open two incidents for one burst.
      await r.lockFamily(g.cityId, family.categoryId, familyTerritoryId, a.day);
      const fresh: WarningRow = {
        id: newId(), city_id: g.cityId, category_id: g.categoryId, territory_id: g.territoryId, day: a.day,
        category_level: key.categoryLevel, territory_level: key.territoryLevel, territory_path: key.territoryPath,
        category_name: categoryName ?? g.categoryId, territory_name: territoryName ?? g.territoryId, level: a.level, status: WarningStatus.open, version: 1,
        raised_at: at, handled_by: null, handled_at: null, note: null, proactive_ticket_id: null, incident_id: null, ...facts,
      };
      let id = fresh.id;
      if (!(await r.insertWarningOnce(fresh))) {
        // Another node (or the sweep) holds the day's warning: an UPDATE reads the newest committed row.
        const other = (await r.findWarningOf(g, a.day))!;
        if (!other || !(await r.raiseWarning(other.id, a.level, facts))) return null;
        id = other.id;
      }
      const w = (await r.findWarning(id))!;
      await recordAudit(trx, ctx, { entityType: 'hotspot_warning', entityId: w.id, action: 'hotspot.raised', after: { level: a.level, ...facts }, cityId: g.cityId }, now);

      // Its incident (热点事件): a new warning, or a related level rising, goes with the burst it overlaps most.
      let incident = w.incident_id ? await r.findIncident(w.incident_id) : undefined;
      let opened = false;
      let joined = false;
      if (!incident || incident.headline_warning_id !== w.id) {
        const today = await r.incidentsOfDay(g.cityId, a.day);
        const candidates = [];
        for (const i of today) {
          const headline = { categoryPath: i.category_path, territoryPath: i.territory_path };
          if (!overlaps({ categoryPath, territoryPath: key.territoryPath }, headline)) continue;
          const c = (await r.countsOf(groupOf(i.city_id, { categoryId: i.category_id, territoryId: i.territory_id }), [a.day])).get(a.day);
          candidates.push({ ...i, headline, headlineTickets: Number(c?.tickets ?? 0), raisedAt: i.raised_at });
        }
        const target = incidentToJoin({ categoryPath, territoryPath: key.territoryPath }, candidates);
        if (target && target.id !== incident?.id) {
          if (incident) {
            // Moved to the bigger burst: the one it leaves keeps what it was told, and records the move.
            await r.updateIncident(incident.id, {});
            await recordAudit(trx, ctx, { entityType: 'hotspot_incident', entityId: incident.id, action: 'hotspot.incident.left', after: { warningId: w.id, toIncidentId: target.id }, cityId: g.cityId }, now);
          }
          incident = (await r.findIncident(target.id))!;
          joined = true;
          await r.joinIncident(w.id, incident);
        } else if (!incident) {
          opened = true;
          incident = {
            id: newId(), city_id: g.cityId, day: a.day, headline_warning_id: w.id, category_id: g.categoryId, category_path: categoryPath,
            territory_id: g.territoryId, territory_path: key.territoryPath, level: a.level, status: WarningStatus.open, version: 1,
            raised_at: at, level_raised_at: at, handled_by: null, handled_at: null, note: null, proactive_ticket_id: null,
          };
          await r.insertIncident(incident);
          await r.joinIncident(w.id, incident);
        }
      }
      const before = opened ? 0 : Number(incident.level);
      const rose = a.level > before;
      if (!opened) {
        const set: Partial<IncidentRow> = {};
        const headline = joined ? await r.findWarning(incident.headline_warning_id) : undefined;
        if (headline && moreSpecific(key, levelsOf(headline)) > 0) {
          Object.assign(set, { headline_warning_id: w.id, category_id: g.categoryId, category_path: categoryPath, territory_id: g.territoryId, territory_path: key.territoryPath });
        }
        // A rise opens a handled incident again (a converted one stays converted).
        if (rose) Object.assign(set, { level: a.level, level_raised_at: at, status: incident.status === WarningStatus.converted ? incident.status : WarningStatus.open });
        if (Object.keys(set).length) await r.updateIncident(incident.id, set);
      }
      const after = (await r.findIncident(incident.id))!;
      if (after.status !== incident.status) await r.mirrorHandling(after);
      const members = (await r.membersOf([after.id])).get(after.id)!;
      const view = toIncidentView(after, members);
      const raised = members.find((m) => m.id === w.id)!; // with its incident and mirrored status
      const action = opened ? 'hotspot.incident.opened' : rose ? 'hotspot.incident.raised' : joined ? 'hotspot.incident.joined' : null;
      if (action) {
        await recordAudit(trx, ctx, {
          entityType: 'hotspot_incident', entityId: after.id, action, before: opened ? undefined : { level: before, headlineWarningId: incident.headline_warning_id, status: incident.status },
          after: { level: Number(after.level), headlineWarningId: after.headline_warning_id, warningId: w.id, warningLevel: a.level, status: after.status }, cityId: g.cityId,
        }, now);
      }
      const everyone = [...new Set(members.flatMap((m) => recipientsAt.get(m.territory_path) ?? []))];
      if (everyone.length) staged.push(await ports.feed.stageWithin(trx, liveEvent('hotspot.raised', g.cityId, view, everyone, toWarningView(raised))));
      // The bell (通知): once per incident, recipient and level, in the raise's transaction.
      const told = opened || rose ? everyone : joined ? (recipientsAt.get(key.territoryPath) ?? []) : [];
      if (ports.notices) {
        for (const userId of told) {
          await ports.notices.notifyWithin(trx, {
            cityId: g.cityId, event: 'hotspot.raised', recipient: { kind: 'user', id: userId }, dedupKey: `hotspot:${after.id}:${view.level}:${userId}`,
            payload: {
              title: `${view.levelZh}：${view.title}`, incidentId: after.id, level: view.level, levelCode: view.levelCode, day: after.day, categoryName: view.categoryName,
              territoryName: view.territoryName, tickets: view.tickets, callers: view.callers, related: view.related.map((x) => `${x.label}（${x.levelZh}）`),
            },
          });
        }
      }
      return raised;
    });
    if (staged.length) await ports.feed.releaseStaged(staged);
    return row ? toWarningView(row) : null;
  }

  /**
   * Whether an actor may see an incident: the center's readers all of the city, leaders when one of
   * its warnings is at, under or over their territory.
   */
  function maySee(actor: Actor, i: IncidentRow, members: WarningRow[]): boolean {
    if (i.city_id !== actor.cityId) return false;
    if (CENTER_READERS.has(actor.role) || actor.role === Role.system) return true;
    if (!TERRITORY_READERS.has(actor.role) || !actor.territoryPath) return false;
    const mine = actor.territoryPath;
    return members.some((w) => w.territory_path.startsWith(mine) || mine.startsWith(w.territory_path));
  }

  function requireReader(actor: Actor) {
    if (!CENTER_READERS.has(actor.role) && !TERRITORY_READERS.has(actor.role)) {
      throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} may not see hotspot warnings`, `角色 ${actor.role} 无权查看热点预警`);
    }
    if (TERRITORY_READERS.has(actor.role) && !actor.territoryPath) throw forbidden('SCOPE_FORBIDDEN', 'no territory is assigned to this user', '该用户未分配辖区');
  }

  async function loadVisible(actor: Actor, id: string): Promise<{ incident: IncidentRow; members: WarningRow[] }> {
    requireReader(actor);
    const incident = await repo().findIncident(id);
    const members = incident ? (await repo().membersOf([id])).get(id)! : [];
    if (!incident || !members.length || !maySee(actor, incident, members)) throw notFoundWarning(id);
    return { incident, members };
  }

  /** Everyone told of an incident: the recipients of each of its warnings' territories. */
  async function recipientsOfIncident(cityId: string, members: WarningRow[]): Promise<string[]> {
    const lists = await Promise.all([...new Set(members.map((m) => m.territory_path))].map((p) => ports.recipientsOf(cityId, p)));
    return [...new Set(lists.flat())];
  }

  /** The tickets behind an incident: those of each of its warnings' groups that day, once each, oldest first. */
  async function ticketsBehind(i: IncidentRow, members: WarningRow[]) {
    const seen = new Map<string, { ticket_id: string; registered_at: string }>();
    for (const m of [...members].sort(bySpecificity)) {
      for (const b of await repo().ticketsOf(groupOf(i.city_id, { categoryId: m.category_id, territoryId: m.territory_id }), i.day, MAX_TICKETS_SHOWN)) {
        if (!seen.has(b.ticket_id)) seen.set(b.ticket_id, b);
      }
    }
    return [...seen.values()].sort((a, b) => (a.registered_at < b.registered_at ? -1 : a.registered_at > b.registered_at ? 1 : a.ticket_id < b.ticket_id ? -1 : 1)).slice(0, MAX_TICKETS_SHOWN);
  }

  /** Acknowledge (知悉) or dismiss (排除) an open incident, audited, mirrored on its warnings, told to the same people live. */
  async function handle(ctx: CommandContext, id: string, version: number, to: 'acknowledged' | 'dismissed', note: string | null): Promise<IncidentView> {
    const { incident: w, members } = await loadVisible(ctx.actor, id);
    if (w.status !== WarningStatus.open) {
      throw conflict('HOTSPOT_NOT_OPEN', `the warning is ${w.status}`, `该预警当前为「${WARNING_STATUS_ZH[w.status as WarningStatus] ?? w.status}」，不能再处置`, { status: w.status });
    }
    if (Number(w.version) !== version) throw conflict('VERSION_CONFLICT', 'the warning changed meanwhile; reload it', '预警已被他人更新，请刷新后重试', { version: Number(w.version) });
    const now = clock.now();
    const recipients = await recipientsOfIncident(w.city_id, members);
    const staged: string[] = [];
    const after = await inTransaction(async (trx) => {
      staged.length = 0; // a retried attempt stages its own event
      const r = repo(trx);
      const set = { status: to, handled_by: ctx.actor.id ?? ctx.actor.name, handled_at: toDbTime(now), note };
      if (!(await r.updateIncidentIfVersion(id, version, set))) throw conflict('VERSION_CONFLICT', 'the warning changed meanwhile; reload it', '预警已被他人更新，请刷新后重试');
      const row = (await r.findIncident(id))!;
      await r.mirrorHandling(row);
      const view = toIncidentView(row, (await r.membersOf([id])).get(id)!);
      await recordAudit(trx, ctx, { entityType: 'hotspot_incident', entityId: id, action: `hotspot.${to}`, before: { status: w.status }, after: { status: to, note }, reason: note, cityId: w.city_id }, now);
      if (recipients.length) staged.push(await ports.feed.stageWithin(trx, liveEvent('hotspot.updated', w.city_id, view, recipients)));
      return view;
    });
    if (staged.length) await ports.feed.releaseStaged(staged);
    return after;
  }

  return {
    /** The counting step of a registration: inside intake's transaction (`onWithin('ticket.created')`). */
    async countCreatedWithin(trx: Kysely<DB>, t: CountedTicket): Promise<Group[]> {
      const groups = await groupsOfTicket(trx, t);
      const r = repo(trx);
      for (const g of groups) await r.add(membership(t, g), g);
      return groups.map((g) => groupOf(t.city_id, g));
    },

    /** A recategorised or moved ticket (`ticket.updated`): its counts follow its new category and territory. */
    async correctWithin(trx: Kysely<DB>, t: CountedTicket): Promise<Group[]> {
      return recountWithin(trx, t, await groupsOfTicket(trx, t));
    },

    /**
     * A ticket merged as a duplicate (合并): its request is the target's problem, so it counts where
     * the target counts (the target's classification is the one kept); its caller stays an affected
     * caller. A target counted nowhere takes the merged ticket out of the counts.
     */
    async mergeWithin(trx: Kysely<DB>, t: CountedTicket, targetId: string): Promise<Group[]> {
      const target = await repo(trx).membershipsOf(targetId);
      const wanted: GroupKey[] = [];
      for (const m of target) {
        const c = (await repo(trx).countsOf(groupOf(m.city_id, { categoryId: m.category_id, territoryId: m.territory_id }), [m.day])).get(m.day);
        if (c) wanted.push({ categoryId: m.category_id, territoryId: m.territory_id, categoryLevel: Number(c.category_level), territoryLevel: c.territory_level as GroupKey['territoryLevel'], territoryPath: c.territory_path });
      }
      return recountWithin(trx, t, wanted);
    },

    /** A ticket cancelled (撤销: registered by mistake) counts nowhere. */
    async removeWithin(trx: Kysely<DB>, ticketId: string): Promise<void> {
      const r = repo(trx);
      for (const m of await r.membershipsOf(ticketId)) await r.remove(m);
    },

    evaluate,

    /**
     * The evaluation after a registration or correction: at once without `debounceMs`, else the
     * groups wait (each once) for the next flush, at most `debounceMs` later.
     */
    evaluateSoon,
    /** Evaluates what `evaluateSoon` holds now (tests, shutdown, a bench's end). */
    flush,
    /** Stops debouncing: drops the timer (pending groups are left to the sweep of a running node) and waits for a running flush. */
    async stop() {
      stopped = true;
      if (timer) { clearTimeout(timer); timer = null; }
      pending.clear();
      await flushing.catch(() => []);
    },

    /** Drops the cached city settings (after a city import). */
    forget() {
      settingsCache.clear();
    },

    /**
     * The periodic evaluation (every node; idempotent): each city's groups of today busy enough for
     * the lowest level. A warning raised by registration is not raised again.
     */
    async sweep(now = clock.now()): Promise<WarningView[]> {
      const out: WarningView[] = [];
      for (const cityId of await ports.cityIds()) {
        const s = await settingsOf(cityId);
        if (!s.enabled) continue;
        const busy = await repo().busyGroups(cityId, chinaDate(now), Math.min(s.levels.blue.minTickets, s.levels.blue.minCallers));
        out.push(...(await evaluate(cityId, busy.map((c) => groupOf(cityId, { categoryId: c.category_id, territoryId: c.territory_id })), now)));
      }
      return out;
    },

    /** Incidents (one row per burst), newest day and highest level first; a leader sees those of their territory. */
    async list(actor: Actor, q: { fromDay?: string; toDay?: string; minLevel?: number; statuses?: string[]; categoryId?: string; territoryPath?: string; page?: number; pageSize?: number }) {
      requireReader(actor);
      if (q.fromDay && q.toDay && q.fromDay > q.toDay) throw badRequest('PERIOD_INVALID', 'fromDay is after toDay', '开始日期晚于结束日期', { field: 'fromDay' });
      const page = q.page ?? 1;
      const pageSize = q.pageSize ?? 20;
      const scope = isCenter(actor) ? undefined : { under: actor.territoryPath!, overIds: actor.territoryPath!.split('/').filter(Boolean) };
      const { rows, total } = await repo().listIncidents({ cityId: actor.cityId, fromDay: q.fromDay, toDay: q.toDay, minLevel: q.minLevel, statuses: q.statuses, categoryId: q.categoryId, territoryPath: q.territoryPath, scope }, page, pageSize);
      const members = await repo().membersOf(rows.map((r) => r.id));
      return { items: rows.map((r) => toIncidentView(r, members.get(r.id)!)), total, page, pageSize };
    },

    /**
     * An incident with the tickets behind it (those of each of its warnings' groups, once each), as
     * this actor may see each (masked per role; a confidential ticket is left out outside the
     * center), and its trail (the incident's and its warnings' raises).
     */
    async get(actor: Actor, id: string) {
      const { incident, members } = await loadVisible(actor, id);
      const behind = await ticketsBehind(incident, members);
      const tickets: HotspotTicketView[] = [];
      for (const b of behind) {
        const v = await ports.tickets.view(actor, b.ticket_id);
        if (v && (isCenter(actor) || !v.confidential)) tickets.push(v);
      }
      const view = toIncidentView(incident, members);
      const counts = (await repo().countsOf(groupOf(incident.city_id, { categoryId: view.categoryId, territoryId: view.territoryId }), [incident.day])).get(incident.day);
      const trail = (await Promise.all([listAudit(deps.db, 'hotspot_incident', id), ...members.map((m) => listAudit(deps.db, 'hotspot_warning', m.id))])).flat()
        .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) // ids follow the order of writing
        .map((e) => ({ action: e.action, at: e.at, actorRole: e.actorRole, reason: e.reason }));
      return {
        warning: view,
        /** The headline group's figures now (the incident keeps those of its headline's last raise). */
        now: { tickets: Number(counts?.tickets ?? 0), callers: Number(counts?.callers ?? 0) },
        tickets,
        /** Tickets behind it this viewer may not see (another grid's, confidential). */
        hiddenTickets: behind.length - tickets.length,
        trail,
      };
    },

    acknowledge: (ctx: CommandContext, id: string, version: number, note: string | null) => handle(ctx, id, version, 'acknowledged', note),
    dismiss: (ctx: CommandContext, id: string, version: number, reason: string) => {
      if (!reason.trim()) throw badRequest('REASON_REQUIRED', 'a dismissal needs a reason', '排除预警须说明理由', { field: 'reason' });
      return handle(ctx, id, version, 'dismissed', reason.trim());
    },

    /**
     * Turns an incident into one proactive ticket (主动治理工单, channel `proactive`) about its
     * headline, linked to the tickets behind all its warnings. Twice, or by two people at once, gives
     * the same ticket: intake's idempotency key is the incident's, and the ticket's content comes
     * from the incident alone.
     */
    async convert(ctx: CommandContext, id: string) {
      const { incident: i, members } = await loadVisible(ctx.actor, id);
      if (i.status === WarningStatus.dismissed) throw conflict('HOTSPOT_DISMISSED', 'a dismissed warning cannot become a ticket', '已排除的预警不能转为工单');
      const v = toIncidentView(i, members);
      const related = v.related.length ? `；同一事件的关联层级：${v.related.map((x) => `${x.label}（${x.levelZh}）`).join('、')}` : '';
      const created = await ports.tickets.createProactive(i.city_id, `hotspot:${i.id}`, {
        title: `【主动治理】${v.territoryName}${v.categoryName}问题集中`,
        situation: `热点预警（${v.levelZh}）：${i.day} ${v.territoryName}「${v.categoryName}」类诉求集中，预警时 ${v.tickets} 件、${v.callers} 位来电人（同期基线均值 ${v.baselineMean.toFixed(1)}）${related}。`,
        demand: '请属地及职能部门主动排查、先行处置（未诉先办），并反馈处置结果。',
        categoryId: v.categoryId,
        territoryId: v.territoryId,
        addressText: v.territoryName,
        urgency: v.level >= 3 ? 'urgent' : 'normal',
      });
      const behind = await ticketsBehind(i, members);
      for (const b of behind) await ports.tickets.link(i.city_id, created.id, b.ticket_id);
      const now = clock.now();
      const recipients = await recipientsOfIncident(i.city_id, members);
      const staged: string[] = [];
      const view = await inTransaction(async (trx) => {
        staged.length = 0; // a retried attempt stages its own event
        const r = repo(trx);
        const cur = (await r.findIncident(id))!;
        const viewOf = async (row: IncidentRow) => toIncidentView(row, (await r.membersOf([id])).get(id)!);
        if (cur.proactive_ticket_id) return viewOf(cur);
        await trx.updateTable('hotspot_incidents').set({ status: WarningStatus.converted, proactive_ticket_id: created.id, handled_by: ctx.actor.id ?? ctx.actor.name, handled_at: toDbTime(now), version: sql`version + 1` })
          .where('id', '=', id).where('proactive_ticket_id', 'is', null).execute();
        const after = (await r.findIncident(id))!;
        if (after.proactive_ticket_id !== created.id) return viewOf(after);
        await r.mirrorHandling(after);
        const afterView = await viewOf(after);
        await recordAudit(trx, ctx, { entityType: 'hotspot_incident', entityId: id, action: 'hotspot.converted', before: { status: cur.status }, after: { status: WarningStatus.converted, ticketId: created.id, ticketNumber: created.number, linkedTickets: behind.length }, cityId: i.city_id }, now);
        if (recipients.length) staged.push(await ports.feed.stageWithin(trx, liveEvent('hotspot.updated', i.city_id, afterView, recipients)));
        return afterView;
      });
      if (staged.length) await ports.feed.releaseStaged(staged);
      return { warning: view, ticket: created, linkedTickets: behind.length };
    },
  };
}

export type HotspotService = ReturnType<typeof createHotspotService>;
