import type { Kysely } from 'kysely';
import type { DB, DialectName } from '../db';
import {
  badRequest, conflict, dbTimeToIso, fromDbTime, isCenter, newId, normalizePhone, notFound, Role, systemClock, toDbTime, TtlCache,
  parseIsoWithZone, type Actor, type Clock, type CommandContext,
} from '../core';
import { recordAudit } from '../audit';
import { CallsRepository, type CallRow } from './calls.repository';
import { assembleTranscript, maskSpokenNumbers, type Speaker } from './domain/transcript';
import type { CallerHistory, CallLine, CallPorts, CallStaff } from './ports';

/** What the telephony gateway reports about a call (来电事件). `at`: when it happened; default now. */
export type CallEvent =
  | {
    type: 'offered'; callId: string; callerPhone: string; dialledNumber: string; agentUsername?: string; agentId?: string; at?: string;
    /** The ACD queue the call waited in (排队) and how long: shown on the pop, not stored (the call record has it). */
    queue?: CallQueueInfo;
  }
  | {
    /**
     * A recognised segment (语音转写) of one party's speech; `seq` is numbered per party. `startMs`/`endMs`:
     * from the start of that party's stream; `confidence`: 0..1. Final ones are stored, partials only pushed.
     */
    type: 'transcript'; callId: string; seq: number; text: string; final: boolean; speaker: Speaker; at?: string;
    startMs?: number; endMs?: number; confidence?: number | null;
  }
  | { type: 'answered'; callId: string; at?: string }
  | { type: 'ended'; callId: string; at?: string };

/** Where a call waited before it was offered to the agent. */
export interface CallQueueInfo {
  skill: string;
  name: string;
  waitSeconds: number;
}

export interface CallView {
  id: string;
  /** The gateway's id of the call (what a ticket's `callId` holds). */
  callId: string;
  callerPhone: string | null;
  dialledNumber: string;
  /** The merged legacy line dialled (热线归并), null for 12345 itself. */
  line: { number: string; name: string } | null;
  lineName: string;
  agentUserId: string | null;
  offeredAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  transcript: string | null;
  segments: { seq: number; speaker: string; text: string; at: string; startMs: number | null; endMs: number | null; confidence: number | null }[];
}

/** A stored final segment that matched a transcript search. */
export interface TranscriptSegmentHit {
  callId: string;
  offeredAt: string;
  party: Speaker;
  text: string;
  startMs: number;
  /** The agent the call was offered to (an agent searches only their own calls). */
  agentUserId: string | null;
}

export interface CallDeps extends CallPorts {
  db: Kysely<DB>;
  dialect: DialectName;
  clock?: Clock;
  /** Words of a segment for transcript search (jieba, from routing's tokenizer); none: segments are not searchable. */
  tokenize?: (text: string) => string[];
}

/** What a call to 12345 itself is called on an agent's screen. */
export const MAIN_LINE_NAME = '12345政务服务便民热线';
/** How many of the caller's tickets the pop-up carries (intake gives the newest first). */
const HISTORY_TICKETS = 10;
/** Who watches calls nobody was offered yet (the queue on the wallboard). */
const QUEUE_WATCHERS = [Role.supervisor, Role.admin];

const callNotFound = (callId: string) => notFound('CALL_NOT_FOUND', `call ${callId} not found`, `通话 ${callId} 不存在`);

/**
 * Calls (来电): the telephony gateway's events stored per call, and pushed to the agent's console:
 * the pop-up with the caller's history (来电弹屏), the live transcript, the end of the call.
 * Every event may be posted twice (gateways retry): a repeat stores nothing and pushes nothing.
 */
