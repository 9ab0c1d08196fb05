/**
 * The ACD (自动呼叫分配, 排队分配): a small state machine per installation, driven by the edge's facts
 * ({@link EdgeEvent}), the agents' state and a clock. It decides; it does nothing itself: commands go
 * to `command` (the runner turns them into SipEdge calls) and what happened to `notice` (call
 * records, the screen pop, the wallboard). Timers go through an injected {@link Scheduler} so the
 * tests run it on fake time.
 *
 * The rules (as real ACDs do them):
 * - A call waits in the queue of its line's skill; higher priority first (repeat callers with an
 *   open urgent ticket), then the longest waiting.
 * - The agent who has been idle longest (最长空闲) among those available (空闲), holding the skill
 *   and with a registered phone, is offered the call; their phone rings for the queue's ring time.
 * - An agent who lets it ring out or declines goes not-ready (未接置忙): they are offered nothing
 *   until their console chooses 空闲 again. The call goes to the next agent (re-offer, 重新分配).
 * - After the queue's overflow wait the call may also go to the overflow queue's agents (溢出).
 * - After the maximum wait (shorter when nobody of the queue is logged in) the caller hears an offer
 *   of a callback: 1 leaves a callback request (回拨请求, a work item for agents); otherwise a
 *   polite goodbye and the hotline hangs up.
 */
import { AgentLegFailure, EndCause, type EdgeEvent } from '../ports';
import type { QueueSettings } from './queues';

/** Timers of the ACD; the real one wraps setTimeout, the tests' one advances by hand. */
export interface Scheduler {
  now(): Date;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
}

/** An agent as the ACD sees one: from presence (the console), the agent settings and the edge's registrations. */
export interface AcdAgent {
  userId: string;
  /** The SIP username of the agent's phone (坐席话机), null when none is configured. */
  phoneUsername: string | null;
  skills: string[];
  /** Presence: only `available` (空闲) takes calls; `offline` is not logged in. */
  status: string;
  /** When the presence status last changed. */
  statusSince: Date;
}

/** Where a caller gave up (放弃点). */
export const AbandonPoint = { ivr: 'ivr', queue: 'queue', ringing: 'ringing' } as const;
export type AbandonPoint = (typeof AbandonPoint)[keyof typeof AbandonPoint];

/** How a call ended for the hotline (话单结果). */
export const CallOutcome = {
  answered: 'answered', // 接通
  abandoned: 'abandoned', // 放弃 (the caller hung up before an agent answered)
  callback: 'callback', // 留言回拨
  rejected: 'rejected', // refused by the hotline: no answer at all, or hung up after the maximum wait
} as const;
export type CallOutcome = (typeof CallOutcome)[keyof typeof CallOutcome];

/** The prompts the ACD asks for; the runner maps them to the city's audio files. */
export const PromptName = {
  queue: 'queue', // 排队等待音乐 (loops)
  callbackOffer: 'callback_offer', // 坐席忙，按1留下回拨请求
  callbackConfirmed: 'callback_confirmed', // 已登记，稍后回电
  goodbye: 'goodbye', // 感谢来电，再见
} as const;
export type PromptName = (typeof PromptName)[keyof typeof PromptName];

export type AcdCommand =
  | { kind: 'answer'; callId: string }
  | { kind: 'play'; callId: string; prompt: PromptName }
  | { kind: 'offer'; callId: string; agent: { userId: string; phoneUsername: string }; ringTimeoutMs: number }
  | { kind: 'cancel_offer'; callId: string; legId: string }
  | { kind: 'hang_up'; callId: string; cause: EndCause };

export interface CallEnd {
  outcome: CallOutcome;
  abandonPoint: AbandonPoint | null;
  cause: EndCause;
  agentUserId: string | null;
  reoffers: number;
}

