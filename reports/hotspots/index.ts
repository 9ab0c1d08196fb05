/**
 * Hotspot warnings (热点预警, 未诉先办): tickets and distinct callers by category × territory × day,
 * kept in each ticket's own transaction; three warning levels against the same weekday of the
 * previous weeks; delivery to the supervisors, the territory's leaders and its grid leaders (信息互通);
 * one action to a proactive ticket (主动治理工单). See docs/hotspots.md.
 */
export {
  /**
   * Builds the service over its ports (app/hotspots.ts wires them). Counting, inside intake's
   * transactions: countCreatedWithin, correctWithin, mergeWithin, removeWithin. Detection: evaluate
   * (the touched groups, after the commit), sweep (the periodic job); each raise keeps its incident.
   * Reads and commands, on incidents: list, get, acknowledge, dismiss, convert.
   */
  createHotspotService,
  parseHotspotSettings,
  toWarningView,
  toIncidentView,
  WarningStatus,
  WARNING_STATUS_ZH,
  PROACTIVE_CHANNEL,
  type HotspotService,
  type HotspotDeps,
  type WarningView,
  type IncidentView,
  type RelatedLevelView,
  type CountedTicket,
} from './hotspots.service';
/** The fastify plugin: GET /hotspots, GET /hotspots/:id, POST /hotspots/:id/{acknowledge,dismiss,convert}; options `{ hotspots }`. */
export { hotspotRoutes, type HotspotRoutesOptions } from './hotspots.routes';
/** The pure rules: settings schema and defaults, baseline, thresholds, levels, groups. */
export {
  HotspotSettings, DEFAULT_HOTSPOT_SETTINGS, WarningLevel, WARNING_LEVEL_ZH, WARNING_LEVEL_CODE,
  baselineOf, effectiveSpread, thresholdOf, levelOf, assess, groupsOf, baselineDays,
  COUNTED_CATEGORY_LEVELS, COUNTED_TERRITORY_LEVELS,
  type LevelRule, type Observation, type Assessment, type GroupKey,
} from './domain/detection';
/** Incidents (热点事件): which warnings tell of one burst, and which is its headline. */
export { overlaps, moreSpecific, incidentToJoin, type IncidentMember } from './domain/incidents';
export type { HotspotPorts, HotspotLiveEvent, HotspotTicketView, ProactiveTicketInput, HotspotNotice } from './ports';
