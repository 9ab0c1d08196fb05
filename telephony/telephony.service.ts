import { readFile, rm } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { recordAudit } from '../audit';
import {
  badRequest, conflict, dbTimeToIso, forbidden, fromDbTime, isCenter, newId, notFound, parseIsoWithZone, Role, SEAT_ROLES, systemActor,
  systemClock, toDbTime, UNIT_ROLES, type Actor, type Clock, type CommandContext,
} from '../core';
import { Acd, type AcdCommand, type AcdNotice, type PromptName, type Scheduler } from './domain/acd';
import { callCountsOf, computeMetrics, type MetricsCall } from './domain/metrics';
import { mergeQueueSettings, QueueSettingsInput, Skill, TelephonyCitySettings, type QueueSettings } from './domain/queues';
import { AgentLegFailure, EndCause, type EdgeEvent, type Prompt, type SipEdge } from './ports';
import type { TelephonyPorts } from './telephony-ports';
import { TelephonyRepository, type CallbackRequestRow, type CallRecordRow } from './telephony.repository';

export interface TelephonyLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface TelephonyDeps {
  db: Kysely<DB>;
  ports: TelephonyPorts;
  /** The city whose hotline the edge answers; may be given to `start` instead (a first start imports the city after the context is built). */
  cityId?: string;
  /** null: telephony off (TELEPHONY_EDGE=off): the admin, callback, recording and metrics APIs still work. */
  edge: SipEdge | null;
  /** Stable across restarts of this node (host name): a restart closes this node's dangling records. */
  nodeId: string;
  /** The file of a prompt (8 kHz WAV), asked when it is played. */
  promptFile(name: PromptName): string;
  clock?: Clock;
  scheduler?: Scheduler;
  logger?: TelephonyLogger;
  /** How often agent presence and settings are read again (default 2 s): presence changes reach the ACD this late at most. */
  refreshMs?: number;
  /** Default retention of recordings when the city sets none (default 180 days). */
  recordingRetentionDays?: number;
}

/** A call detail record (话单) as the API gives it. */
export interface CallRecordView {
  id: string;
  callId: string;
  edge: string;
  node: string;
  callerNumber: string;
  dialledNumber: string;
  line: { number: string; name: string } | null;
  queue: string;
  priority: number;
  agentUserId: string | null;
  ticketId: string | null;
  offeredAt: string;
  queuedAt: string | null;
  agentOfferedAt: string | null;
  answeredAt: string | null;
  endedAt: string | null;
  outcome: string | null;
  abandonPoint: string | null;
  reoffers: number;
  overflowedTo: string | null;
  endCause: string | null;
  hasRecording: boolean;
}

export interface CallbackRequestView {
  id: string;
  callRecordId: string;
  callerNumber: string;
  queue: string;
  lineName: string | null;
  status: string;
  claimedBy: string | null;
  claimedAt: string | null;
  completedAt: string | null;
  note: string | null;
  requestedAt: string;
}

export interface AgentSettingsView {
  userId: string;
  displayName: string;
  role: string;
  phoneUsername: string | null;
  skills: string[];
  registered: boolean;
}

const noopLogger: TelephonyLogger = { info() {}, warn() {}, error() {} };
const realScheduler = (clock: Clock): Scheduler => ({
  now: () => clock.now(),
  setTimer: (ms, fn) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
});
const MAX_METRICS_DAYS = 93;
const CALLBACK_STATUSES = ['open', 'claimed', 'done'] as const;

const recordNotFound = (id: string) => notFound('CALL_RECORD_NOT_FOUND', `call record ${id} not found`, `话单 ${id} 不存在`);

export function toCallRecordView(r: CallRecordRow, hasRecording = false): CallRecordView {
  return {
    id: r.id, callId: r.edge_call_id, edge: r.edge, node: r.node_id, callerNumber: r.caller_number, dialledNumber: r.dialled_number,
    line: r.line_number ? { number: r.line_number, name: r.line_name ?? r.line_number } : null,
    queue: r.queue, priority: Number(r.priority), agentUserId: r.agent_user_id, ticketId: r.ticket_id,
    offeredAt: dbTimeToIso(r.offered_at)!, queuedAt: dbTimeToIso(r.queued_at), agentOfferedAt: dbTimeToIso(r.agent_offered_at),
    answeredAt: dbTimeToIso(r.answered_at), endedAt: dbTimeToIso(r.ended_at), outcome: r.outcome, abandonPoint: r.abandon_point,
    reoffers: Number(r.reoffers), overflowedTo: r.overflowed_to, endCause: r.end_cause, hasRecording,
  };
}