export type AcdNotice =
  | { type: 'queued'; callId: string; queue: string; priority: number; at: Date }
  | { type: 'offered_to_agent'; callId: string; agentUserId: string; queue: string; waitMs: number; reoffers: number; at: Date }
  | { type: 'answered'; callId: string; agentUserId: string; queue: string; at: Date }
  | { type: 'agent_not_ready'; callId: string; agentUserId: string; reason: AgentLegFailure; at: Date }
  | { type: 'overflowed'; callId: string; from: string; to: string; at: Date }
  | { type: 'callback_offered'; callId: string; at: Date }
  | { type: 'callback_requested'; callId: string; queue: string; at: Date }
  | { type: 'ended'; callId: string; end: CallEnd; at: Date };

export interface AcdDeps {
  scheduler: Scheduler;
  /** The queue settings by skill (the runner keeps them current). */
  queue(skill: string): QueueSettings | null;
  command(c: AcdCommand): void;
  notice(n: AcdNotice): void;
  /** How long a caller has to press 1 after the callback offer ends (default 8 s). */
  dtmfWaitMs?: number;
  /** A prompt that never reports its end still ends the call after this (default 30 s). */
  promptGuardMs?: number;
}

type Phase = 'ivr' | 'queued' | 'ringing' | 'talking' | 'callback_offer' | 'closing';

interface AcdCall {
  callId: string;
  queue: string;
  /** The skills whose agents may take it: its queue, plus the overflow queues once reached. */
  skills: string[];
  priority: number;
  phase: Phase;
  offeredAt: Date;
  queuedAt: Date | null;
  ringing: { agentUserId: string; legId: string | null } | null;
  agentUserId: string | null;
  reoffers: number;
  callbackAccepted: boolean;
  /** The hotline decided to end it (maximum wait): not an abandon. */
  closingCause: 'callback' | 'max_wait' | null;
  timers: unknown[];
  promptTimer: unknown;
}

interface AgentState extends AcdAgent {
  registered: boolean;
  /** On a call of this ACD (ringing or talking): never offered a second one. */
  busyWith: string | null;
  /** Set when they let a call ring out: not ready until their status changes after it. */
  missedAt: Date | null;
  lastReleasedAt: Date | null;
}

export class Acd {
  private readonly calls = new Map<string, AcdCall>();
  private readonly agents = new Map<string, AgentState>();
  private readonly registered = new Set<string>();
  private readonly dtmfWaitMs: number;
  private readonly promptGuardMs: number;

  constructor(private readonly deps: AcdDeps) {
    this.dtmfWaitMs = deps.dtmfWaitMs ?? 8000;
    this.promptGuardMs = deps.promptGuardMs ?? 30_000;
  }

  private now() {
    return this.deps.scheduler.now();
  }

  /** The agents as they are now (presence, skills, phones); a status change clears not-ready. */
  setAgents(list: AcdAgent[]): void {
    const seen = new Set<string>();
    for (const a of list) {
      seen.add(a.userId);
      const before = this.agents.get(a.userId);
      const missedAt = before?.missedAt && a.statusSince.getTime() <= before.missedAt.getTime() ? before.missedAt : null;
      this.agents.set(a.userId, {
        ...a, registered: !!a.phoneUsername && this.registered.has(a.phoneUsername),
        busyWith: before?.busyWith ?? null, missedAt, lastReleasedAt: before?.lastReleasedAt ?? null,
      });
    }
    for (const [id, a] of this.agents) if (!seen.has(id) && !a.busyWith) this.agents.delete(id);
    this.dispatch();
  }

  /** The phones registered now (from `registrations()` at start). */
  setRegistrations(usernames: string[]): void {
    this.registered.clear();
    for (const u of usernames) this.registered.add(u);
    for (const a of this.agents.values()) a.registered = !!a.phoneUsername && this.registered.has(a.phoneUsername);
    this.dispatch();
  }

