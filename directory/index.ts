/**
 * The directory (基础信息): cities and their settings, the territory tree (区/县 → 街道/镇 → 社区/村 →
 * 网格), handling units (承办单位) and the legacy hotlines merged into 12345. Other parts use this
 * surface only; the tables are the directory's own.
 */
export {
  /**
   * Builds the directory service over the database. Reads: getCity, listCities, cityExists,
   * cityOfficeHours, territoryPathOf (cached: every authenticated request asks), getTerritory /
   * requireTerritory, findTerritoryByCode, listTerritoryChildren, listTerritoriesAtLevel,
   * territoryTree, territoryAncestors, getUnit / requireUnit, findUnitByCode, listUnits, unitTree,
   * listHotlineLines, lineByNumber. Writes (city import, in the caller's transaction, audited):
   * upsertCityIn, applyTerritoriesIn, applyUnitsIn, applyHotlineLinesIn; forgetCached after commit.
   */
  createDirectoryService,
  type DirectoryDeps,
  type DirectoryService,
  type City,
  type Territory,
  type TerritoryNode,
  type Unit,
  type UnitNode,
  type HotlineLine,
  type CityInput,
  type TerritoryInput,
  type UnitInput,
  type HotlineLineInput,
  type ApplyResult,
  type ChangeKind,
  type UnitSearch,
} from './directory.service';
/** The fastify plugin of the directory's read API; options `{ directory }`. */
export { directoryRoutes, type DirectoryRoutesOptions } from './directory.routes';
/** Territory levels (区/县 → 街道/镇 → 社区/村 → 网格) and unit kinds, with their rules. */
export {
  TerritoryLevel, TERRITORY_LEVELS, TerritoryLevelLabelZh, parentLevelOf, isTerritoryLevel,
  UnitKind, UNIT_KINDS, UnitKindLabelZh, isUnitKind, territoryLevelForUnitKind, isWithin,
} from './domain/territory';
/** The city settings schema (zod) and the time-limit presets a city may follow. */
export { CitySettings, TimeLimitPreset } from './domain/city-settings';
/** Ticket types and urgencies live in core (shared by every part); re-exported for presets and forms. */
export { TicketType, TicketTypeLabelZh, TICKET_TYPES, Urgency, UrgencyLabelZh, URGENCIES, parseTicketType, parseUrgency } from '../core/ticket-kinds';

