import { z } from 'zod';
import { IsoDateTime } from '../core/http';

const callId = z.string().min(1).max(64).describe("the gateway's id of the call");
const at = IsoDateTime.optional().describe('when it happened (ISO 8601 with zone); default: when received');

export const CallEventBody = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('offered'),
      callId,
      callerPhone: z.string().max(32).describe('as the switch gives it; withheld numbers may be empty'),
      dialledNumber: z.string().min(1).max(32).describe('12345, or a merged legacy line such as 12319'),
      agentUsername: z.string().min(1).max(64).optional(),
      agentId: z.string().min(1).max(64).optional(),
      at,
      queue: z.strictObject({
        skill: z.string().min(1).max(32),
        name: z.string().min(1).max(64),
        waitSeconds: z.number().int().min(0).max(86_400),
      }).optional().describe('the ACD queue it waited in and for how long (shown on the pop)'),
    })
    .refine((b) => !(b.agentUsername && b.agentId), { message: 'give agentUsername or agentId, not both', path: ['agentId'] }),
  z.strictObject({
    type: z.literal('transcript'),
    callId,
    seq: z.number().int().min(0).max(1_000_000),
    text: z.string().max(5000),
    final: z.boolean(),
    speaker: z.enum(['caller', 'agent']),
    at,
    startMs: z.number().int().min(0).max(86_400_000).optional().describe("from the start of the party's stream"),
    endMs: z.number().int().min(0).max(86_400_000).optional(),
    confidence: z.number().min(0).max(1).nullable().optional(),
  }).refine((b) => b.startMs === undefined || b.endMs === undefined || b.endMs >= b.startMs, { message: 'endMs before startMs', path: ['endMs'] }),
  z.strictObject({ type: z.literal('answered'), callId, at }),
  z.strictObject({ type: z.literal('ended'), callId, at }),
]);

export const CallView = z.object({
  id: z.string(),
  callId: z.string(),
  callerPhone: z.string().nullable(),
  dialledNumber: z.string(),
  line: z.object({ number: z.string(), name: z.string() }).nullable(),
  lineName: z.string(),
  agentUserId: z.string().nullable(),
  offeredAt: z.string(),
  answeredAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  transcript: z.string().nullable(),
  segments: z.array(z.object({
    seq: z.number(), speaker: z.string(), text: z.string(), at: z.string(),
    startMs: z.number().nullable(), endMs: z.number().nullable(), confidence: z.number().nullable(),
  })),
});

export const CallEventResult = z.object({ duplicate: z.boolean(), call: CallView });

export const CallParams = z.strictObject({ callId });
