/**
 * The ACD state machine (排队分配) on fake time: every rule with the outcome a real ACD gives —
 * longest-idle first, ring timeout and re-offer with the missed agent not-ready, skills, overflow,
 * maximum wait with the callback offer, no agent logged in, priority callers, abandon points.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Acd, DEFAULT_QUEUES, mergeQueueSettings, type AcdAgent, type AcdCommand, type AcdNotice, type EdgeEvent, type QueueSettings } from '../../telephony';
import { FakeScheduler } from './fake-time';

let time: FakeScheduler;
let commands: AcdCommand[];
let notices: AcdNotice[];
let acd: Acd;
let queues: Record<string, QueueSettings>;

const T0 = new Date('2025-10-09T01:00:00Z');
const agent = (userId: string, o: Partial<AcdAgent> = {}): AcdAgent => ({
  userId, phoneUsername: `p-${userId}`, skills: ['general'], status: 'available', statusSince: T0, ...o,
});
const at = () => time.now();
const offers = () => commands.filter((c): c is Extract<AcdCommand, { kind: 'offer' }> => c.kind === 'offer');
const lastOffer = () => offers().at(-1)!;
const noticesOf = <T extends AcdNotice['type']>(type: T) => notices.filter((n): n is Extract<AcdNotice, { type: T }> => n.type === type);

function newCall(callId: string, queue = 'general', priority = 0) {
  acd.callOffered({ callId, queue, priority, at: at() });
  acd.handle({ type: 'call.answered', callId, at: at() });
}
const ev = (e: EdgeEvent) => acd.handle(e);

beforeEach(() => {
  time = new FakeScheduler();
  commands = [];
  notices = [];
  queues = mergeQueueSettings({ queues: { general: { maxWaitSeconds: 120, noAgentMaxWaitSeconds: 20, ringTimeoutSeconds: 15 } } }, {});
  acd = new Acd({ scheduler: time, queue: (s) => queues[s] ?? null, command: (c) => commands.push(c), notice: (n) => notices.push(n) });
});

describe('agent selection', () => {
  it('offers the call to the available agent idle longest, with the queue ring time', () => {
    acd.setRegistrations(['p-a', 'p-b', 'p-c']);
    acd.setAgents([
      agent('a', { statusSince: new Date('2025-10-09T01:30:00Z') }),
      agent('b', { statusSince: new Date('2025-10-09T01:10:00Z') }), // idle longest
      agent('c', { statusSince: new Date('2025-10-09T01:00:00Z'), status: 'break' }), // 小休: not offered
    ]);
    newCall('c1');
    expect(commands.slice(0, 2)).toEqual([{ kind: 'answer', callId: 'c1' }, { kind: 'play', callId: 'c1', prompt: 'queue' }]);
    expect(lastOffer()).toEqual({ kind: 'offer', callId: 'c1', agent: { userId: 'b', phoneUsername: 'p-b' }, ringTimeoutMs: 15_000 });
    expect(noticesOf('offered_to_agent')[0]).toMatchObject({ agentUserId: 'b', queue: 'general', waitMs: 0, reoffers: 0 });
  });

  it('offers nothing to an agent whose phone is not registered, nor to one on a call', () => {
    acd.setRegistrations(['p-b']);
    acd.setAgents([agent('a'), agent('b', { statusSince: new Date('2025-10-09T01:40:00Z') })]);
    newCall('c1');
    expect(lastOffer().agent.userId).toBe('b'); // a is idle longer but has no registered phone
    newCall('c2');
    expect(offers()).toHaveLength(1); // b is ringing for c1
    ev({ type: 'endpoint.registered', username: 'p-a', contact: 'sip:a@127.0.0.1', expiresAt: at() });
    expect(lastOffer()).toMatchObject({ callId: 'c2', agent: { userId: 'a' } });
  });

  it('after a call the agent is idle from its end: the other agent goes first next time', () => {
    acd.setRegistrations(['p-a', 'p-b']);
    acd.setAgents([agent('a', { statusSince: new Date('2025-10-09T01:00:00Z') }), agent('b', { statusSince: new Date('2025-10-09T01:05:00Z') })]);
    newCall('c1');
    expect(lastOffer().agent.userId).toBe('a');
    ev({ type: 'agent.answered', callId: 'c1', legId: 'L1', at: at() });
    time.advance(60_000);
    ev({ type: 'call.ended', callId: 'c1', cause: 'caller_hangup', sipStatus: null, at: at() });
    newCall('c2');
    expect(lastOffer()).toMatchObject({ callId: 'c2', agent: { userId: 'b' } });
  });

  it('takes only agents holding the queue skill', () => {
    acd.setRegistrations(['p-a', 'p-biz']);
    acd.setAgents([agent('a'), agent('biz', { skills: ['business_environment'], statusSince: new Date('2025-10-09T01:50:00Z') })]);
    newCall('c1', 'business_environment');
    expect(lastOffer().agent.userId).toBe('biz');
  });
});

describe('ring timeout and re-offer', () => {
  it('a missed offer goes to the next agent and the agent who missed it goes not-ready until their status changes', () => {
    acd.setRegistrations(['p-a', 'p-b']);
    acd.setAgents([agent('a'), agent('b', { statusSince: new Date('2025-10-09T01:20:00Z') })]);
    newCall('c1');
    acd.offerStarted('c1', 'L1');
    expect(lastOffer().agent.userId).toBe('a');
    time.advance(15_000);
    ev({ type: 'agent.failed', callId: 'c1', legId: 'L1', reason: 'no_answer', sipStatus: 408, at: at() });
    expect(noticesOf('agent_not_ready')).toEqual([{ type: 'agent_not_ready', callId: 'c1', agentUserId: 'a', reason: 'no_answer', at: at() }]);
    expect(lastOffer()).toMatchObject({ callId: 'c1', agent: { userId: 'b' } });
    expect(noticesOf('offered_to_agent')[1]).toMatchObject({ agentUserId: 'b', reoffers: 1, waitMs: 15_000 });

    // b declines too: nobody is left, the call waits; a is still not-ready.
    acd.offerStarted('c1', 'L2');
    ev({ type: 'agent.failed', callId: 'c1', legId: 'L2', reason: 'declined', sipStatus: 603, at: at() });
    expect(offers()).toHaveLength(2);
    acd.setAgents([agent('a'), agent('b', { statusSince: new Date('2025-10-09T01:20:00Z') })]); // same status: still not ready
    expect(offers()).toHaveLength(2);
    // a chooses 空闲 again on the console: offered again.
    time.advance(5000);
    acd.setAgents([agent('a', { statusSince: at() }), agent('b', { statusSince: new Date('2025-10-09T01:20:00Z') })]);
    expect(lastOffer()).toMatchObject({ callId: 'c1', agent: { userId: 'a' } });
  });

  it('a failure of an old leg is ignored', () => {
    acd.setRegistrations(['p-a']);
    acd.setAgents([agent('a')]);
    newCall('c1');
    acd.offerStarted('c1', 'L1');
    ev({ type: 'agent.failed', callId: 'c1', legId: 'OTHER', reason: 'no_answer', sipStatus: null, at: at() });
    expect(noticesOf('agent_not_ready')).toEqual([]);
    ev({ type: 'agent.answered', callId: 'c1', legId: 'L1', at: at() });
    expect(noticesOf('answered')).toHaveLength(1);
  });
});

describe('overflow', () => {
  it('a business call nobody of the desk takes goes to general agents after the overflow wait', () => {
    acd.setRegistrations(['p-a']);
    acd.setAgents([agent('a'), agent('biz', { skills: ['business_environment'], status: 'busy' })]);
    newCall('c1', 'business_environment');
    expect(offers()).toEqual([]);
    time.advance(DEFAULT_QUEUES.business_environment!.overflowAfterSeconds! * 1000 - 1);
    expect(offers()).toEqual([]);
    time.advance(1);
    expect(noticesOf('overflowed')).toEqual([{ type: 'overflowed', callId: 'c1', from: 'business_environment', to: 'general', at: at() }]);
    expect(lastOffer().agent.userId).toBe('a');
  });
});

describe('maximum wait and the callback offer', () => {
  beforeEach(() => {
    acd.setRegistrations(['p-a']);
    acd.setAgents([agent('a', { status: 'busy' })]); // logged in, not available
    newCall('c1');
  });

  it('after the maximum wait the caller is offered a callback; pressing 1 leaves a request, a confirmation plays and the hotline hangs up', () => {
    time.advance(119_999);
    expect(noticesOf('callback_offered')).toEqual([]);
    time.advance(1);
    expect(commands.at(-1)).toEqual({ kind: 'play', callId: 'c1', prompt: 'callback_offer' });
    ev({ type: 'call.dtmf', callId: 'c1', digit: '2', at: at() });
    expect(noticesOf('callback_requested')).toEqual([]);
    ev({ type: 'call.dtmf', callId: 'c1', digit: '1', at: at() });
    expect(noticesOf('callback_requested')).toEqual([{ type: 'callback_requested', callId: 'c1', queue: 'general', at: at() }]);
    expect(commands.at(-1)).toEqual({ kind: 'play', callId: 'c1', prompt: 'callback_confirmed' });
    ev({ type: 'prompt.finished', callId: 'c1', promptId: 'callback_confirmed', at: at() });
    expect(commands.at(-1)).toEqual({ kind: 'hang_up', callId: 'c1', cause: 'system_hangup' });
    ev({ type: 'call.ended', callId: 'c1', cause: 'system_hangup', sipStatus: null, at: at() });
    expect(noticesOf('ended')[0]!.end).toEqual({ outcome: 'callback', abandonPoint: null, cause: 'system_hangup', agentUserId: null, reoffers: 0 });
  });

  it('without a key after the offer: goodbye, hang up, outcome rejected (not an abandon)', () => {
    time.advance(120_000);
    ev({ type: 'prompt.finished', callId: 'c1', promptId: 'callback_offer', at: at() });
    time.advance(8000);
    expect(commands.at(-1)).toEqual({ kind: 'play', callId: 'c1', prompt: 'goodbye' });
    time.advance(30_000); // the goodbye never reports its end: the guard hangs up anyway
    expect(commands.at(-1)).toEqual({ kind: 'hang_up', callId: 'c1', cause: 'system_hangup' });
    ev({ type: 'call.ended', callId: 'c1', cause: 'system_hangup', sipStatus: null, at: at() });
    expect(noticesOf('ended')[0]!.end).toMatchObject({ outcome: 'rejected', abandonPoint: null });
    expect(time.pending).toBe(0);
  });
});

describe('no agent logged in', () => {
  it('the call queues, and the callback is offered after the short no-agent wait', () => {
    acd.setAgents([agent('a', { status: 'offline' })]);
    newCall('c1');
    expect(noticesOf('queued')).toHaveLength(1);
    time.advance(19_999);
    expect(noticesOf('callback_offered')).toEqual([]);
    time.advance(1);
    expect(noticesOf('callback_offered')).toHaveLength(1);
  });
});

describe('priority', () => {
  it('a repeat caller with an open urgent ticket is offered before callers who waited longer', () => {
    acd.setAgents([agent('a', { status: 'busy' })]);
    acd.setRegistrations(['p-a']);
    newCall('first');
    time.advance(30_000);
    newCall('second');
    time.advance(1000);
    newCall('urgent', 'general', 1);
    acd.setAgents([agent('a', { status: 'available', statusSince: at() })]);
    expect(lastOffer().callId).toBe('urgent');
  });
});

describe('abandon points and outcomes', () => {
  it('hung up before the hotline answered: abandoned in the IVR', () => {
    acd.callOffered({ callId: 'c1', queue: 'general', priority: 0, at: at() });
    ev({ type: 'call.ended', callId: 'c1', cause: 'caller_cancelled', sipStatus: 487, at: at() });
    expect(noticesOf('ended')[0]!.end).toMatchObject({ outcome: 'abandoned', abandonPoint: 'ivr' });
  });

  it('hung up while waiting: abandoned in the queue', () => {
    newCall('c1');
    ev({ type: 'call.ended', callId: 'c1', cause: 'caller_hangup', sipStatus: null, at: at() });
    expect(noticesOf('ended')[0]!.end).toMatchObject({ outcome: 'abandoned', abandonPoint: 'queue' });
  });

  it('hung up while an agent phone rang: abandoned while ringing, and the agent is free again', () => {
    acd.setRegistrations(['p-a']);
    acd.setAgents([agent('a')]);
    newCall('c1');
    ev({ type: 'call.ended', callId: 'c1', cause: 'caller_hangup', sipStatus: null, at: at() });
    expect(noticesOf('ended')[0]!.end).toMatchObject({ outcome: 'abandoned', abandonPoint: 'ringing' });
    newCall('c2');
    expect(lastOffer()).toMatchObject({ callId: 'c2', agent: { userId: 'a' } });
  });

  it('answered by an agent: answered, with the agent and the re-offers', () => {
    acd.setRegistrations(['p-a', 'p-b']);
    acd.setAgents([agent('a'), agent('b', { statusSince: new Date('2025-10-09T01:30:00Z') })]);
    newCall('c1');
    ev({ type: 'agent.failed', callId: 'c1', legId: 'L1', reason: 'no_answer', sipStatus: null, at: at() });
    ev({ type: 'agent.answered', callId: 'c1', legId: 'L2', at: at() });
    ev({ type: 'call.ended', callId: 'c1', cause: 'agent_hangup', sipStatus: null, at: at() });
    expect(noticesOf('ended')[0]!.end).toEqual({ outcome: 'answered', abandonPoint: null, cause: 'agent_hangup', agentUserId: 'b', reoffers: 1 });
  });

  it('an unknown queue is taken as the general queue', () => {
    acd.callOffered({ callId: 'c1', queue: 'no_such_queue', priority: 0, at: at() });
    ev({ type: 'call.answered', callId: 'c1', at: at() });
    expect(noticesOf('queued')[0]).toMatchObject({ queue: 'general' });
  });
});
