import { AppError, systemActor } from '../../core';
import type { AppConfig } from '../config';
import type { AppContext } from '../context';
import { importCityFromDir, type ImportSummary } from './import-preset';
import { seedDemoAgentPhones } from '../telephony-demo';

export interface EnsureCityResult {
  /** The database's first city after the check (null: none, and loading was off). */
  cityId: string | null;
  /** What was imported now, when the database had no city and LOAD_CITY_ON_START allowed it. */
  imported: ImportSummary | null;
}

/** 409 NO_CITY: nothing to work in yet, with the two ways out. */
export const noCityYet = (cityDir: string) =>
  new AppError(
    'NO_CITY', 409,
    `the database has no city yet: run \`npx hotline city import ${cityDir}\` (or \`npm start\` once with LOAD_CITY_ON_START=true)`,
    `数据库中还没有城市：请先运行 \`npx hotline city import ${cityDir}\`（或在 LOAD_CITY_ON_START=true 时运行一次 \`npm start\`）`,
    { cityDir },
  );

/**
 * The first-start rule (首次启动): when the database has no city and `loadCityOnStart` is on (the
 * embedded default), imports `cityDir` — the demo city on a fresh checkout, its seats with SIP phones. Idempotent: a second
 * caller (another node, the CLI) finds the city and imports nothing.
 */
export async function ensureCityLoaded(ctx: AppContext, config: Pick<AppConfig, 'cityDir' | 'loadCityOnStart'>): Promise<EnsureCityResult> {
  const existing = (await ctx.directory.listCities())[0];
  if (existing) return { cityId: existing.id, imported: null };
  if (!config.loadCityOnStart) return { cityId: null, imported: null };
  const imported = await importCityFromDir(ctx, config.cityDir, { actor: systemActor('-', 'first-start') });
  // The demo's seats get SIP phone accounts, so a softphone can register right after `npm start`.
  if (imported.isDemo) await seedDemoAgentPhones(ctx, imported.cityId);
  return { cityId: (await ctx.directory.listCities())[0]?.id ?? null, imported };
}
