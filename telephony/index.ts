/**
 * Telephony (电话接入): the SIP edge port and its edges. The core (ACD, call records, recordings) sees
 * only {@link SipEdge} and {@link EdgeEvent}; SIP and RTP stay inside an edge.
 */
export * from './ports';
/** The built-in edge: SIP on UDP and G.711 RTP in this process (the embedded default). */
export { createBuiltinSipEdge, DEFAULT_SIP_REALM, DEFAULT_SIP_PORT, type BuiltinSipEdgeOptions } from './edges/builtin/builtin-edge';
export { ensureDefaultPrompts, promptFiles, SHIPPED_PROMPTS_DIR, DEFAULT_PROMPTS, type DefaultPromptName } from './edges/builtin/prompts';
export { computeHa1 } from './edges/builtin/digest';
/** Agents' phone accounts (sip_endpoints): set a password (HA1 only), list, remove; the registrar's credentials port. */
export {
  createSipEndpointsService, MIN_SIP_PASSWORD_LENGTH,
  type SipEndpointsService, type SipEndpointsDeps, type SipEndpointView, type SetSipPasswordInput,
} from './sip-endpoints.service';
/** The production edge: drachtio-srf to drachtio-server, media and recording on rtpengine. */
export { createDrachtioSipEdge, type DrachtioSipEdgeOptions, type EdgeLogger } from './edges/drachtio/drachtio-edge';