const toCallbackView = (r: CallbackRequestRow): CallbackRequestView => ({
  id: r.id, callRecordId: r.call_record_id, callerNumber: r.caller_number, queue: r.queue, lineName: r.line_name, status: r.status,
  claimedBy: r.claimed_by, claimedAt: dbTimeToIso(r.claimed_at), completedAt: dbTimeToIso(r.completed_at), note: r.note,
  requestedAt: dbTimeToIso(r.requested_at)!,
});

/**
 * Telephony above the SIP edge: runs the ACD against the edge, writes the call detail records (话单),
 * feeds calls/ (the screen pop), stores recordings, keeps callback requests, computes the metrics,
 * and holds the agents' phones and skills and the queue settings.
 */
export function createTelephonyService(deps: TelephonyDeps) {
  const clock = deps.clock ?? systemClock;
  const scheduler = deps.scheduler ?? realScheduler(clock);
  const logger = deps.logger ?? noopLogger;
  const repo = new TelephonyRepository(deps.db);
  let cityId = deps.cityId ?? '';
  let system: CommandContext = { actor: systemActor(cityId, 'telephony') };
  const now = () => toDbTime(clock.now());

  let queues: Record<string, QueueSettings> = mergeQueueSettings(undefined, {});
  let citySettings: TelephonyCitySettings = {};
  let refreshTimer: NodeJS.Timeout | null = null;
  let wallboardTimer: unknown = null;
  let started = false;
  const registeredPhones = new Set<string>();
  /** Edge call id → record id, for the calls this node holds. */
  const recordIds = new Map<string, string>();
  /** Calls offered to an agent on the console (calls/ has a row for them). */
  const popped = new Set<string>();
  /** Everything that writes runs in order: an event's record exists before the next event of the call acts on it. */
  let chain: Promise<unknown> = Promise.resolve();
  const serially = (what: string, fn: () => Promise<unknown>) => {
    chain = chain.then(fn).catch((err) => logger.error({ err, what }, `telephony: ${what} failed (话务处理出错)`));
    return chain;
  };

  const acd = new Acd({
    scheduler,
    queue: (skill) => queues[skill] ?? null,
    command: (c) => void runCommand(c),
    notice: (n) => void serially(`notice ${n.type}`, () => onNotice(n)),
  });

  async function loadSettings() {
    const raw = (await deps.ports.directory.settingsOf(cityId)).telephony;
    const parsed = TelephonyCitySettings.safeParse(raw ?? {});
    if (!parsed.success) logger.warn({ issues: parsed.error.issues }, 'telephony: the city settings `telephony` are invalid; product defaults apply');
    citySettings = parsed.success ? parsed.data : {};
    const overrides = Object.fromEntries((await repo.queueOverrides(cityId)).map((r) => [r.skill, QueueSettingsInput.parse(JSON.parse(r.settings))]));
    queues = mergeQueueSettings(citySettings, overrides);
  }

  async function refreshAgents() {
    const [settings, presence] = await Promise.all([repo.agents(cityId), deps.ports.presence.list(cityId)]);
    const byUser = new Map(presence.map((p) => [p.userId, p]));
    acd.setAgents(settings.map((s) => {
      const p = byUser.get(s.user_id);
      return {
        userId: s.user_id, phoneUsername: s.phone_username, skills: JSON.parse(s.skills) as string[],
        status: p?.status ?? 'offline', statusSince: p?.since ? (parseIsoWithZone(p.since) ?? new Date(0)) : new Date(0),
      };
    }));
  }

  async function runCommand(c: AcdCommand) {
    const edge = deps.edge;
    if (!edge) return;
    try {
      switch (c.kind) {
        case 'answer':
          return await edge.answer(c.callId);
        case 'play': {
          const prompt: Prompt = { id: c.prompt, file: deps.promptFile(c.prompt), loop: c.prompt === 'queue' };
          return await edge.playPrompt(c.callId, prompt);
        }
        case 'offer': {
          const record = recordIds.has(c.callId) ? await repo.recordByEdgeCallId(c.callId) : null;
          const legId = await edge.offerToAgent(c.callId, { username: c.agent.phoneUsername }, { ringTimeoutMs: c.ringTimeoutMs, callerDisplay: record?.caller_number });
          return acd.offerStarted(c.callId, legId);
        }
        case 'cancel_offer':
          return await edge.cancelAgentOffer(c.callId, c.legId);
        case 'hang_up':
          return await edge.hangUp(c.callId, c.cause);
      }
    } catch (err) {
      logger.warn({ err, command: c }, 'telephony: edge command failed');
      // A phone the edge cannot reach is a failed offer: the call goes to the next agent.
      if (c.kind === 'offer') acd.handle({ type: 'agent.failed', callId: c.callId, legId: '', reason: AgentLegFailure.unreachable, sipStatus: null, at: clock.now() });
      else if (c.kind === 'answer') acd.handle({ type: 'call.ended', callId: c.callId, cause: EndCause.failed, sipStatus: null, at: clock.now() });
    }
  }

  async function audit(recordId: string, action: string, after: Record<string, unknown>, ctx: CommandContext = system, trx: Kysely<DB> = deps.db) {
    await recordAudit(trx, ctx, { entityType: 'telephony_call', entityId: recordId, action, after, cityId }, clock.now());
  }

  /** Writes the record's change and its audit row in one transaction. */
  async function changeRecord(recordId: string, patch: Partial<CallRecordRow>, action: string, after: Record<string, unknown>) {
    await deps.db.transaction().execute(async (trx) => {
      if (!(await new TelephonyRepository(trx).updateOpenRecord(recordId, { ...patch, updated_at: now() }))) return;
      await audit(recordId, action, after, system, trx);
    });
  }

  async function callOffered(e: Extract<EdgeEvent, { type: 'call.offered' }>) {
    const call = e.call;
    const line = await deps.ports.directory.lineByNumber(cityId, call.dialledNumber);
    const lineSkill = line ? citySettings.lineSkills?.[line.number] : citySettings.lineSkills?.[call.dialledNumber.replace(/\D/g, '')];
    const queue = lineSkill && queues[lineSkill] ? lineSkill : Skill.general;
    const priority = await deps.ports.callerPriority(cityId, call.callerNumber).catch((err) => {
      logger.warn({ err }, 'telephony: caller priority lookup failed; ordinary priority');
      return 0;
    });
    const id = newId();
    const at = toDbTime(call.at);
    await deps.db.transaction().execute(async (trx) => {
      await new TelephonyRepository(trx).insertRecord({
        id, city_id: cityId, edge_call_id: call.callId, edge: deps.edge?.kind ?? 'none', node_id: deps.nodeId,
        caller_number: call.callerNumber, dialled_number: call.dialledNumber, line_number: line?.number ?? null, line_name: line?.name ?? null,
        queue, priority, agent_user_id: null, ticket_id: null, offered_at: at, queued_at: null, agent_offered_at: null, answered_at: null,
        ended_at: null, outcome: null, abandon_point: null, reoffers: 0, overflowed_to: null, end_cause: null, created_at: now(), updated_at: now(),
      });
      await audit(id, 'telephony.call_offered', { callId: call.callId, queue, priority, line: line?.number ?? null }, system, trx);
    });
    recordIds.set(call.callId, id);
    acd.callOffered({ callId: call.callId, queue, priority, at: call.at });
  }

  async function onNotice(n: AcdNotice) {
    const recordId = recordIds.get(n.callId);
    if (!recordId) return;
    const at = toDbTime(n.at);
    switch (n.type) {
      case 'queued':
        await changeRecord(recordId, { queued_at: at }, 'telephony.call_queued', { queue: n.queue, priority: n.priority });
        break;
      case 'overflowed':
        await changeRecord(recordId, { overflowed_to: n.to }, 'telephony.call_overflowed', { from: n.from, to: n.to });
        break;
      case 'offered_to_agent': {
        await changeRecord(recordId, { agent_offered_at: at, agent_user_id: n.agentUserId, reoffers: n.reoffers }, 'telephony.call_offered_to_agent', { agentUserId: n.agentUserId, reoffers: n.reoffers });
        const r = (await repo.recordByEdgeCallId(n.callId))!;
        await deps.ports.calls.record(system, {
          type: 'offered', callId: n.callId, callerPhone: r.caller_number, dialledNumber: r.dialled_number, agentId: n.agentUserId, at: dbTimeToIso(at)!,
          queue: { skill: n.queue, name: queues[n.queue]?.name ?? n.queue, waitSeconds: Math.round(n.waitMs / 1000) },
        });
        popped.add(n.callId);
        break;
      }
      case 'agent_not_ready':
        await deps.db.transaction().execute((trx) => audit(recordId, 'telephony.agent_not_ready', { agentUserId: n.agentUserId, reason: n.reason }, system, trx));
        await deps.ports.live.publish({
          type: 'telephony.agent_not_ready', cityId, audience: { center: false, userIds: [n.agentUserId] },
          data: { callId: n.callId, reason: n.reason },
        });
        break;
      case 'answered':
        // Written before anything else happens: a crash from now on still leaves an answered record.
        await changeRecord(recordId, { answered_at: at, agent_user_id: n.agentUserId }, 'telephony.call_answered', { agentUserId: n.agentUserId });
        if (popped.has(n.callId)) await deps.ports.calls.record(system, { type: 'answered', callId: n.callId, at: dbTimeToIso(at)! });
        break;
      case 'callback_offered':
        break;
      case 'callback_requested': {
        const r = (await repo.recordByEdgeCallId(n.callId))!;
        const cb: CallbackRequestRow = {
          id: newId(), city_id: cityId, call_record_id: recordId, caller_number: r.caller_number, queue: n.queue, line_name: r.line_name,
          status: 'open', claimed_by: null, claimed_at: null, completed_at: null, note: null, requested_at: at, updated_at: at,
        };
        await deps.db.transaction().execute(async (trx) => {
          await new TelephonyRepository(trx).insertCallback(cb);
          await recordAudit(trx, system, { entityType: 'telephony_callback', entityId: cb.id, action: 'telephony.callback_requested', after: { callRecordId: recordId, queue: n.queue }, cityId }, clock.now());
        });
        await deps.ports.live.publish({ type: 'telephony.callback_requested', cityId, audience: { center: true, roles: [Role.agent, Role.dispatcher, Role.supervisor] }, data: toCallbackView(cb) });
        break;
      }
      case 'ended':
        await changeRecord(recordId, {
          ended_at: at, outcome: n.end.outcome, abandon_point: n.end.abandonPoint, end_cause: n.end.cause, reoffers: n.end.reoffers,
          agent_user_id: n.end.agentUserId,
        }, 'telephony.call_ended', { outcome: n.end.outcome, abandonPoint: n.end.abandonPoint, cause: n.end.cause });
        recordIds.delete(n.callId);
        if (popped.delete(n.callId)) await deps.ports.calls.record(system, { type: 'ended', callId: n.callId, at: dbTimeToIso(at)! });
        break;
    }
    scheduleWallboard();
  }

  /** The wallboard's numbers go to the supervisors at most once a second while calls move. */
  function scheduleWallboard() {
    if (wallboardTimer || !started) return;
    wallboardTimer = scheduler.setTimer(1000, () => {
      wallboardTimer = null;
      void deps.ports.live.publish({ type: 'telephony.wallboard', cityId, audience: { center: true, roles: [Role.supervisor, Role.admin] }, data: wallboard() })
        .catch((err) => logger.warn({ err }, 'telephony: wallboard push failed'));
    });
  }

  function wallboard() {
    const s = acd.snapshot();
    return {
      at: clock.now().toISOString(),
      queues: Object.values(queues).map((q) => ({ skill: q.skill, name: q.name, ...(s.queues[q.skill] ?? { waiting: 0, longestWaitMs: 0, ringing: 0, talking: 0 }) })),
      agents: {
        available: s.agents.filter((a) => a.status === 'available' && a.registered && !a.onCall && !a.notReady).length,
        onCall: s.agents.filter((a) => a.onCall).length,
        notReady: s.agents.filter((a) => a.notReady).length,
        loggedIn: s.agents.filter((a) => a.status !== 'offline').length,
      },
    };
  }

  async function recordingReady(e: Extract<EdgeEvent, { type: 'recording.ready' }>) {
    const record = await repo.recordByEdgeCallId(e.callId);
    if (!record) return logger.warn({ callId: e.callId }, 'telephony: a recording of an unknown call; left on disk');
    if (await repo.recordingOf(record.id)) return;
    const body = await readFile(e.file.path);
    const day = record.offered_at.slice(0, 10);
    const key = `recordings/${cityId}/${day}/${record.id}.wav`;
    await deps.ports.storage.put(key, body, 'audio/wav');
    const days = citySettings.recordingRetentionDays ?? deps.recordingRetentionDays ?? 180;
    const id = newId();
    await deps.db.transaction().execute(async (trx) => {
      await new TelephonyRepository(trx).insertRecording({
        id, city_id: cityId, call_record_id: record.id, storage_key: key, content_type: 'audio/wav', bytes: body.length, duration_ms: e.file.durationMs,
        stored_at: now(), expires_at: toDbTime(new Date(clock.now().getTime() + days * 86_400_000)), deleted_at: null,
      });
      await recordAudit(trx, system, { entityType: 'telephony_recording', entityId: id, action: 'telephony.recording_stored', after: { callRecordId: record.id, bytes: body.length }, cityId }, clock.now());
    });
    // Stored where attachments live: the edge's temporary file is no longer needed.
    await rm(e.file.path, { force: true });
  }

  function onEdgeEvent(e: EdgeEvent) {
    if (e.type === 'endpoint.registered') registeredPhones.add(e.username);
    if (e.type === 'endpoint.unregistered') registeredPhones.delete(e.username);
    if (e.type === 'call.offered') return void serially('call offered', () => callOffered(e));
    if (e.type === 'recording.ready') return void serially('recording', () => recordingReady(e));
    // Through the chain, so a call's facts reach the ACD after its offer was recorded.
    void serially(e.type, async () => acd.handle(e));
  }

  /** Closes records of calls this node held when it died (or was stopped hard): cause node_restart. */
  async function closeDangling(): Promise<number> {
    const open = await repo.openRecords({ only: [deps.nodeId] });
    for (const r of open) {
      const outcome = r.answered_at ? 'answered' : 'abandoned';
      const abandonPoint = r.answered_at ? null : r.agent_offered_at ? 'ringing' : r.queued_at ? 'queue' : 'ivr';
      await changeRecord(r.id, { ended_at: now(), outcome, abandon_point: abandonPoint, end_cause: EndCause.nodeRestart }, 'telephony.call_ended', { outcome, cause: EndCause.nodeRestart });
    }
    return open.length;
  }

  function requireCenter(actor: Actor) {
    if (!isCenter(actor)) throw forbidden('ROLE_FORBIDDEN', 'only the hotline center may do this', '仅热线中心可执行此操作');
  }
  function requireAdmin(actor: Actor) {
    if (actor.role !== Role.admin && actor.role !== Role.system) throw forbidden('ROLE_FORBIDDEN', 'only an administrator may change telephony settings', '仅系统管理员可修改话务设置');
  }
  function requireQueue(skill: string, field = 'queue') {
    if (!queues[skill]) throw badRequest('TELEPHONY_QUEUE_UNKNOWN', `no queue ${skill}`, `队列 ${skill} 不存在`, { field, known: Object.keys(queues) });
  }

  async function readableRecord(actor: Actor, callId: string): Promise<CallRecordRow> {
    const r = await repo.recordByEdgeCallId(callId);
    if (!r || r.city_id !== actor.cityId) throw recordNotFound(callId);
    return r;
  }

  const service = {
    /** Boot: settings, dangling records, then the edge (if any); the ACD runs from here until `stop`. */
    async start(forCity?: string) {
      if (started) return;
      if (forCity) {
        cityId = forCity;
        system = { actor: systemActor(cityId, 'telephony') };
      }
      if (!cityId) throw new Error('telephony: no city to answer calls for');
      await loadSettings();
      const closed = await closeDangling();
      if (closed) logger.warn({ closed }, 'telephony: closed call records left open by this node before a restart (node_restart)');
      await refreshAgents();
      if (deps.edge) {
        await deps.edge.start(onEdgeEvent);
        const regs = await deps.edge.registrations();
        for (const r of regs) registeredPhones.add(r.username);
        acd.setRegistrations(regs.map((r) => r.username));
      }
      started = true;
      // Presence reaches the ACD by polling: only worth it when calls come in.
      if (deps.edge) {
        refreshTimer = setInterval(() => void refreshAgents().catch((err) => logger.warn({ err }, 'telephony: agent refresh failed')), deps.refreshMs ?? 2000);
        refreshTimer.unref();
      }
    },

    /** Stops the edge (ending its calls, whose records complete) and the timers. */
    async stop() {
      if (refreshTimer) clearInterval(refreshTimer);
      refreshTimer = null;
      if (deps.edge && started) await deps.edge.stop().catch((err) => logger.error({ err }, 'telephony: edge stop failed'));
      started = false;
      if (wallboardTimer) scheduler.clearTimer(wallboardTimer);
      wallboardTimer = null;
      await chain;
    },

    /** Waits until every event received so far is handled (tests, shutdown). */
    idle: () => chain,
    /** Reads presence and agent settings now (tests; the timer does it every `refreshMs`). */
    refreshAgents,
    /** Reads the city's settings and queue overrides again (after a city import). */
    reloadSettings: loadSettings,
    closeDangling,
    health: async () => (deps.edge ? deps.edge.health() : null),
    wallboard: (actor: Actor) => { requireCenter(actor); return wallboard(); },

    /** One call record (话单): center staff; an agent only the calls offered to them. */
    async getRecord(actor: Actor, callId: string): Promise<CallRecordView> {
      requireCenter(actor);
      const r = await readableRecord(actor, callId);
      if (actor.role === Role.agent && r.agent_user_id !== actor.id) throw recordNotFound(callId);
      const rec = await repo.recordingOf(r.id);
      return toCallRecordView(r, !!rec && !rec.deleted_at);
    },

    /** A ticket registered with the call's id: the call is linked to it (answering links the ticket the agent builds). */
    async ticketCreated(ticket: { id: string; cityId: string; callId: string | null }) {
      if (!ticket.callId) return;
      const r = await repo.recordByEdgeCallId(ticket.callId);
      if (!r || r.city_id !== ticket.cityId || r.ticket_id) return;
      await deps.db.transaction().execute(async (trx) => {
        await new TelephonyRepository(trx).setTicket(r.id, ticket.id, now());
        await audit(r.id, 'telephony.call_linked', { ticketId: ticket.id }, system, trx);
      });
    },

    /** Links a call to an existing ticket instead (the caller calls about one already open). */
    async linkTicket(ctx: CommandContext, callId: string, ticketId: string): Promise<CallRecordView> {
      const actor = ctx.actor;
      requireCenter(actor);
      const r = await readableRecord(actor, callId);
      if (actor.role === Role.agent && r.agent_user_id !== actor.id) throw recordNotFound(callId);
      await deps.ports.tickets.readable(actor, ticketId);
      if (r.ticket_id === ticketId) return toCallRecordView(r);
      await deps.db.transaction().execute(async (trx) => {
        await new TelephonyRepository(trx).setTicket(r.id, ticketId, now());
        await audit(r.id, 'telephony.call_linked', { before: r.ticket_id, ticketId }, ctx, trx);
      });
      return toCallRecordView((await repo.recordById(r.city_id, r.id))!);
    },

    /**
     * The recording of a call, if the actor may hear it: center roles; a unit user only for a
     * ticket of their own unit, never a confidential (保密) one; nobody else.
     */
    async recording(actor: Actor, callId: string): Promise<{ body: Buffer; contentType: string; recordId: string }> {
      const r = await readableRecord(actor, callId);
      if (!isCenter(actor)) {
        if (!UNIT_ROLES.has(actor.role) || !r.ticket_id) throw recordNotFound(callId);
        const t = await deps.ports.tickets.readable(actor, r.ticket_id).catch(() => null);
        if (!t || t.handlingUnitId !== actor.unitId) throw recordNotFound(callId);
        if (t.confidential) throw forbidden('RECORDING_CONFIDENTIAL', 'the recording of a confidential ticket is for the hotline center only', '保密工单的录音仅限热线中心收听');
      }
      const rec = await repo.recordingOf(r.id);
      if (!rec) throw notFound('RECORDING_NOT_FOUND', `call ${callId} has no recording`, `通话 ${callId} 没有录音`);
      if (rec.deleted_at) throw notFound('RECORDING_EXPIRED', `the recording of call ${callId} was deleted after its retention period`, `通话 ${callId} 的录音已超过保存期限并删除`);
      return { body: await deps.ports.storage.get(rec.storage_key), contentType: rec.content_type, recordId: r.id };
    },

    /** The retention job: deletes recordings past their retention and marks their rows; returns how many. */
    async purgeExpiredRecordings(onDeleted?: (call: { cityId: string; callId: string }) => Promise<void>): Promise<number> {
      let n = 0;
      for (;;) {
        const due = await repo.expiredRecordings(now(), 100);
        if (!due.length) return n;
        for (const rec of due) {
          await deps.ports.storage.delete(rec.storage_key);
          const deleted = await deps.db.transaction().execute(async (trx) => {
            if (!(await new TelephonyRepository(trx).markRecordingDeleted(rec.id, now()))) return false;
            await recordAudit(trx, system, { entityType: 'telephony_recording', entityId: rec.id, action: 'telephony.recording_deleted', reason: 'retention', cityId: rec.city_id }, clock.now());
            n++;
            return true;
          });
          // What goes with the recording (the call's transcript, speech part) is told after the commit.
          const call = deleted && onDeleted ? await repo.recordById(rec.city_id, rec.call_record_id) : undefined;
          if (call) await onDeleted!({ cityId: rec.city_id, callId: call.edge_call_id });
        }
      }
    },

    async listCallbacks(actor: Actor, status: string[] = ['open', 'claimed'], limit = 100): Promise<CallbackRequestView[]> {
      requireCenter(actor);
      for (const s of status) if (!(CALLBACK_STATUSES as readonly string[]).includes(s)) throw badRequest('CALLBACK_STATUS_INVALID', `unknown status ${s}`, `回拨状态 ${s} 不存在`, { field: 'status' });
      return (await repo.listCallbacks(actor.cityId, status, Math.min(Math.max(limit, 1), 500))).map(toCallbackView);
    },

    /** An agent takes a callback request (认领); a second claim by another agent is refused. */
    async claimCallback(ctx: CommandContext, id: string): Promise<CallbackRequestView> {
      return moveCallback(ctx, id, 'open', 'claimed', (at) => ({ claimed_by: ctx.actor.id, claimed_at: at }));
    },

    /** The agent called back (回拨完成), with a note of the outcome. */
    async completeCallback(ctx: CommandContext, id: string, note: string | null): Promise<CallbackRequestView> {
      return moveCallback(ctx, id, 'claimed', 'done', (at) => ({ completed_at: at, note }));
    },

    /** GB/T 33358 metrics per queue and hour over [from, to) (ISO 8601 with zone; at most 93 days). */
    async metrics(actor: Actor, q: { from: string; to: string; queue?: string | null }) {
      requireCenter(actor);
      const from = parseIsoWithZone(q.from);
      const to = parseIsoWithZone(q.to);
      if (!from) throw badRequest('DATE_INVALID', 'from is not ISO 8601 with a time zone', '开始时间格式不正确', { field: 'from' });
      if (!to) throw badRequest('DATE_INVALID', 'to is not ISO 8601 with a time zone', '结束时间格式不正确', { field: 'to' });
      if (to <= from || to.getTime() - from.getTime() > MAX_METRICS_DAYS * 86_400_000) {
        throw badRequest('PERIOD_INVALID', `to must be after from, at most ${MAX_METRICS_DAYS} days`, `结束时间须晚于开始时间，且不超过 ${MAX_METRICS_DAYS} 天`, { field: 'to' });
      }
      if (q.queue) requireQueue(q.queue);
      const rows = await repo.recordsBetween(actor.cityId, toDbTime(from), toDbTime(to), q.queue ?? null);
      const m = computeMetrics(rows.map(asMetricsCall));
      return { from: from.toISOString(), to: to.toISOString(), queue: q.queue ?? null, serviceLevelSeconds: 15, ...m };
    },

    /**
     * The call counts of [from, to) over every queue, for the reports' contact-center KPIs (their
     * CallMetricsSource port); null when the city has no call records in the period.
     */
    async callCounts(cityOf: string, from: Date, to: Date) {
      const rows = await repo.recordsBetween(cityOf, toDbTime(from), toDbTime(to), null);
      if (!rows.length) return null;
      return callCountsOf(rows.map(asMetricsCall));
    },

    /** The queues with their effective settings (defaults → city settings → admin overrides). */
    listQueues(actor: Actor): QueueSettings[] {
      requireCenter(actor);
      return Object.values(queues);
    },

    async setQueue(ctx: CommandContext, skill: string, input: QueueSettingsInput): Promise<QueueSettings> {
      requireAdmin(ctx.actor);
      const parsed = QueueSettingsInput.parse(input);
      if (parsed.overflowTo) {
        requireQueue(parsed.overflowTo, 'overflowTo');
        if (parsed.overflowTo === skill) throw badRequest('OVERFLOW_TO_SELF', 'a queue cannot overflow to itself', '队列不能溢出到自身', { field: 'overflowTo' });
      }
      const before = queues[skill] ?? null;
      const existing = (await repo.queueOverrides(ctx.actor.cityId)).find((r) => r.skill === skill);
      const merged = { ...(existing ? JSON.parse(existing.settings) : {}), ...parsed };
      await deps.db.transaction().execute(async (trx) => {
        await new TelephonyRepository(trx).saveQueueOverride(ctx.actor.cityId, skill, JSON.stringify(merged), now());
        await recordAudit(trx, ctx, { entityType: 'telephony_queue', entityId: `${ctx.actor.cityId}:${skill}`, action: 'telephony.queue_set', before, after: merged, cityId: ctx.actor.cityId }, clock.now());
      });
      if (ctx.actor.cityId === cityId) await loadSettings();
      return queues[skill] ?? mergeQueueSettings(undefined, { [skill]: merged })[skill]!;
    },

    async listAgents(actor: Actor): Promise<AgentSettingsView[]> {
      requireCenter(actor);
      const [staff, rows] = await Promise.all([deps.ports.staff.list(actor.cityId), repo.agents(actor.cityId)]);
      const byUser = new Map(rows.map((r) => [r.user_id, r]));
      return staff.filter((u) => SEAT_ROLES.has(u.role as Role)).map((u) => {
        const r = byUser.get(u.id);
        return {
          userId: u.id, displayName: u.displayName, role: u.role, phoneUsername: r?.phone_username ?? null,
          skills: r ? (JSON.parse(r.skills) as string[]) : [], registered: !!r?.phone_username && registeredPhones.has(r.phone_username),
        };
      });
    },

    /** An agent's phone (SIP username) and skills (技能组). */
    async setAgent(ctx: CommandContext, userId: string, input: { phoneUsername: string | null; skills: string[] }): Promise<AgentSettingsView> {
      requireAdmin(ctx.actor);
      const user = (await deps.ports.staff.list(ctx.actor.cityId)).find((u) => u.id === userId);
      if (!user) throw notFound('USER_NOT_FOUND', `no user ${userId} in this city`, `用户 ${userId} 不存在`);
      if (!SEAT_ROLES.has(user.role as Role)) throw badRequest('AGENT_INVALID', `${user.username} is not an agent or dispatcher`, `${user.displayName} 不是坐席`, { field: 'userId' });
      const skills = [...new Set(input.skills)];
      for (const s of skills) requireQueue(s, 'skills');
      if (input.phoneUsername) {
        const other = await repo.agentByPhone(input.phoneUsername);
        if (other && other.user_id !== userId) throw conflict('PHONE_TAKEN', `phone ${input.phoneUsername} belongs to another agent`, `话机账号 ${input.phoneUsername} 已分配给其他坐席`, { field: 'phoneUsername' });
      }
      const before = await repo.agent(userId);
      const row = { user_id: userId, city_id: ctx.actor.cityId, phone_username: input.phoneUsername, skills: JSON.stringify(skills), updated_at: now() };
      await deps.db.transaction().execute(async (trx) => {
        await new TelephonyRepository(trx).saveAgent(row);
        await recordAudit(trx, ctx, {
          entityType: 'telephony_agent', entityId: userId, action: 'telephony.agent_set', cityId: ctx.actor.cityId,
          before: before ? { phoneUsername: before.phone_username, skills: JSON.parse(before.skills) } : null, after: { phoneUsername: input.phoneUsername, skills },
        }, clock.now());
      });
      await refreshAgents();
      return (await service.listAgents(ctx.actor)).find((a) => a.userId === userId)!;
    },

    /** Sets the password of an agent's phone; stored as HA1 in sip_endpoints, linked to the agent. */
    async setPhonePassword(ctx: CommandContext, userId: string, password: string): Promise<void> {
      requireAdmin(ctx.actor);
      const a = await repo.agent(userId);
      if (!a || a.city_id !== ctx.actor.cityId || !a.phone_username) {
        throw conflict('AGENT_NO_PHONE', 'the agent has no phone: set phoneUsername first', '该坐席未配置话机账号，请先设置话机账号', { field: 'userId' });
      }
      // The credential table checks the password and writes the audit row (never the secret).
      await deps.ports.credentials.setPassword(ctx, { cityId: ctx.actor.cityId, username: a.phone_username, password, userId });
    },
  };

  async function moveCallback(ctx: CommandContext, id: string, from: string, to: string, patch: (at: string) => Partial<CallbackRequestRow>) {
    const actor = ctx.actor;
    requireCenter(actor);
    const cb = await repo.callback(actor.cityId, id);
    if (!cb) throw notFound('CALLBACK_NOT_FOUND', `callback request ${id} not found`, `回拨请求 ${id} 不存在`);
    if (to === 'done' && cb.claimed_by !== actor.id && actor.role !== Role.admin) {
      throw forbidden('CALLBACK_NOT_YOURS', 'only the agent who claimed it completes a callback', '只有认领人可以完成此回拨');
    }
    if (cb.status === to && (to !== 'claimed' || cb.claimed_by === actor.id)) return toCallbackView(cb);
    const at = now();
    const ok = await deps.db.transaction().execute(async (trx) => {
      if (!(await new TelephonyRepository(trx).moveCallback(id, from, { status: to, updated_at: at, ...patch(at) }))) return false;
      await recordAudit(trx, ctx, { entityType: 'telephony_callback', entityId: id, action: `telephony.callback_${to}`, before: { status: cb.status }, after: { status: to }, cityId: actor.cityId }, clock.now());
      return true;
    });
    if (!ok) throw conflict('CALLBACK_STATE', `the callback request is ${cb.status}, not ${from}`, `回拨请求当前状态不允许此操作`, { status: cb.status });
    return toCallbackView((await repo.callback(actor.cityId, id))!);
  }

  return service;
}

export type TelephonyService = ReturnType<typeof createTelephonyService>;

/** A call record as the metrics read it. */
function asMetricsCall(r: { queue: string; offered_at: string; queued_at: string | null; answered_at: string | null; ended_at: string | null; outcome: string | null }): MetricsCall {
  return {
    queue: r.queue, offeredAt: fromDbTime(r.offered_at), queuedAt: r.queued_at ? fromDbTime(r.queued_at) : null,
    answeredAt: r.answered_at ? fromDbTime(r.answered_at) : null, endedAt: r.ended_at ? fromDbTime(r.ended_at) : null, outcome: r.outcome,
  };
}
