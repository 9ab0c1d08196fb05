/**
 * Each city sets its own grid-call step limits (settings.gridCalls.stepLimits in city.json), step by
 * step over the defaults: a city imported with shorter approvals and a longer town handling gets
 * those deadlines and reminders (and the sweep fires at them). Bad limits are refused by the
 * import, with the line and a Chinese and English message, and nothing changes; limits stored
 * invalid by another way refuse the command rather than run on a guess.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError, systemActor } from '../../core';
import { importCityFromDir, parsePreset } from '../../app/city-preset';
import { DEFAULT_STEP_LIMITS, gridCallSettingsProblems, stepLimitsOf } from '../../gridcalls';
import { DEMO_DIR } from '../city-preset/demo-fixture';
import { startGridScenario, at, expectError, type GridScenario } from './helpers';

let s: GridScenario;
let dir: string;
let demoCityJson: any;

/** Imports the demo city again with these `settings.gridCalls` (undefined: none). */
async function importWithGridSettings(gridCalls: unknown) {
  const city = structuredClone(demoCityJson);
  if (gridCalls === undefined) delete city.settings.gridCalls;
  else city.settings.gridCalls = gridCalls;
  await writeFile(join(dir, 'city.json'), JSON.stringify(city, null, 2));
  return importCityFromDir(s.t.ctx, dir, { actor: systemActor('-', 'test') });
}

