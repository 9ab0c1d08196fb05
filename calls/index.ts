/**
 * Calls (来电): the intake-facing side of the telephony gateway. The gateway posts what happens to a
 * call (offered to an agent, transcript segments, answered, ended); each is stored once and pushed
 * to the agent's console: the pop-up with the dialled line and the caller's history (来电弹屏), the
 * live transcript, the end of the call.
 */
export {
  /** Builds the call service over the database and the other parts' public services (see {@link CallPorts}). */
  createCallService,
  /** The line name shown for calls to 12345 itself. */
  MAIN_LINE_NAME,
  type CallService,
  type CallDeps,
  type CallEvent,
  type CallView,
  type CallQueueInfo,
  type TranscriptSegmentHit,
} from './calls.service';
export type { CallPorts, CallLine, CallStaff, CallerHistory, CallerTicket } from './ports';
/** The fastify plugin: `POST /calls/events`, `GET /calls/:callId`; options `{ calls }`. */
export { callRoutes, type CallRoutesOptions } from './calls.routes';
export { Speaker, SPEAKER_ZH, assembleTranscript, maskSpokenNumbers, type TranscriptSegment } from './domain/transcript';