  /**
   * A new call, with its queue (from the dialled line) and priority (0 normal, higher first) decided
   * by the runner. The hotline answers it; it queues once the answer is confirmed.
   */
  callOffered(c: { callId: string; queue: string; priority: number; at: Date }): void {
    if (this.calls.has(c.callId)) return;
    const settings = this.deps.queue(c.queue);
    const queue = settings ? c.queue : 'general';
    this.calls.set(c.callId, {
      callId: c.callId, queue, skills: [queue], priority: c.priority, phase: 'ivr', offeredAt: c.at, queuedAt: null, ringing: null,
      agentUserId: null, reoffers: 0, callbackAccepted: false, closingCause: null, timers: [], promptTimer: null,
    });
    this.deps.command({ kind: 'answer', callId: c.callId });
  }

  /** The id the edge gave to the agent leg the ACD asked for. */
  offerStarted(callId: string, legId: string): void {
    const call = this.calls.get(callId);
    if (call?.ringing && !call.ringing.legId) call.ringing.legId = legId;
  }

  /** Every fact the edge reports, in order. */
  handle(e: EdgeEvent): void {
    switch (e.type) {
      case 'endpoint.registered':
        this.registered.add(e.username);
        for (const a of this.agents.values()) if (a.phoneUsername === e.username) a.registered = true;
        return this.dispatch();
      case 'endpoint.unregistered':
        this.registered.delete(e.username);
        for (const a of this.agents.values()) if (a.phoneUsername === e.username) a.registered = false;
        return;
      case 'call.answered':
        return this.enqueue(e.callId);
      case 'call.dtmf':
        return this.dtmf(e.callId, e.digit);
      case 'prompt.finished':
        return this.promptFinished(e.callId, e.promptId);
      case 'agent.answered':
        return this.agentAnswered(e.callId, e.legId, e.at);
      case 'agent.failed':
        return this.agentFailed(e.callId, e.legId, e.reason, e.at);
      case 'call.ended':
        return this.ended(e.callId, e.cause, e.at);
      default:
        return;
    }
  }

  /** What the wallboard shows now: per queue, who waits and for how long; agents by status. */
  snapshot() {
    const now = this.now().getTime();
    const queues: Record<string, { waiting: number; longestWaitMs: number; ringing: number; talking: number }> = {};
    const q = (s: string) => (queues[s] ??= { waiting: 0, longestWaitMs: 0, ringing: 0, talking: 0 });
    for (const c of this.calls.values()) {
      const s = q(c.queue);
      if (c.phase === 'queued' || c.phase === 'callback_offer') {
        s.waiting++;
        s.longestWaitMs = Math.max(s.longestWaitMs, now - (c.queuedAt ?? c.offeredAt).getTime());
      } else if (c.phase === 'ringing') s.ringing++;
      else if (c.phase === 'talking') s.talking++;
    }
    const agents = [...this.agents.values()].map((a) => ({
      userId: a.userId, status: a.status, registered: a.registered, onCall: a.busyWith !== null, notReady: a.missedAt !== null, skills: a.skills,
    }));
    return { queues, agents };
  }

  /** Whether the call is known (offered and not yet ended). */
  has(callId: string): boolean {
    return this.calls.has(callId);
  }

  private enqueue(callId: string) {
    const call = this.calls.get(callId);
    if (!call || call.phase !== 'ivr') return;
    const settings = this.deps.queue(call.queue)!;
    call.phase = 'queued';
    call.queuedAt = this.now();
    this.deps.notice({ type: 'queued', callId, queue: call.queue, priority: call.priority, at: call.queuedAt });
    this.deps.command({ kind: 'play', callId, prompt: 'queue' });
    if (settings.overflowAfterSeconds != null && settings.overflowTo && settings.overflowTo !== call.queue) {
      const to = settings.overflowTo;
      call.timers.push(this.deps.scheduler.setTimer(settings.overflowAfterSeconds * 1000, () => this.overflow(callId, to)));
    }
    const nobody = !this.anyoneLoggedIn(call.queue);
    const maxWait = (nobody ? settings.noAgentMaxWaitSeconds : settings.maxWaitSeconds) * 1000;
    call.timers.push(this.deps.scheduler.setTimer(maxWait, () => this.maxWaitReached(callId)));
    this.dispatch();
  }

