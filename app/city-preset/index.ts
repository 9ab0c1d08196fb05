/**
 * City presets (城市配置包): a folder that describes one city — its settings, territory, handling
 * units, users, categories, time-limit policies and merged hotlines, and optionally its gazetteer,
 * grid outlines, responsibility list and knowledge base — checked in full and imported
 * in one transaction. `cities/demo/` is the fictional demo city in this format.
 */
export {
  /** Reads and checks a preset folder: the preset, or every problem with file and line. */
  readPreset,
  /** Checks preset texts given by file name (no folder needed). */
  parsePreset,
  /** Checks a category tree CSV on its own. */
  parseCategoriesCsv,
  /** Problems as `file:line field: message / 中文` lines. */
  formatProblems,
  /** Where a named time-limit preset (zhucheng, haikou, shouguang) lives; a city without its own policies follows its preset. */
  timeLimitPresetPath,
  PresetFile,
  /** gazetteer.csv, grids.geojson, responsibility.csv, knowledge.json: a preset may leave them out (the city's data is then kept). */
  OPTIONAL_PRESET_FILES,
  type CityPreset,
  type PresetGazetteerEntry,
  type PresetPolygon,
  type PresetTextFile,
  type PresetUser,
  type PresetProblem,
  type PresetTexts,
  type ReadPresetResult,
} from './read-preset';
export {
  /** Reads, checks and imports a folder; PRESET_INVALID (422) with `details.problems` when it has problems. */
  importCityFromDir,
  /** Imports a checked preset in one transaction, idempotently. */
  importPreset,
  /** Replaces a city's category tree from a CSV, checked in full first. */
  importCategoriesFile,
  type ImportDeps,
  type ImportSummary,
  type ImportCounts,
} from './import-preset';
/** The first-start rule shared by `npm start` and the CLI: loads CITY_DIR when the database has no city yet. */
export { ensureCityLoaded, noCityYet, type EnsureCityResult } from './first-start';