beforeAll(async () => {
  s = await startGridScenario();
  dir = await mkdtemp(join(tmpdir(), 'grid-limits-'));
  await cp(DEMO_DIR, dir, { recursive: true });
  demoCityJson = JSON.parse(await readFile(join(DEMO_DIR, 'city.json'), 'utf8'));
}, 300_000);
afterAll(async () => {
  await s?.t.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const trailOf = async (id: string) => (await s.ok('grid1', 'GET', `/grid-calls/${id}`)).trail.map((x: any) => x.action);
const fired = async (id: string) => (await trailOf(id)).filter((a: string) => a === 'gridcall.reminded' || a === 'gridcall.overdue');

describe('per-city step limits', { timeout: 180_000 }, () => {
  it('a city without the setting keeps the defaults', () => {
    expect(stepLimitsOf(undefined)).toEqual(DEFAULT_STEP_LIMITS);
    expect(stepLimitsOf({ stepLimits: { town_leader: { amount: 1, unit: 'working_days' } } })).toEqual({ ...DEFAULT_STEP_LIMITS, town_leader: { amount: 1, unit: 'working_days' } });
  });

  it('a city with its own limits gets those deadlines and reminders, and the sweep fires at them', async () => {
    await importWithGridSettings({ stepLimits: { grid_leader: { amount: 1, unit: 'working_hours' }, town_leader: { amount: 30, unit: 'minutes' }, town_handling: { amount: 2, unit: 'working_days' } } });
    s.clock.set(new Date('2025-10-09T10:00:00+08:00'));
    const raised = await s.raise('grid1');
    // 1 working hour from Thursday 10:00 (the default would be 12:00), reminded half-way.
    expect(at(raised.stepDueAt)).toBe(at('2025-10-09T11:00:00+08:00'));
    expect(at(raised.stepRemindAt)).toBe(at('2025-10-09T10:30:00+08:00'));
    s.clock.set(new Date('2025-10-09T10:29:00+08:00'));
    await s.t.ctx.gridCalls.sweep();
    expect(await fired(raised.id)).toEqual([]);
    s.clock.set(new Date('2025-10-09T10:30:01+08:00'));
    await s.t.ctx.gridCalls.sweep();
    expect(await fired(raised.id)).toEqual(['gridcall.reminded']);
    s.clock.set(new Date('2025-10-09T11:00:01+08:00'));
    await s.t.ctx.gridCalls.sweep();
    expect(await fired(raised.id)).toEqual(['gridcall.reminded', 'gridcall.overdue']);

    // The community secretary's step is not set: the default 2 working hours, from 11:30 across the lunch break.
    s.clock.set(new Date('2025-10-09T11:30:00+08:00'));
    const c = await s.ok('gridlead1', 'POST', `/grid-calls/${raised.id}/approve`, {});
    expect(c.step).toBe('community_secretary');
    expect(at(c.stepDueAt)).toBe(at('2025-10-09T15:30:00+08:00'));
    // The town's approval: 30 minutes (calendar time).
    s.clock.set(new Date('2025-10-09T15:00:00+08:00'));
    const t = await s.ok('secretary1', 'POST', `/grid-calls/${raised.id}/approve`, {});
    expect(t.step).toBe('town_leader');
    expect(at(t.stepDueAt)).toBe(at('2025-10-09T15:30:00+08:00'));
    expect(at(t.stepRemindAt)).toBe(at('2025-10-09T15:15:00+08:00'));
    // The town's own handling: 2 working days (the default is 5), reminded after 8 working hours, on the city's working clock.
    const from = new Date('2025-10-09T15:10:00+08:00');
    s.clock.set(from);
    const h = await s.ok('townlead1', 'POST', `/grid-calls/${raised.id}/approve`, { route: 'town' });
    expect(h.step).toBe('town_handling');
    const hours = await s.t.ctx.directory.cityOfficeHours('demo');
    const due = await s.t.ctx.calendar.deadline(from, { amount: 2, unit: 'working_days' }, hours);
    const remind = await s.t.ctx.calendar.deadline(from, { amount: 8, unit: 'working_hours' }, hours);
    expect(at(h.stepDueAt)).toBe(due.getTime());
    expect(at(h.stepRemindAt)).toBe(remind.getTime());
    expect(due.getTime()).toBeLessThan((await s.t.ctx.calendar.deadline(from, DEFAULT_STEP_LIMITS.town_handling, hours)).getTime());
    s.clock.set(new Date(remind.getTime() + 1000));
    await s.t.ctx.gridCalls.sweep();
    const trail = (await s.ok('grid1', 'GET', `/grid-calls/${raised.id}`)).trail;
    expect(trail.filter((x: any) => x.action === 'gridcall.reminded' && x.after?.step === 'town_handling')).toHaveLength(1);
  });

  it('bad limits in city.json are refused with their line, in Chinese and English, and nothing changes', async () => {
    const before = (await s.t.ctx.directory.getCity('demo')).settings;
    const bad = {
      stepLimits: {
        grid_leader: { amount: 0, unit: 'working_hours' },
        town_leader: { amount: 2, unit: 'weeks' },
        town_handling: { amount: 1.5, unit: 'working_days' },
        caller_rating: { amount: 400, unit: 'working_hours' },
        mayor: { amount: 1, unit: 'working_hours' },
      },
    };
    const fields = gridCallSettingsProblems(bad).map((p) => p.field).sort();
    expect(fields).toEqual([
      'settings.gridCalls.stepLimits',
      'settings.gridCalls.stepLimits.caller_rating.amount',
      'settings.gridCalls.stepLimits.grid_leader.amount',
      'settings.gridCalls.stepLimits.town_handling.amount',
      'settings.gridCalls.stepLimits.town_leader.unit',
    ]);
    for (const p of gridCallSettingsProblems(bad)) expect(p.messageZh).toMatch(/网格呼叫时限设置/);

    let err: unknown;
    try {
      await importWithGridSettings(bad);
    } catch (e) {
      err = e;
    }
    expect(isAppError(err) && err.code).toBe('PRESET_INVALID');
    const problems = (err as any).details.problems as { file: string; line: number; field: string; message: string; messageZh: string }[];
    const grid = problems.filter((p) => p.field?.startsWith('settings.gridCalls'));
    expect(grid.map((p) => p.field).sort()).toEqual(fields);
    expect(problems.filter((p) => !p.field?.startsWith('settings.gridCalls'))).toEqual([]);
    const text = JSON.stringify({ ...demoCityJson, settings: { ...demoCityJson.settings, gridCalls: bad } }, null, 2).split('\n');
    const zero = grid.find((p) => p.field === 'settings.gridCalls.stepLimits.grid_leader.amount')!;
    expect(zero.file).toBe('city.json');
    expect(text[zero.line - 1]).toContain('"amount": 0');
    expect(zero.messageZh).toContain('网格长审批');
    expect(grid.find((p) => p.field.endsWith('town_leader.unit'))!.messageZh).toContain('working_hours（工作小时）');
    expect(grid.find((p) => p.field === 'settings.gridCalls.stepLimits')!.messageZh).toContain('mayor');
    // Not a word of it was imported: the city keeps the limits it had.
    expect((await s.t.ctx.directory.getCity('demo')).settings).toEqual(before);

    // parsePreset says the same without a folder; a city.json that is fine passes.
    const texts = async (cityJson: string) => Object.fromEntries(await Promise.all(['city.json', 'territory.csv', 'units.csv', 'users.csv', 'categories.csv', 'hotline-lines.csv'].map(async (f) => [f, f === 'city.json' ? cityJson : await readFile(join(DEMO_DIR, f), 'utf8')])));
    const notNumber = await parsePreset(await texts(JSON.stringify({ ...demoCityJson, settings: { ...demoCityJson.settings, gridCalls: { stepLimits: { grid_leader: { amount: '2', unit: 'working_hours' } } } } })));
    expect(notNumber.ok).toBe(false);
    expect(!notNumber.ok && notNumber.problems.map((p) => p.field)).toContain('settings.gridCalls.stepLimits.grid_leader.amount');
  });

  it('limits stored invalid by another way refuse the command (GRID_CALL_SETTINGS_INVALID), nothing written', async () => {
    const db = s.t.ctx.database.db;
    const row = await db.selectFrom('cities').select('settings').where('id', '=', 'demo').executeTakeFirstOrThrow();
    const settings = typeof row.settings === 'string' ? JSON.parse(row.settings) : row.settings;
    await db.updateTable('cities').set({ settings: JSON.stringify({ ...settings, gridCalls: { stepLimits: { grid_leader: { amount: -1, unit: 'working_hours' } } } }) }).where('id', '=', 'demo').execute();
    s.t.ctx.directory.forgetCached(); // the settings are cached with the office hours
    const before = await s.counts();
    const r = await s.api('grid1', 'POST', '/grid-calls', { title: '路灯不亮', situation: '小区路灯连续三晚不亮' });
    expectError(r, 422, 'GRID_CALL_SETTINGS_INVALID');
    expect(r.body.message_zh).toContain('网格长审批');
    expect(await s.counts()).toEqual(before);
    // Set right again through the import, the command goes through with the defaults.
    await importWithGridSettings(undefined);
    s.clock.set(new Date('2025-10-14T10:00:00+08:00'));
    const ok = await s.raise('grid1');
    expect(at(ok.stepDueAt)).toBe(at('2025-10-14T12:00:00+08:00'));
  });
});
