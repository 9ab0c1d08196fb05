/**
 * Territory resolution (属地识别): from an address as a caller says it to district → street/town →
 * community → grid, with a confidence and the alternatives when it is ambiguous; from a point
 * (lat/lng) by the grids' outlines; and from a building's QR code exactly. An address that resolves
 * nowhere is reported as unresolved, never mapped to a default.
 */
export {
  /**
   * Builds the service: `resolve(cityId, address, {lat, lng})`, `resolveBuilding(cityId, code)`,
   * `dictionaryWords(cityId)`, `reload(cityId)` (after a city import) and `resolverFor(cityId)` (the
   * city's resolver itself, for synchronous use in a hot loop). Deps `{ db, dialect, directory }`.
   */
  createTerritoryResolverService,
  type TerritoryResolverService,
  type TerritoryResolverDeps,
  type ResolvePoint,
} from './territory-resolver.service';

export {
  /** Builds a resolver from a territory list, gazetteer entries and outlines (pure; no database). */
  buildTerritoryResolver,
  /** The resolver of one city: `resolve`, `resolveBuilding`, `dictionaryWords`, `territory`, `stats`. */
  TerritoryResolver,
  /** What a piece of an address was recognised as (district … grid, road, compound, landmark, …). */
  MentionKind,
  type Resolution,
  type ResolutionStatus,
  type ResolvedTerritory,
  type Mention,
  type Alternative,
  type Conflict,
  type ResolverInput,
  type ResolverOptions,
  type ResolverTerritory,
} from './domain/resolve';

export {
  /** Gazetteer entry kinds (道路, 小区, 地标, 自然村, 楼栋, 别名) and their Chinese labels. */
  GazetteerKind,
  GAZETTEER_KINDS,
  GazetteerKindLabelZh,
  /** Which side of a road a segment covers: all, odd (单号), even (双号). */
  Parity,
  parseGazetteerKind,
  parseParity,
  segmentCovers,
  segmentsOverlap,
  segmentHasNumbers,
  gazetteerKey,
  MAX_HOUSE_NUMBER,
  type GazetteerEntry,
  type TerritoryPolygon,
} from './domain/gazetteer';

export {
  /** GeoJSON Polygon/MultiPolygon outlines: bounding box, point-in-polygon, and the checks of a preset's grids.geojson. */
  bboxOf,
  pointInGeometry,
  geometryProblems,
  validLatLng,
  PolygonIndex,
  type AreaGeometry,
  type BBox,
  type GeometryProblem,
} from './domain/geo';

/** Address normalisation: full-width → ASCII, Chinese numerals before 号/栋, no white space; filler words. */
export { normalizeAddress, stripFiller, chineseNumeral, FILLER_WORDS } from './domain/normalize';

/** Segmentation with place names kept whole: the resolver's jieba, and the word list format. */
export { jiebaSegmenter, characterSegmenter, PLACE_WORD_FREQ, type Segmenter, type DictionaryWord } from './domain/segmenter';

/** Writes a city's gazetteer and outlines in the caller's transaction, idempotently (the city import). */
export {
  replaceGazetteerIn,
  replaceTerritoryPolygonsIn,
  /** The city's QR-coded buildings (楼栋) with their territories, for the citizen part's printable codes. */
  listBuildings,
  type BuildingEntry,
  type GazetteerInput,
  type ReplaceCounts,
} from './gazetteer.service';