  private anyoneLoggedIn(skill: string) {
    for (const a of this.agents.values()) if (a.status !== 'offline' && a.skills.includes(skill)) return true;
    return false;
  }

  private overflow(callId: string, to: string) {
    const call = this.calls.get(callId);
    if (!call || (call.phase !== 'queued' && call.phase !== 'ringing') || call.skills.includes(to)) return;
    call.skills.push(to);
    this.deps.notice({ type: 'overflowed', callId, from: call.queue, to, at: this.now() });
    this.dispatch();
  }

  private maxWaitReached(callId: string) {
    const call = this.calls.get(callId);
    if (!call) return;
    if (call.phase === 'ringing' && call.ringing) {
      // The caller waited long enough: the ringing phone stops (not the agent's fault: no not-ready).
      const leg = call.ringing;
      this.release(leg.agentUserId);
      call.ringing = null;
      if (leg.legId) this.deps.command({ kind: 'cancel_offer', callId, legId: leg.legId });
    } else if (call.phase !== 'queued') return;
    call.phase = 'callback_offer';
    this.deps.notice({ type: 'callback_offered', callId, at: this.now() });
    this.deps.command({ kind: 'play', callId, prompt: 'callback_offer' });
    call.promptTimer = this.deps.scheduler.setTimer(this.promptGuardMs, () => this.callbackDeclined(callId));
  }

  private dtmf(callId: string, digit: string) {
    const call = this.calls.get(callId);
    if (!call || call.phase !== 'callback_offer' || digit !== '1') return;
    call.callbackAccepted = true;
    this.deps.notice({ type: 'callback_requested', callId, queue: call.queue, at: this.now() });
    this.close(call, 'callback', 'callback_confirmed');
  }

  private promptFinished(callId: string, promptId: string) {
    const call = this.calls.get(callId);
    if (!call) return;
    if (call.phase === 'callback_offer' && promptId === 'callback_offer') {
      // The offer ended: a short wait for the key, then goodbye.
      this.deps.scheduler.clearTimer(call.promptTimer);
      call.promptTimer = this.deps.scheduler.setTimer(this.dtmfWaitMs, () => this.callbackDeclined(callId));
    } else if (call.phase === 'closing' && (promptId === 'goodbye' || promptId === 'callback_confirmed')) {
      this.deps.scheduler.clearTimer(call.promptTimer);
      this.deps.command({ kind: 'hang_up', callId, cause: EndCause.systemHangup });
    }
  }

  private callbackDeclined(callId: string) {
    const call = this.calls.get(callId);
    if (!call || call.phase !== 'callback_offer') return;
    this.close(call, 'max_wait', 'goodbye');
  }

  /** Plays the last prompt, then hangs up (or hangs up anyway if the prompt never reports its end). */
  private close(call: AcdCall, why: 'callback' | 'max_wait', prompt: PromptName) {
    this.clearTimers(call);
    call.phase = 'closing';
    call.closingCause = why;
    this.deps.command({ kind: 'play', callId: call.callId, prompt });
    call.promptTimer = this.deps.scheduler.setTimer(this.promptGuardMs, () => {
      if (this.calls.has(call.callId)) this.deps.command({ kind: 'hang_up', callId: call.callId, cause: EndCause.systemHangup });
    });
  }

  private agentAnswered(callId: string, legId: string, at: Date) {
    const call = this.calls.get(callId);
    if (!call || call.phase !== 'ringing' || !call.ringing) return;
    if (call.ringing.legId && call.ringing.legId !== legId) return;
    call.phase = 'talking';
    call.agentUserId = call.ringing.agentUserId;
    call.ringing = null;
    this.clearTimers(call);
    this.deps.notice({ type: 'answered', callId, agentUserId: call.agentUserId, queue: call.queue, at });
  }

