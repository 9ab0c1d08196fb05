/**
 * Telephony (电话接入, 话务): real calls into the hotline. The SIP edge port (ports.ts) turns SIP into
 * call facts; above it, the same for every edge: the ACD (排队分配), call detail records (话单), the
 * screen pop through calls/, recordings (录音), callback requests (留言回拨), GB/T 33358 metrics and
 * the wallboard. The core sees only {@link SipEdge} and {@link EdgeEvent}; SIP and RTP stay in an edge.
 */
export * from './ports';
/** The built-in edge: SIP on UDP and G.711 RTP in this process (the embedded default). */
export { createBuiltinSipEdge, DEFAULT_SIP_REALM, DEFAULT_SIP_PORT, type BuiltinSipEdgeOptions } from './edges/builtin/builtin-edge';
export { ensureDefaultPrompts, promptFiles, SHIPPED_PROMPTS_DIR, DEFAULT_PROMPTS, type DefaultPromptName } from './edges/builtin/prompts';
export { computeHa1 } from './edges/builtin/digest';
export {
  /** Builds the service over the database, an edge (or null: off) and the other parts' ports; `start()` at boot, `stop()` at close. */
  createTelephonyService,
  toCallRecordView,
  type TelephonyService,
  type TelephonyDeps,
  type TelephonyLogger,
  type CallRecordView,
  type CallbackRequestView,
  type AgentSettingsView,
} from './telephony.service';
export type { TelephonyPorts, TelephonyStaff, SipPhoneCredentials } from './telephony-ports';
/** The fastify plugin: `/telephony/...` (calls, recordings, callbacks, metrics, wallboard, queues, agents); options `{ telephony }`. */
export { telephonyRoutes, parseRange, type TelephonyRoutesOptions } from './telephony.routes';
export { Acd, AbandonPoint, CallOutcome, PromptName, type AcdAgent, type AcdCommand, type AcdNotice, type Scheduler, type CallEnd } from './domain/acd';
export { Skill, SKILL_ZH, DEFAULT_QUEUES, mergeQueueSettings, TelephonyCitySettings, QueueSettingsInput, type QueueSettings } from './domain/queues';
export { computeMetrics, chinaHourOf, SERVICE_LEVEL_SECONDS, type MetricsCall, type QueueHourMetrics } from './domain/metrics';
/** Agents' phone accounts (sip_endpoints): set a password (HA1 only), list, remove; the registrar's credentials port. */
export {
  createSipEndpointsService, MIN_SIP_PASSWORD_LENGTH,
  type SipEndpointsService, type SipEndpointsDeps, type SipEndpointView, type SetSipPasswordInput,
} from './sip-endpoints.service';
/** The production edge: drachtio-srf to drachtio-server, media and recording on rtpengine. */
export { createDrachtioSipEdge, type DrachtioSipEdgeOptions, type EdgeLogger } from './edges/drachtio/drachtio-edge';
/** G.711 and RTP framing, for the app-side media receiver (rtpengine forwards RTP to it; speech part). */
export { decodeG711, encodeG711, G711_PAYLOAD_TYPE, type G711Law } from './edges/builtin/g711';
export { parseRtp, buildRtp, type RtpPacket } from './edges/builtin/rtp';