export function createCallService(deps: CallDeps) {
  const clock = deps.clock ?? systemClock;
  const repo = new CallsRepository(deps.db, deps.dialect);
  const staffCache = new TtlCache<CallStaff[]>(60_000, 1000);

  async function staffOf(cityId: string, fresh = false): Promise<CallStaff[]> {
    const hit = fresh ? undefined : staffCache.get(cityId);
    if (hit) return hit;
    const users = await deps.identity.listUsers(cityId);
    staffCache.set(cityId, users);
    return users;
  }

  /** The agent a call is offered to: a hotline-center user of the city, by id or username. */
  async function resolveAgent(cityId: string, ref: { agentId?: string; agentUsername?: string }): Promise<CallStaff | null> {
    if (!ref.agentId && !ref.agentUsername) return null;
    const match = (u: CallStaff) => (ref.agentId ? u.id === ref.agentId : u.username === ref.agentUsername!.trim().toLowerCase());
    // A new agent may be missing from the cached list: look again before refusing.
    const agent = (await staffOf(cityId)).find(match) ?? (await staffOf(cityId, true)).find(match);
    const who = ref.agentId ?? ref.agentUsername;
    if (!agent) throw badRequest('AGENT_NOT_FOUND', `no user ${who} in this city`, `坐席 ${who} 不存在`, { field: ref.agentId ? 'agentId' : 'agentUsername' });
    if (!isCenter(agent)) throw badRequest('AGENT_INVALID', `${who} is not hotline center staff`, `${who} 不是热线中心坐席`, { field: ref.agentId ? 'agentId' : 'agentUsername' });
    return agent;
  }

  function eventTime(at: string | undefined): Date {
    if (!at) return clock.now();
    const d = parseIsoWithZone(at);
    if (!d) throw badRequest('DATE_INVALID', 'at is not ISO 8601 with a time zone', '时间格式不正确', { field: 'at' });
    return d;
  }

  async function history(actor: Actor, phone: string | null): Promise<CallerHistory | null> {
    if (!phone) return null;
    const h = await deps.intake.lookupCitizen(actor, phone);
    return {
      citizen: h.citizen ? { id: h.citizen.id, name: h.citizen.name, confidential: h.citizen.confidential } : null,
      tickets: h.tickets.slice(0, HISTORY_TICKETS).map((t) => ({
        id: t.id, number: t.number, status: t.status, statusZh: t.statusZh, title: t.title, handlingUnitId: t.handlingUnitId, createdAt: t.createdAt, updatedAt: t.updatedAt,
      })),
      openTickets: h.openTickets,
      repeatCaller: h.repeatCaller,
    };
  }

  /** The call as a viewer sees it: outside the center, numbers spoken in the transcript are masked. */
  async function view(row: CallRow, viewer?: Actor): Promise<CallView> {
    const segments = await repo.segmentsOf(row.id);
    const mask = viewer && !isCenter(viewer) ? maskSpokenNumbers : (t: string) => t;
    return {
      id: row.id,
      callId: row.call_id,
      callerPhone: row.caller_phone,
      dialledNumber: row.dialled_number,
      line: row.line_number ? { number: row.line_number, name: row.line_name ?? row.line_number } : null,
      lineName: row.line_name ?? MAIN_LINE_NAME,
      agentUserId: row.agent_user_id,
      offeredAt: dbTimeToIso(row.offered_at)!,
      answeredAt: dbTimeToIso(row.answered_at),
      endedAt: dbTimeToIso(row.ended_at),
      transcript: row.transcript === null ? null : mask(row.transcript),
      segments: segments.map((s) => ({
        seq: Number(s.seq), speaker: s.speaker, text: mask(s.text), at: dbTimeToIso(s.at)!,
        startMs: s.start_ms === null ? null : Number(s.start_ms), endMs: s.end_ms === null ? null : Number(s.end_ms),
        confidence: s.confidence === null ? null : Number(s.confidence),
      })),
    };
  }

  async function requireCall(cityId: string, callId: string): Promise<CallRow> {
    const row = await repo.findByCallId(cityId, callId);
    if (!row) throw callNotFound(callId);
    return row;
  }

  /** The pop-up (来电弹屏): to the agent offered the call, or to the supervisors while it waits. */
  async function publishOffered(actor: Actor, row: CallRow, line: CallLine | null, queue: CallQueueInfo | null) {
    const pop = {
      call: { id: row.id, callId: row.call_id, callerPhone: row.caller_phone, dialledNumber: row.dialled_number, offeredAt: dbTimeToIso(row.offered_at) },
      line: line ? { number: line.number, name: line.name, mergedOn: line.mergedOn } : null,
      lineName: line?.name ?? MAIN_LINE_NAME,
      queue,
      agentUserId: row.agent_user_id,
      history: await history(actor, row.caller_phone && normalizePhone(row.caller_phone)),
    };
    await deps.live.publish({
      type: 'call.offered',
      cityId: row.city_id,
      audience: row.agent_user_id ? { center: false, userIds: [row.agent_user_id] } : { center: true, roles: QUEUE_WATCHERS },
      data: pop, // center staff only: no outside payload, the caller's number stays in the center
    });
  }

  async function publishToAgent(row: CallRow, type: string, data: Record<string, unknown>) {
    if (!row.agent_user_id) return;
    await deps.live.publish({ type, cityId: row.city_id, audience: { center: false, userIds: [row.agent_user_id] }, data: { callId: row.call_id, ...data } });
  }

  async function offered(ctx: CommandContext, e: Extract<CallEvent, { type: 'offered' }>) {
    const cityId = ctx.actor.cityId;
    const at = toDbTime(eventTime(e.at));
    const agent = await resolveAgent(cityId, e);
    const line = await deps.directory.lineByNumber(cityId, e.dialledNumber);
    // A withheld or foreign number is kept as given; only a Chinese number has a history.
    const phone = normalizePhone(e.callerPhone) ?? (e.callerPhone.trim() || null);
    const existing = await repo.findByCallId(cityId, e.callId);
    if (existing) {
      if ((existing.agent_user_id ?? null) === (agent?.id ?? null)) return { duplicate: true, row: existing };
      if (existing.answered_at || existing.ended_at) {
        throw conflict('CALL_ALREADY_ANSWERED', `call ${e.callId} was already answered or ended`, `通话 ${e.callId} 已接听或已结束，不能再转给其他坐席`);
      }
      // Re-offered after no answer (振铃未接): the first agent's pop-up is withdrawn.
      await repo.update(existing.id, { agent_user_id: agent?.id ?? null, updated_at: at });
      await publishToAgent(existing, 'call.withdrawn', { reason: 'reoffered' });
      const row = (await repo.findByCallId(cityId, e.callId))!;
      await publishOffered(ctx.actor, row, line, e.queue ?? null);
      return { duplicate: false, row };
    }
    const row: CallRow = {
      id: newId(), city_id: cityId, call_id: e.callId, caller_phone: phone, dialled_number: e.dialledNumber.trim(),
      line_number: line?.number ?? null, line_name: line?.name ?? null, agent_user_id: agent?.id ?? null,
      offered_at: at, answered_at: null, ended_at: null, transcript: null, created_at: toDbTime(clock.now()), updated_at: toDbTime(clock.now()),
    };
    // Two posts of one call at once: the unique key lets one in; the other is the duplicate.
    if (!(await repo.insertCall(row))) return { duplicate: true, row: (await repo.findByCallId(cityId, e.callId))! };
    await publishOffered(ctx.actor, row, line, e.queue ?? null);
    return { duplicate: false, row };
  }

  async function transcript(ctx: CommandContext, e: Extract<CallEvent, { type: 'transcript' }>) {
    const row = await requireCall(ctx.actor.cityId, e.callId);
    const at = toDbTime(eventTime(e.at));
    const timing = { startMs: e.startMs ?? null, endMs: e.endMs ?? null, confidence: e.confidence ?? null };
    if (e.final) {
      const words = deps.tokenize?.(e.text) ?? [];
      const fresh = await repo.insertSegment({
        id: newId(), call_ref: row.id, seq: e.seq, speaker: e.speaker, text: e.text, at,
        start_ms: timing.startMs, end_ms: timing.endMs, confidence: timing.confidence, tokens: words.length ? ` ${words.join(' ')} ` : '',
      });
      if (!fresh) return { duplicate: true, row };
      const segments = await repo.segmentsOf(row.id);
      await repo.update(row.id, {
        transcript: assembleTranscript(segments.map((s) => ({ seq: Number(s.seq), speaker: s.speaker as Speaker, text: s.text, startMs: s.start_ms === null ? null : Number(s.start_ms) }))),
        updated_at: at,
      });
    }
    // Interim text (final: false) is only shown, never stored: the final segment replaces it.
    // `party` repeats `speaker` in the speech port's word (speech/ports.ts).
    await publishToAgent(row, 'call.transcript', { seq: e.seq, text: e.text, final: e.final, speaker: e.speaker, party: e.speaker, ...timing });
    return { duplicate: false, row: (await repo.findByCallId(row.city_id, row.call_id))! };
  }

  async function answeredOrEnded(ctx: CommandContext, e: Extract<CallEvent, { type: 'answered' | 'ended' }>) {
    const row = await requireCall(ctx.actor.cityId, e.callId);
    const at = toDbTime(eventTime(e.at));
    const column = e.type === 'answered' ? 'answered_at' : 'ended_at';
    if (!(await repo.setOnce(row.id, column, at))) return { duplicate: true, row };
    const after = (await repo.findByCallId(row.city_id, row.call_id))!;
    const data: Record<string, unknown> = { at: dbTimeToIso(at) };
    if (e.type === 'ended' && after.answered_at) {
      data.talkSeconds = Math.max(0, Math.round((fromDbTime(at).getTime() - fromDbTime(after.answered_at).getTime()) / 1000));
    }
    await publishToAgent(after, e.type === 'answered' ? 'call.answered' : 'call.ended', data);
    return { duplicate: false, row: after };
  }

  return {
    /** Stores a gateway event and pushes it to the agent; a repeat of one already stored returns `duplicate: true`. */
    async record(ctx: CommandContext, e: CallEvent): Promise<{ duplicate: boolean; call: CallView }> {
      const r =
        e.type === 'offered' ? await offered(ctx, e) : e.type === 'transcript' ? await transcript(ctx, e) : await answeredOrEnded(ctx, e);
      return { duplicate: r.duplicate, call: await view(r.row) };
    },

    /** One call with its transcript: center staff; an agent only the calls offered to them. */
    async getCall(actor: Actor, callId: string): Promise<CallView> {
      const row = await repo.findByCallId(actor.cityId, callId);
      // Another agent's call looks the same as a missing one.
      if (!row || !isCenter(actor) || (actor.role === Role.agent && row.agent_user_id !== actor.id)) throw callNotFound(callId);
      return view(row, actor);
    },

    /** Who a call is offered to and whether it is over, for the parts that feed it (speech); null: unknown call. */
    async callFacts(cityId: string, callId: string): Promise<{ callId: string; agentUserId: string | null; endedAt: string | null } | null> {
      const row = await repo.findByCallId(cityId, callId);
      return row ? { callId: row.call_id, agentUserId: row.agent_user_id, endedAt: dbTimeToIso(row.ended_at) } : null;
    },

    /** What one party said in a call (final segments in order, no speaker marks): the text the routing plan reads. */
    async spokenText(actor: Actor, callId: string, party: Speaker = 'caller'): Promise<string> {
      const call = await this.getCall(actor, callId);
      return call.segments
        .filter((s) => s.speaker === party)
        .sort((a, b) => (a.startMs ?? 0) - (b.startMs ?? 0) || a.seq - b.seq)
        .map((s) => s.text.trim())
        .filter(Boolean)
        .join('，');
    },

    /**
     * Stored segments holding every word (jieba words of the query), newest call first. No access
     * check here: the caller (speech's search) narrows by `callIds` and filters by ticket.
     */
    async searchSegments(cityId: string, words: string[], limit: number, callIds?: string[]): Promise<TranscriptSegmentHit[]> {
      const rows = await repo.searchSegments(cityId, words, limit, callIds);
      return rows.map((r) => ({
        callId: r.call_id, offeredAt: dbTimeToIso(r.offered_at)!, party: r.speaker as Speaker, text: r.text, startMs: r.start_ms === null ? 0 : Number(r.start_ms),
        agentUserId: r.agent_user_id,
      }));
    },

    /** Deletes a call's transcript with its recording (retention, 保存期限); audited. Returns the segments deleted. */
    async deleteTranscript(ctx: CommandContext, callId: string, reason: string): Promise<number> {
      const row = await repo.findByCallId(ctx.actor.cityId, callId);
      if (!row) return 0;
      return deps.db.transaction().execute(async (trx) => {
        const n = await new CallsRepository(trx, deps.dialect).deleteTranscript(row.id, toDbTime(clock.now()));
        if (n > 0 || row.transcript !== null) {
          await recordAudit(trx, ctx, { entityType: 'call', entityId: row.id, action: 'call.transcript_deleted', after: { callId, segments: n }, reason, cityId: row.city_id }, clock.now());
        }
        return n;
      });
    },
  };
}

export type CallService = ReturnType<typeof createCallService>;
