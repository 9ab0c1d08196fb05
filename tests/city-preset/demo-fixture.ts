/** A fresh database with the directory and identity services over it, and the demo preset folder. */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FixedClock, systemActor, type CommandContext } from '../../core';
import { createDirectoryService } from '../../directory';
import { createIdentityService } from '../../identity';
import { timeLimitPresetPath, type ImportDeps } from '../../app/city-preset';
import { freshDatabase, type TestDatabase } from '../helpers/db';

export const DEMO_DIR = fileURLToPath(new URL('../../cities/demo', import.meta.url));

/** A file of the demo preset as the importer reads it: its time-limit policies come from the 诸城 preset it names. */
export function readDemoFile(file: string): Promise<string> {
  return readFile(file === 'time-limit-policies.json' ? timeLimitPresetPath('zhucheng') : join(DEMO_DIR, file), 'utf8');
}

export async function demoWorld() {
  const database: TestDatabase = await freshDatabase();
  const clock = new FixedClock(new Date('2025-10-09T02:00:00Z'));
  const directory = createDirectoryService({ db: database.db, dialect: database.dialect, clock });
  const identity = createIdentityService({
    db: database.db, clock,
    territoryPathOf: (id) => directory.territoryPathOf(id),
    cityOfUnit: async (id) => (await directory.getUnit(id))?.cityId ?? null,
    cityOfTerritory: async (id) => (await directory.getTerritory(id))?.cityId ?? null,
  });
  const deps: ImportDeps = { database, directory, identity, clock };
  const ctx: CommandContext = { actor: systemActor('-', 'test-import'), requestId: 'test' };
  return { database, db: database.db, clock, directory, identity, deps, ctx };
}

/** Row counts of the tables a city preset fills. */
export async function tableCounts(db: TestDatabase['db']) {
  const count = async (table: 'cities' | 'territories' | 'units' | 'hotline_lines' | 'users' | 'categories' | 'time_limit_policies' | 'audit_events') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return {
    cities: await count('cities'),
    territories: await count('territories'),
    units: await count('units'),
    hotlineLines: await count('hotline_lines'),
    users: await count('users'),
    categories: await count('categories'),
    policies: await count('time_limit_policies'),
    audit: await count('audit_events'),
  };
}

/** A copy of the demo folder in a temporary directory, to edit or break; `done()` removes it. */
export async function demoCopy(): Promise<{ dir: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'hotline-preset-'));
  await cp(DEMO_DIR, dir, { recursive: true });
  return { dir, done: () => rm(dir, { recursive: true, force: true }) };
}
