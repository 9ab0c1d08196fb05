import { z } from 'zod';
import { IsoDateTime } from '../core/http';
import { QueueSettingsInput } from './domain/queues';

export const CallIdParams = z.strictObject({ callId: z.string().min(1).max(128) });
export const IdParams = z.strictObject({ id: z.string().min(1).max(64) });
export const UserParams = z.strictObject({ userId: z.string().min(1).max(64) });
export const SkillParams = z.strictObject({ skill: z.string().regex(/^[a-z][a-z0-9_]{1,31}$/) });

export const CallRecordView = z.object({
  id: z.string(), callId: z.string(), edge: z.string(), node: z.string(), callerNumber: z.string(), dialledNumber: z.string(),
  line: z.object({ number: z.string(), name: z.string() }).nullable(),
  queue: z.string(), priority: z.number(), agentUserId: z.string().nullable(), ticketId: z.string().nullable(),
  offeredAt: z.string(), queuedAt: z.string().nullable(), agentOfferedAt: z.string().nullable(), answeredAt: z.string().nullable(), endedAt: z.string().nullable(),
  outcome: z.string().nullable(), abandonPoint: z.string().nullable(), reoffers: z.number(), overflowedTo: z.string().nullable(), endCause: z.string().nullable(),
  hasRecording: z.boolean(),
});

export const LinkTicketBody = z.strictObject({ ticketId: z.string().min(1).max(64) });

export const CallbackView = z.object({
  id: z.string(), callRecordId: z.string(), callerNumber: z.string(), queue: z.string(), lineName: z.string().nullable(), status: z.string(),
  claimedBy: z.string().nullable(), claimedAt: z.string().nullable(), completedAt: z.string().nullable(), note: z.string().nullable(), requestedAt: z.string(),
});
export const CallbackListQuery = z.strictObject({
  status: z.string().max(64).optional().describe('comma-separated: open, claimed, done (default open,claimed)'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const CompleteCallbackBody = z.strictObject({ note: z.string().max(2000).nullable().default(null) });

export const MetricsQuery = z.strictObject({ from: IsoDateTime, to: IsoDateTime, queue: z.string().max(32).optional() });
const MetricsRow = z.object({
  queue: z.string(), hour: z.string().nullable(), offered: z.number(), answered: z.number(), answeredWithin15s: z.number(),
  serviceLevel: z.number().nullable(), abandoned: z.number(), abandonRate: z.number().nullable(),
  averageSpeedOfAnswerSeconds: z.number().nullable(), averageHandleSeconds: z.number().nullable(), longestWaitSeconds: z.number(),
});
export const MetricsView = z.object({
  from: z.string(), to: z.string(), queue: z.string().nullable(), serviceLevelSeconds: z.number(), hours: z.array(MetricsRow), totals: z.array(MetricsRow),
});

export const QueueView = z.object({
  skill: z.string(), name: z.string(), ringTimeoutSeconds: z.number(), overflowAfterSeconds: z.number().nullable(), overflowTo: z.string().nullable(),
  maxWaitSeconds: z.number(), noAgentMaxWaitSeconds: z.number(),
});
export { QueueSettingsInput };

export const AgentView = z.object({
  userId: z.string(), displayName: z.string(), role: z.string(), phoneUsername: z.string().nullable(), skills: z.array(z.string()), registered: z.boolean(),
});
export const AgentBody = z.strictObject({
  phoneUsername: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (the SIP username of the phone)').nullable(),
  skills: z.array(z.string().min(1).max(32)).max(20),
});
export const PasswordBody = z.strictObject({ password: z.string().min(1).max(128) });

export const WallboardView = z.object({
  at: z.string(),
  queues: z.array(z.object({ skill: z.string(), name: z.string(), waiting: z.number(), longestWaitMs: z.number(), ringing: z.number(), talking: z.number() })),
  agents: z.object({ available: z.number(), onCall: z.number(), notReady: z.number(), loggedIn: z.number() }),
});
