/**
 * Each step of a grid call runs on the working clock (工作时间): a reminder half-way, an overdue mark
 * at the deadline (told one level up: 超期事督查督办), each fired once whichever sweep claims it.
 * The in-process job may sweep too: the trail, not one sweep's return, is what is counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGridScenario, at, type GridScenario } from './helpers';

let s: GridScenario;
beforeAll(async () => {
  s = await startGridScenario();
}, 300_000);
afterAll(async () => s?.t.close());

const trailOf = async (id: string) => (await s.ok('grid1', 'GET', `/grid-calls/${id}`)).trail.map((x: any) => x.action);
const fired = async (id: string) => (await trailOf(id)).filter((a: string) => a === 'gridcall.reminded' || a === 'gridcall.overdue');

describe('time limits on the working clock', { timeout: 120_000 }, () => {
  it('each step reminds half-way and is marked overdue at its deadline, once each, and told one level up', async () => {
    const raised = await s.raise('grid1');
    // 2 working hours from Thursday 10:00: 12:00, reminder at 11:00.
    expect(at(raised.stepDueAt)).toBe(at('2025-10-09T12:00:00+08:00'));
    expect(at(raised.stepRemindAt)).toBe(at('2025-10-09T11:00:00+08:00'));
    s.clock.set(new Date('2025-10-09T10:59:00+08:00'));
    await s.t.ctx.gridCalls.sweep();
    expect(await fired(raised.id)).toEqual([]);
    s.clock.set(new Date('2025-10-09T11:00:01+08:00'));
    await s.t.ctx.gridCalls.sweep();
    expect(await s.t.ctx.gridCalls.sweep()).toEqual({ reminded: 0, overdue: 0 });
    expect(await fired(raised.id)).toEqual(['gridcall.reminded']);
    s.clock.set(new Date('2025-10-09T12:00:01+08:00'));
    await s.t.ctx.gridCalls.sweep();
    expect(await s.t.ctx.gridCalls.sweep()).toEqual({ reminded: 0, overdue: 0 });
    expect(await fired(raised.id)).toEqual(['gridcall.reminded', 'gridcall.overdue']);
    expect((await s.ok('grid1', 'GET', `/grid-calls/${raised.id}`)).call.overdue).toBe(true);

    const [reminder] = await s.liveEventsOf('gridcall.reminder');
    expect(reminder.audience.roles).toEqual(['grid_leader']);
    const [overdue] = await s.liveEventsOf('gridcall.overdue');
    expect(overdue.audience.roles).toEqual(['grid_leader', 'community_secretary']);

    // The next step gets its own clock, from the approval, counted from 14:00 after the lunch break: 16:00.
    const c = await s.ok('gridlead1', 'POST', `/grid-calls/${raised.id}/approve`, {});
    expect(c.overdue).toBe(false);
    expect(at(c.stepDueAt)).toBe(at('2025-10-09T16:00:00+08:00'));
  });

  it('a call raised late on Thursday is due the next working morning (the clock stops outside office hours)', async () => {
    s.clock.set(new Date('2025-10-09T17:00:00+08:00'));
    const raised = await s.raise('grid1');
    // 30 minutes on Thursday, 90 on Friday from 08:30.
    expect(at(raised.stepDueAt)).toBe(at('2025-10-10T10:00:00+08:00'));
  });
});
