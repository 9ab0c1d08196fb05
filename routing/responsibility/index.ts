/**
 * The responsibility list (责任清单): which unit answers which matter (按职能划分), in versions that are
 * approved by a second person and take effect on a date; tickets keep the version they were routed under.
 */
export {
  /**
   * Builds the service. Writes (audited; dispatcher/supervisor/admin): importCsv → draft, propose,
   * approve(effectiveFrom; not the proposer), reject. Reads: listVersions, getVersionInfo,
   * getVersion (with a page of items), itemsOf, activeVersionAt, exportCsv, match.
   */
  createResponsibilityService,
  /** A preset's list in the caller's transaction, approved at once; 'unchanged' when the version in force has the same items. */
  importResponsibilityCsvIn,
  csvLookups,
  type ResponsibilityService,
  type ResponsibilityDeps,
  type ResponsibilityVersion,
  type ResponsibilityItem,
  type VersionPage,
  type MatchInput,
  type MatchResult,
  type MatchedItem,
  type UnitSummary,
  type ResponsibilityCategory,
  type UnitLookup,
  type PresetListInput,
  type PresetListResult,
} from './responsibility.service';
/** The fastify plugin of /responsibility; options `{ responsibility }`. */
export { responsibilityRoutes, type ResponsibilityRoutesOptions } from './responsibility.routes';
/** The CSV format (columns, parse with line-numbered problems, write) and acting levels. */
export {
  RESPONSIBILITY_CSV_COLUMNS, ActingLevel, ACTING_LEVELS, ActingLevelLabelZh, parseActingLevel, parseResponsibilityCsv, writeResponsibilityCsv, itemsHash,
  type ResponsibilityItemInput, type CsvProblem, type CsvLookups, type ParseCsvResult, type ItemUnitRef,
} from './domain/items';
/** Version states and the rules of their life. */
export { VersionStatus, VersionState, VersionStateLabelZh, LIST_MANAGER_ROLES, versionInForce, stateOf } from './domain/versions';
export { rankItems, type MatchReason } from './domain/match';
export { parseInstantOrDate } from './domain/dates';