  private agentFailed(callId: string, legId: string, reason: AgentLegFailure, at: Date) {
    const call = this.calls.get(callId);
    if (!call || call.phase !== 'ringing' || !call.ringing) return;
    if (call.ringing.legId && call.ringing.legId !== legId) return;
    const agentUserId = call.ringing.agentUserId;
    const agent = this.agents.get(agentUserId);
    this.release(agentUserId);
    if (agent && reason !== AgentLegFailure.cancelled) {
      // 未接置忙: whoever did not take an offered call is offered nothing more until they say so.
      agent.missedAt = at;
      this.deps.notice({ type: 'agent_not_ready', callId, agentUserId, reason, at });
    }
    call.ringing = null;
    call.phase = 'queued';
    call.reoffers++;
    this.dispatch();
  }

  private ended(callId: string, cause: EndCause, at: Date) {
    const call = this.calls.get(callId);
    if (!call) return;
    this.clearTimers(call);
    this.calls.delete(callId);
    const agentUserId = call.agentUserId ?? call.ringing?.agentUserId ?? null;
    if (agentUserId) this.release(agentUserId, call.phase === 'talking' ? at : null);
    let outcome: CallOutcome;
    let abandonPoint: AbandonPoint | null = null;
    if (call.agentUserId) outcome = CallOutcome.answered;
    else if (call.callbackAccepted) outcome = CallOutcome.callback;
    else if (call.closingCause === 'max_wait' || cause === EndCause.rejected) outcome = CallOutcome.rejected;
    else {
      outcome = CallOutcome.abandoned;
      abandonPoint = call.phase === 'ivr' ? AbandonPoint.ivr : call.phase === 'ringing' ? AbandonPoint.ringing : AbandonPoint.queue;
    }
    this.deps.notice({
      type: 'ended', callId, at,
      end: { outcome, abandonPoint, cause, agentUserId: call.agentUserId ?? (call.ringing?.agentUserId ?? null), reoffers: call.reoffers },
    });
    this.dispatch();
  }

  private release(agentUserId: string, releasedAt: Date | null = null) {
    const a = this.agents.get(agentUserId);
    if (!a) return;
    a.busyWith = null;
    if (releasedAt) a.lastReleasedAt = releasedAt;
  }

  private clearTimers(call: AcdCall) {
    for (const t of call.timers) this.deps.scheduler.clearTimer(t);
    call.timers = [];
    if (call.promptTimer) this.deps.scheduler.clearTimer(call.promptTimer);
    call.promptTimer = null;
  }

  /** Offers waiting calls to free agents: highest priority first, then the longest waiting. */
  private dispatch() {
    const waiting = [...this.calls.values()]
      .filter((c) => c.phase === 'queued')
      .sort((a, b) => b.priority - a.priority || a.queuedAt!.getTime() - b.queuedAt!.getTime());
    for (const call of waiting) {
      const agent = this.longestIdle(call.skills);
      if (!agent) continue;
      const settings = this.deps.queue(call.queue)!;
      agent.busyWith = call.callId;
      call.phase = 'ringing';
      call.ringing = { agentUserId: agent.userId, legId: null };
      const at = this.now();
      this.deps.notice({
        type: 'offered_to_agent', callId: call.callId, agentUserId: agent.userId, queue: call.queue,
        waitMs: at.getTime() - call.queuedAt!.getTime(), reoffers: call.reoffers, at,
      });
      this.deps.command({
        kind: 'offer', callId: call.callId, agent: { userId: agent.userId, phoneUsername: agent.phoneUsername! }, ringTimeoutMs: settings.ringTimeoutSeconds * 1000,
      });
    }
  }

  private longestIdle(skills: string[]): AgentState | null {
    let best: AgentState | null = null;
    let bestIdle = Infinity;
    for (const a of this.agents.values()) {
      if (a.status !== 'available' || !a.registered || !a.phoneUsername || a.busyWith || a.missedAt) continue;
      if (!a.skills.some((s) => skills.includes(s))) continue;
      const idleSince = Math.max(a.statusSince.getTime(), a.lastReleasedAt?.getTime() ?? 0);
      if (idleSince < bestIdle || (idleSince === bestIdle && best && a.userId < best.userId)) {
        best = a;
        bestIdle = idleSince;
      }
    }
    return best;
  }
}
