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
import { expectError, startScenario, type Scenario } from './helpers';

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

  it('寿光: 3 working days to finish, and the center itself must dispatch within 1 working day of acceptance', async () => {
    await switchTo('shouguang');
    const { lead } = await s.dispatched('dept-cgj');
    expect(lead).toMatchObject({ policyCode: 'general', deadlines: { acknowledge: null, reply: '2025-10-13T10:00:00+08:00', citizenReply: null } });

    // A ticket accepted Thu 10:00 and left waiting: the center's own ladder (to dispatchers, then supervisors).
    const waiting = await s.newTicket();
    const clock = await s.ok('dispatcher1', 'GET', `/tickets/${waiting.id}/center-milestones`);
    expect(clock.map((m: any) => [m.step, m.due])).toEqual([
      ['reminder', '2025-10-09T17:15:00+08:00'], // 75% of 420 office minutes after Thu 10:00 (lunch does not count)
      ['overdue', '2025-10-10T10:00:00+08:00'],
      ['escalation', '2025-10-11T10:00:00+08:00'], // Sat 11 Oct is a make-up workday
    ]);
    // One dispatched in time says nothing.
    const inTime = await s.newTicket();
    await s.ok('dispatcher1', 'POST', `/tickets/${inTime.id}/transitions`, { action: 'dispatch', version: inTime.version, handlingUnitId: await s.unitId('dept-cgj') });
    expectError(await s.api('chengguan1', 'GET', `/tickets/${waiting.id}/center-milestones`), 403, 'ROLE_FORBIDDEN');

    await s.at('2025-10-11T02:00:00Z');
    const events = (await s.notices({ ticketId: waiting.id })).map((n: any) => `${n.event}→${n.recipient.id}`);
    expect(events).toEqual(['ticket.dispatch_reminder→dispatcher', 'ticket.dispatch_overdue→dispatcher', 'ticket.dispatch_escalated→supervisor']);
    expect(await s.notices({ ticketId: inTime.id, event: 'ticket.dispatch_overdue' })).toEqual([]);
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${inTime.id}/center-milestones`)).every((m: any) => m.status === 'cancelled')).toBe(true);
    s.clock.set(new Date('2025-10-09T02:00:00Z'));
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
