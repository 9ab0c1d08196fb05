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
import { HotspotRepository, type Group, type WarningRow } from './hotspots.repository';
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
    for (const g of groups) {
      const k = `${g.categoryId}|${g.territoryId}`;
      if (seen.has(k)) continue;
      seen.add(k);
      // Nothing rises above red: a group already there is not assessed again today.
      if (Number((await repo().findWarningOf(g, day))?.level ?? 0) >= 3) continue;
      const a = await assessGroup(g, s, now);
      if (!a || a.level === 0) continue;
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

  function liveEvent(type: string, w: WarningRow, recipients: string[]): HotspotLiveEvent {
    const data = { warning: toWarningView(w) };
    // A warning holds no citizen's data: the outside payload is the same.
    return { type, cityId: w.city_id, audience: { center: false, userIds: recipients }, data, unitData: data, key: `${type}:${w.id}:${w.level}:${w.version}` };
  }

  /** Raises the group's warning of the day to `a.level` if lower; exactly one caller wins a given level. */
  async function raise(g: Group, a: Assessment & { day: string; key?: { categoryLevel: number; territoryLevel: string; territoryPath: string } }, now: Date): Promise<WarningView | null> {
    const existing = await repo().findWarningOf(g, a.day);
    if ((existing && Number(existing.level) >= a.level) || !a.key) return null;
    // Reads over other parts happen before the transaction (SQLite runs one connection at a time).
    const [categoryName, territoryName, recipients] = await Promise.all([
      ports.categoryName(g.cityId, g.categoryId), ports.territoryName(g.territoryId), ports.recipientsOf(g.cityId, a.key.territoryPath),
    ]);
    const at = toDbTime(now);
    const facts = { basis: a.basis, tickets: a.tickets, callers: a.callers, baseline_mean: a.mean, baseline_spread: a.spread, level_raised_at: at };
    const staged: string[] = [];
    const ctx: CommandContext = { actor: systemActor(g.cityId, 'hotspots') };
    const row = await inTransaction(async (trx) => {
      staged.length = 0; // a retried attempt stages its own event
      const r = repo(trx);
      const fresh: WarningRow = {
        id: newId(), city_id: g.cityId, category_id: g.categoryId, territory_id: g.territoryId, day: a.day,
        category_level: a.key!.categoryLevel, territory_level: a.key!.territoryLevel, territory_path: a.key!.territoryPath,
        category_name: categoryName ?? g.categoryId, territory_name: territoryName ?? g.territoryId, level: a.level, status: WarningStatus.open, version: 1,
        raised_at: at, handled_by: null, handled_at: null, note: null, proactive_ticket_id: null, ...facts,
      };
      let id = fresh.id;
      if (!(await r.insertWarningOnce(fresh))) {
        // Another node (or the sweep) holds the day's warning: an UPDATE reads the newest committed row.
        const other = (await r.findWarningOf(g, a.day))!;
        const reopened = { ...facts, status: sql<string>`case when status = 'converted' then status else 'open' end` as unknown as string };
        if (!other || !(await r.raiseWarning(other.id, a.level, reopened))) return null;
        id = other.id;
      }
      const w = (await r.findWarning(id))!;
      await recordAudit(trx, ctx, { entityType: 'hotspot_warning', entityId: w.id, action: 'hotspot.raised', after: { level: a.level, ...facts, recipients: recipients.length }, cityId: g.cityId }, now);
      if (recipients.length) staged.push(await ports.feed.stageWithin(trx, liveEvent('hotspot.raised', w, recipients)));
      // The bell (通知): one notice per recipient and level, kept with the warning's raise.
      if (ports.notices) {
        const view = toWarningView(w);
        for (const userId of recipients) {
          await ports.notices.notifyWithin(trx, {
            cityId: w.city_id, event: 'hotspot.raised', recipient: { kind: 'user', id: userId }, dedupKey: `hotspot:${w.id}:${a.level}:${userId}`,
            payload: { title: `${view.levelZh}：${view.title}`, warningId: w.id, level: view.level, levelCode: view.levelCode, day: w.day, categoryName: w.category_name, territoryName: w.territory_name, tickets: view.tickets, callers: view.callers },
          });
        }
      }
      return w;
    });
    if (staged.length) await ports.feed.releaseStaged(staged);
    return row ? toWarningView(row) : null;
  }

  /** Whether an actor may see a warning: the center's readers all of the city, leaders their territory (over or under it). */
  function maySee(actor: Actor, w: WarningRow): boolean {
    if (w.city_id !== actor.cityId) return false;
    if (CENTER_READERS.has(actor.role) || actor.role === Role.system) return true;
    if (!TERRITORY_READERS.has(actor.role) || !actor.territoryPath) return false;
    return w.territory_path.startsWith(actor.territoryPath) || actor.territoryPath.startsWith(w.territory_path);
  }

  function requireReader(actor: Actor) {
    if (!CENTER_READERS.has(actor.role) && !TERRITORY_READERS.has(actor.role)) {
      throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} may not see hotspot warnings`, `角色 ${actor.role} 无权查看热点预警`);
    }
    if (TERRITORY_READERS.has(actor.role) && !actor.territoryPath) throw forbidden('SCOPE_FORBIDDEN', 'no territory is assigned to this user', '该用户未分配辖区');
  }

  async function loadVisible(actor: Actor, id: string): Promise<WarningRow> {
    requireReader(actor);
    const w = await repo().findWarning(id);
    if (!w || !maySee(actor, w)) throw notFoundWarning(id);
    return w;
  }

  /** Acknowledge (知悉) or dismiss (排除) an open warning, audited, told to the same people live. */
  async function handle(ctx: CommandContext, id: string, version: number, to: 'acknowledged' | 'dismissed', note: string | null) {
    const w = await loadVisible(ctx.actor, id);
    if (w.status !== WarningStatus.open) {
      throw conflict('HOTSPOT_NOT_OPEN', `the warning is ${w.status}`, `该预警当前为「${WARNING_STATUS_ZH[w.status as WarningStatus] ?? w.status}」，不能再处置`, { status: w.status });
    }
    if (Number(w.version) !== version) throw conflict('VERSION_CONFLICT', 'the warning changed meanwhile; reload it', '预警已被他人更新，请刷新后重试', { version: Number(w.version) });
    const now = clock.now();
    const recipients = await ports.recipientsOf(w.city_id, w.territory_path);
    const staged: string[] = [];
    const after = await inTransaction(async (trx) => {
      staged.length = 0; // a retried attempt stages its own event
      const r = repo(trx);
      const set = { status: to, handled_by: ctx.actor.id ?? ctx.actor.name, handled_at: toDbTime(now), note };
      if (!(await r.updateIfVersion(id, version, set))) throw conflict('VERSION_CONFLICT', 'the warning changed meanwhile; reload it', '预警已被他人更新，请刷新后重试');
      const row = (await r.findWarning(id))!;
      await recordAudit(trx, ctx, { entityType: 'hotspot_warning', entityId: id, action: `hotspot.${to}`, before: { status: w.status }, after: { status: to, note }, reason: note, cityId: w.city_id }, now);
      if (recipients.length) staged.push(await ports.feed.stageWithin(trx, liveEvent('hotspot.updated', row, recipients)));
      return row;
    });
    if (staged.length) await ports.feed.releaseStaged(staged);
    return toWarningView(after);
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

    async list(actor: Actor, q: { fromDay?: string; toDay?: string; minLevel?: number; statuses?: string[]; categoryId?: string; territoryPath?: string; page?: number; pageSize?: number }) {
      requireReader(actor);
      if (q.fromDay && q.toDay && q.fromDay > q.toDay) throw badRequest('PERIOD_INVALID', 'fromDay is after toDay', '开始日期晚于结束日期', { field: 'fromDay' });
      const page = q.page ?? 1;
      const pageSize = q.pageSize ?? 20;
      const scope = isCenter(actor) ? undefined : { under: actor.territoryPath!, overIds: actor.territoryPath!.split('/').filter(Boolean) };
      const { rows, total } = await repo().listWarnings({ cityId: actor.cityId, fromDay: q.fromDay, toDay: q.toDay, minLevel: q.minLevel, statuses: q.statuses, categoryId: q.categoryId, territoryPath: q.territoryPath, scope }, page, pageSize);
      return { items: rows.map(toWarningView), total, page, pageSize };
    },

    /**
     * A warning with the tickets behind it, as this actor may see each (masked per role; a
     * confidential ticket is left out outside the center) and its trail.
     */
    async get(actor: Actor, id: string) {
      const w = await loadVisible(actor, id);
      const behind = await repo().ticketsOf(groupOf(w.city_id, { categoryId: w.category_id, territoryId: w.territory_id }), w.day, MAX_TICKETS_SHOWN);
      const tickets: HotspotTicketView[] = [];
      for (const b of behind) {
        const v = await ports.tickets.view(actor, b.ticket_id);
        if (v && (isCenter(actor) || !v.confidential)) tickets.push(v);
      }
      const counts = (await repo().countsOf(groupOf(w.city_id, { categoryId: w.category_id, territoryId: w.territory_id }), [w.day])).get(w.day);
      const trail = (await listAudit(deps.db, 'hotspot_warning', id)).map((e) => ({ action: e.action, at: e.at, actorRole: e.actorRole, reason: e.reason }));
      return {
        warning: toWarningView(w),
        /** The group's figures now (the warning keeps those of its last raise). */
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
     * Turns a warning into a proactive ticket (主动治理工单, channel `proactive`), linked to the tickets
     * behind it. Twice, or by two people at once, gives the same ticket: intake's idempotency key is
     * the warning's, and the ticket's content comes from the warning alone.
     */
    async convert(ctx: CommandContext, id: string) {
      const w = await loadVisible(ctx.actor, id);
      if (w.status === WarningStatus.dismissed) throw conflict('HOTSPOT_DISMISSED', 'a dismissed warning cannot become a ticket', '已排除的预警不能转为工单');
      const levelZh = WARNING_LEVEL_ZH[Number(w.level) as 1 | 2 | 3];
      const created = await ports.tickets.createProactive(w.city_id, `hotspot:${w.id}`, {
        title: `【主动治理】${w.territory_name}${w.category_name}问题集中`,
        situation: `热点预警（${levelZh}）：${w.day} ${w.territory_name}「${w.category_name}」类诉求集中，预警时 ${w.tickets} 件、${w.callers} 位来电人（同期基线均值 ${Number(w.baseline_mean).toFixed(1)}）。`,
        demand: '请属地及职能部门主动排查、先行处置（未诉先办），并反馈处置结果。',
        categoryId: w.category_id,
        territoryId: w.territory_id,
        addressText: w.territory_name,
        urgency: Number(w.level) >= 3 ? 'urgent' : 'normal',
      });
      const behind = await repo().ticketsOf(groupOf(w.city_id, { categoryId: w.category_id, territoryId: w.territory_id }), w.day, MAX_TICKETS_SHOWN);
      for (const b of behind) await ports.tickets.link(w.city_id, created.id, b.ticket_id);
      const now = clock.now();
      const recipients = await ports.recipientsOf(w.city_id, w.territory_path);
      const staged: string[] = [];
      const row = await inTransaction(async (trx) => {
        staged.length = 0; // a retried attempt stages its own event
        const r = repo(trx);
        const cur = (await r.findWarning(id))!;
        if (cur.proactive_ticket_id) return cur;
        await trx.updateTable('hotspot_warnings').set({ status: WarningStatus.converted, proactive_ticket_id: created.id, handled_by: ctx.actor.id ?? ctx.actor.name, handled_at: toDbTime(now), version: sql`version + 1` })
          .where('id', '=', id).where('proactive_ticket_id', 'is', null).execute();
        const after = (await r.findWarning(id))!;
        if (after.proactive_ticket_id !== created.id) return after;
        await recordAudit(trx, ctx, { entityType: 'hotspot_warning', entityId: id, action: 'hotspot.converted', before: { status: cur.status }, after: { status: WarningStatus.converted, ticketId: created.id, ticketNumber: created.number, linkedTickets: behind.length }, cityId: w.city_id }, now);
        if (recipients.length) staged.push(await ports.feed.stageWithin(trx, liveEvent('hotspot.updated', after, recipients)));
        return after;
      });
      if (staged.length) await ports.feed.releaseStaged(staged);
      return { warning: toWarningView(row), ticket: created, linkedTickets: behind.length };
    },
  };
}

export type HotspotService = ReturnType<typeof createHotspotService>;
