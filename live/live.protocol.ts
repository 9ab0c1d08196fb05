/**
 * The WebSocket protocol of `GET /api/v1/live` (what the console's realtime client speaks).
 *
 * Server → client, one JSON object per frame:
 * - `{ type: 'hello', lastSeq, after, gap, heartbeatMs, user }` first. `lastSeq` is the newest
 *   number at connect time; `gap: true` means events after `after` were already pruned (or the
 *   number is unknown here): drop cached lists and refetch them.
 * - events `{ seq, type, at, data }`, strictly increasing `seq`, never twice on one connection:
 *   first the catch-up (everything after `after` the user may see), then live ones.
 * - `{ type: 'synced', lastSeq, gap }` once the catch-up is done (also when there was none; after a
 *   `resume` message too, with its own `gap`). Remember `max(lastSeq, last event seq)` and reconnect
 *   with `?after=<it>`.
 * - `{ type: 'ping', at }` every `heartbeatMs`: no frame for two periods means the link is dead.
 * - `{ type: 'pong', at }` to a client ping; `{ type: 'error', code, message, messageZh }` to a bad message.
 *
 * - direct messages to this user only (`LiveService.sendToUser`): no `seq`, never stored, never
 *   caught up, dropped while the socket is behind; a text frame (JSON with a `type`, e.g.
 *   `call.audio.start`) or a binary frame (call audio: framing in speech/ports.ts). Ignore unknown ones.
 *
 * Client → server: `{ type: 'resume', after }` (same as `?after=`), `{ type: 'presence', status }`
 * (seats — agents and dispatchers: available | busy | on_call | after_call | break), `{ type: 'ping' }`, `{ type: 'pong' }`.
 *
 * Close codes: 4401 not logged in / session ended (go to login, do not retry), 4403 forbidden
 * origin, 4409 the user's scope changed, 4429 too slow to read, 1001 / 1005 / 1006 server going away
 * or link lost. Except 4401 and 4403, reconnect (with backoff) and `?after=<position>`: nothing is lost.
 */
import { z } from 'zod';
import { CHOSEN_STATUSES } from './ports';

export const LiveCloseCode = {
  authRequired: 4401,
  originForbidden: 4403,
  scopeChanged: 4409,
  slowConsumer: 4429,
  goingAway: 1001,
} as const;

export const ClientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('resume'), after: z.number().int().min(0) }),
  z.strictObject({ type: z.literal('presence'), status: z.enum(CHOSEN_STATUSES) }),
  z.strictObject({ type: z.literal('ping') }),
  z.strictObject({ type: z.literal('pong') }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export interface HelloMessage {
  type: 'hello';
  lastSeq: number;
  after: number | null;
  gap: boolean;
  heartbeatMs: number;
  user: { id: string | null; name: string; role: string };
}

export interface EventMessage {
  seq: number;
  type: string;
  at: string;
  data: unknown;
}

export interface ErrorMessage {
  type: 'error';
  code: string;
  message: string;
  messageZh: string;
}
