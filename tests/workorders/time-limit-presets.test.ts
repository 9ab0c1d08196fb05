/**
 * The three time-limit presets from the seeds (诸城, 海口, 寿光) as data: each is a valid policy table,
 * and switching a city from one to another is a change of `timeLimitPreset` in city.json and a re-import.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCityFromDir, parsePreset, timeLimitPresetPath, PresetFile } from '../../app/city-preset';
import { systemActor } from '../../core';
import { listPolicies } from '../../workorders';
import { demoCopy, readDemoFile } from '../city-preset/demo-fixture';
import { startScenario, type Scenario } from './helpers';

describe('the presets', () => {
  it.each(['zhucheng', 'haikou', 'shouguang'])('%s is a valid policy table for the demo tree, with the codes its categories name', async (preset) => {
    const texts: Record<string, string> = {};
    for (const f of ['city.json', 'territory.csv', 'units.csv', 'users.csv', 'categories.csv', 'hotline-lines.csv']) texts[f] = await readDemoFile(f);
    texts[PresetFile.policies] = await readFile(timeLimitPresetPath(preset), 'utf8');
    const r = parsePreset(texts);
    expect(r.ok ? [] : r.problems).toEqual([]);
    const codes = r.ok ? r.preset.policies.map((p) => p.code) : [];
    expect(codes).toEqual(expect.arrayContaining(['general', 'complex', 'simple-onsite', 'utility-onsite', 'emergency']));
  });
});

describe('switching a city\'s preset', () => {
  let s: Scenario;
  let copy: Awaited<ReturnType<typeof demoCopy>>;
  beforeAll(async () => {
    s = await startScenario();
    copy = await demoCopy();
  }, 60_000);
  afterAll(async () => {
    await s?.t.close();
    await copy?.done();
  });

  async function switchTo(preset: string) {
    const cityFile = join(copy.dir, 'city.json');
    const city = JSON.parse(await readFile(cityFile, 'utf8'));
    city.settings.timeLimitPreset = preset;
    await writeFile(cityFile, JSON.stringify(city, null, 2));
    await importCityFromDir(s.t.ctx, copy.dir, { actor: systemActor('demo', 'test') });
    s.t.ctx.forgetCity('demo');
  }

  it('海口: complaints are answered to the citizen within 48 h, consultations within 24 h, acknowledged within 30 min', async () => {
    await switchTo('haikou');
    expect((await listPolicies(s.t.ctx.database.db, 'demo')).map((p) => p.code)).toContain('complaint');
    const complaint = await s.dispatched('dept-cgj');
    expect(complaint.lead).toMatchObject({
      policyCode: 'complaint',
      deadlines: { acknowledge: '2025-10-09T10:30:00+08:00', citizenReply: '2025-10-11T10:00:00+08:00' },
    });
    const consultation = await s.dispatched('dept-cgj', { extra: { type: 'consultation' } });
    expect(consultation.lead).toMatchObject({ policyCode: 'consultation', deadlines: { citizenReply: '2025-10-10T10:00:00+08:00', reply: '2025-10-10T10:00:00+08:00' } });
    // The citizen-reply clock has its ladder too (reminder, overdue), and a unit's reply stops it.
    const steps = (await s.ok('dispatcher1', 'GET', `/work-orders/${consultation.lead.id}/milestones`)).filter((m: any) => m.clock === 'citizenReply').map((m: any) => m.step);
    expect(steps).toEqual(['reminder', 'overdue']);
  });

  it('寿光: a working day to acknowledge, 3 working days to finish', async () => {
    await switchTo('shouguang');
    const { lead } = await s.dispatched('dept-cgj');
    expect(lead).toMatchObject({ policyCode: 'general', deadlines: { acknowledge: '2025-10-10T10:00:00+08:00', reply: '2025-10-13T10:00:00+08:00', citizenReply: null } });
  });

  it('back to 诸城: 2 hours to acknowledge', async () => {
    await switchTo('zhucheng');
    const { lead } = await s.dispatched('dept-cgj');
    expect(lead.deadlines.acknowledge).toBe('2025-10-09T12:00:00+08:00');
    // Work orders dispatched before the switch keep the deadlines they were given.
    const all = (await s.ok('dispatcher1', 'GET', '/work-orders?queue=all&pageSize=200')).items;
    expect(all.filter((w: any) => w.policyCode === 'complaint')).toHaveLength(1);
  });
});
