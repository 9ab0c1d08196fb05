/**
 * A grid call climbs the territory's levels (网格长 → 社区书记 → 镇街), can be sent back with a reason
 * and resubmitted, is handled by the town or escalated to the center as a ticket, and ends with the
 * caller's rating: satisfied closes it, unsatisfied sends it to a second handling. On SQLite and
 * MariaDB (TEST_DATABASE=mysql). The working-clock limits are in time-limits.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGridScenario, expectError, at, type GridScenario } from './helpers';

let s: GridScenario;
// One demo city per file (MariaDB imports it slowly); each test raises its own calls.
beforeAll(async () => {
  s = await startGridScenario();
}, 300_000);
afterAll(async () => s?.t.close());

const trailOf = async (id: string) => (await s.ok('grid1', 'GET', `/grid-calls/${id}`)).trail.map((x: any) => x.action);

describe('grid call approval chain', { timeout: 120_000 }, () => {
  it('goes up each level, the town handles it, and the caller rates: unsatisfied → second handling, satisfied → closed', async () => {
    const raised = await s.raise('grid1');
    expect(raised).toMatchObject({ status: 'pending', step: 'grid_leader', callerName: '网格员 陈晓东', round: 1 });
    expect(raised.number).toMatch(/^WG20251009/);

    // Each approver finds it in their inbox when it is their turn, and only then.
    expect((await s.ok('secretary1', 'GET', '/grid-calls?inbox=true')).items).toHaveLength(0);
    expect((await s.ok('gridlead1', 'GET', '/grid-calls?inbox=true')).items.map((c: any) => c.id)).toEqual([raised.id]);
    let c = await s.ok('gridlead1', 'POST', `/grid-calls/${raised.id}/approve`, { note: '情况属实' });
    expect(c).toMatchObject({ status: 'pending', step: 'community_secretary' });
    expect((await s.ok('secretary1', 'GET', '/grid-calls?inbox=true')).items.map((x: any) => x.id)).toEqual([raised.id]);
    c = await s.ok('secretary1', 'POST', `/grid-calls/${raised.id}/approve`, {});
    expect(c).toMatchObject({ status: 'pending', step: 'town_leader' });

    // The town must say whether it handles the call itself or sends it on.
    expectError(await s.api('townlead1', 'POST', `/grid-calls/${raised.id}/approve`, {}), 400, 'FIELD_REQUIRED');
    c = await s.ok('townlead1', 'POST', `/grid-calls/${raised.id}/approve`, { route: 'town' });
    expect(c).toMatchObject({ status: 'town_handling', step: 'town_handling', ticketId: null });
    expectError(await s.api('grid1', 'POST', `/grid-calls/${raised.id}/rate`, { satisfaction: 'satisfied' }), 409, 'GRID_CALL_NOT_AWAITING_RATING');

    c = await s.ok('townlead1', 'POST', `/grid-calls/${raised.id}/town-reply`, { result: '街道城管中队已协调物业清理' });
    expect(c).toMatchObject({ status: 'awaiting_rating', step: 'caller_rating', result: '街道城管中队已协调物业清理' });
    expect((await s.ok('grid1', 'GET', '/grid-calls?inbox=true')).items.map((x: any) => x.id)).toEqual([raised.id]);
    // Only the caller rates, and an unsatisfied rating says why.
    expectError(await s.api('gridlead1', 'POST', `/grid-calls/${raised.id}/rate`, { satisfaction: 'satisfied' }), 403, 'GRID_CALL_NOT_CALLER');
    expectError(await s.api('grid1', 'POST', `/grid-calls/${raised.id}/rate`, { satisfaction: 'unsatisfied' }), 400, 'FIELD_REQUIRED');
    c = await s.ok('grid1', 'POST', `/grid-calls/${raised.id}/rate`, { satisfaction: 'unsatisfied', comment: '纸箱已清，旧家具仍在' });
    expect(c).toMatchObject({ status: 'town_handling', round: 2, result: null });

    await s.ok('townlead1', 'POST', `/grid-calls/${raised.id}/town-reply`, { result: '旧家具已由物业清运' });
    c = await s.ok('grid1', 'POST', `/grid-calls/${raised.id}/rate`, { satisfaction: 'satisfied' });
    expect(c).toMatchObject({ status: 'closed', step: null, satisfaction: 'satisfied' });
    expect(c.closedAt).toBeTruthy();

    expect(await trailOf(raised.id)).toEqual([
      'gridcall.raised', 'gridcall.approved', 'gridcall.approved', 'gridcall.town_accepted', 'gridcall.town_replied',
      'gridcall.second_handling', 'gridcall.town_replied', 'gridcall.rated',
    ]);
    // Live: every change went to the call's territory and its caller.
    const events = await s.liveEventsOf('gridcall.changed');
    expect(events).toHaveLength(8);
    expect(events[0].audience).toMatchObject({ center: false, userIds: [raised.callerId] });
    expect(events[0].audience.territoryPaths[0]).toMatch(/^\/.+\/$/);
  });

  it('a send-back needs a reason, returns the call to its caller, and a resubmitted call starts again at the first level', async () => {
    const raised = await s.raise('grid1');
    await s.ok('gridlead1', 'POST', `/grid-calls/${raised.id}/approve`, {});
    const before = await s.counts();
    expectError(await s.api('secretary1', 'POST', `/grid-calls/${raised.id}/send-back`, { reason: '   ' }), 400, 'FIELD_REQUIRED');
    expect(await s.counts()).toEqual(before);
    expect((await s.ok('grid1', 'GET', `/grid-calls/${raised.id}`)).call).toMatchObject({ status: 'pending', step: 'community_secretary', version: 2 });

    let c = await s.ok('secretary1', 'POST', `/grid-calls/${raised.id}/send-back`, { reason: '请补充具体单元和照片' });
    expect(c).toMatchObject({ status: 'sent_back', step: null, sentBackReason: '请补充具体单元和照片' });
    expectError(await s.api('gridlead1', 'POST', `/grid-calls/${raised.id}/approve`, {}), 409, 'GRID_CALL_NOT_PENDING');
    expectError(await s.api('gridlead1', 'POST', `/grid-calls/${raised.id}/resubmit`, {}), 403, 'GRID_CALL_NOT_CALLER');

    c = await s.ok('grid1', 'POST', `/grid-calls/${raised.id}/resubmit`, { situation: `${raised.situation}（3单元1-6层）` });
    expect(c).toMatchObject({ status: 'pending', step: 'grid_leader' });
    expect(c.situation).toContain('3单元1-6层');
    const detail = await s.ok('gridlead1', 'GET', `/grid-calls/${raised.id}`);
    expect(detail.trail.find((x: any) => x.action === 'gridcall.sent_back')).toMatchObject({ reason: '请补充具体单元和照片', actorRole: 'community_secretary' });
  });

  it('a grid leader\'s call is approved by the community secretary first', async () => {
    const raised = await s.raise('gridlead1');
    expect(raised).toMatchObject({ status: 'pending', step: 'community_secretary', callerRole: 'grid_leader' });
    expectError(await s.api('gridlead1', 'POST', `/grid-calls/${raised.id}/approve`, {}), 403, 'GRID_CALL_SELF_APPROVAL');
    const c = await s.ok('secretary1', 'POST', `/grid-calls/${raised.id}/approve`, {});
    expect(c.step).toBe('town_leader');
  });
});

describe('escalation to the center', { timeout: 120_000 }, () => {
  it('becomes a grid ticket; its callback is the caller\'s rating: unsatisfied → the unit again, satisfied → ticket and call closed', async () => {
    const raised = await s.raise('grid1');
    await s.ok('gridlead1', 'POST', `/grid-calls/${raised.id}/approve`, {});
    await s.ok('secretary1', 'POST', `/grid-calls/${raised.id}/approve`, {});
    const c = await s.ok('townlead1', 'POST', `/grid-calls/${raised.id}/approve`, { route: 'center', note: '涉及违章搭建，需城管执法' });
    expect(c).toMatchObject({ status: 'escalated', step: null });
    expect(c.ticketId).toBeTruthy();
    const ticket = await s.ok('dispatcher1', 'GET', `/tickets/${c.ticketId}`);
    expect(ticket).toMatchObject({ channel: 'grid', status: 'accepted', title: raised.title, situation: raised.situation });
    // The grid leader sees the ticket of the grid's territory (信息互通).
    expect((await s.ok('gridlead1', 'GET', `/tickets/${c.ticketId}`)).id).toBe(c.ticketId);

    const unit = await s.unitId('dept-cgj');
    await s.t.ctx.intake.transition({ actor: (await s.t.ctx.identity.listUsers('demo')).filter((u) => u.username === 'dispatcher1').map((u) => ({ kind: 'user' as const, id: u.id, name: u.displayName, role: u.role, cityId: 'demo', unitId: u.unitId, territoryId: null, territoryPath: null }))[0] },
      ticket.id, ticket.version, { action: 'dispatch', handlingUnitId: unit });
    const handle = async (result: string) => {
      const lead = (await s.workOrdersOf(ticket.id)).find((w: any) => w.status === 'dispatched');
      const a = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
      await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/reply`, { version: a.version, result });
      await s.ok('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, { decision: 'accept' });
    };
    await handle('已责令拆除楼道违章搭建');
    let call = (await s.ok('grid1', 'GET', `/grid-calls/${raised.id}`)).call;
    expect(call).toMatchObject({ status: 'awaiting_rating', step: 'caller_rating', result: '已责令拆除楼道违章搭建' });

    call = await s.ok('grid1', 'POST', `/grid-calls/${raised.id}/rate`, { satisfaction: 'unsatisfied', comment: '只拆了一半' });
    expect(call).toMatchObject({ status: 'escalated', round: 2 });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('dispatched');

    await handle('已全部拆除并复查');
    expect((await s.ok('grid1', 'GET', `/grid-calls/${raised.id}`)).call.status).toBe('awaiting_rating');
    call = await s.ok('grid1', 'POST', `/grid-calls/${raised.id}/rate`, { satisfaction: 'satisfied' }, { 'idempotency-key': 'rate-final' });
    expect(call).toMatchObject({ status: 'closed', satisfaction: 'satisfied' });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('closed');
    // A retry of the rating answers with the first result and changes nothing.
    const before = await s.counts();
    const again = await s.api('grid1', 'POST', `/grid-calls/${raised.id}/rate`, { satisfaction: 'satisfied' }, { 'idempotency-key': 'rate-final' });
    expect(again.status).toBe(200);
    expect(await s.counts()).toEqual(before);

    expect(await trailOf(raised.id)).toEqual([
      'gridcall.raised', 'gridcall.approved', 'gridcall.approved', 'gridcall.escalated', 'gridcall.awaiting_rating',
      'gridcall.second_handling', 'gridcall.rated', 'gridcall.awaiting_rating', 'gridcall.closed', 'gridcall.rated',
    ]);
  });
});
