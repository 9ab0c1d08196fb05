/**
 * Refused grid-call commands change nothing: self-approval, approvals out of order, the wrong role,
 * a territory that does not cover the call, a send-back without a reason, a double submit (the
 * Idempotency-Key answers with the first result). Grid matters (网格办) are recorded, scoped and
 * counted per grid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGridScenario, expectError, CALL, type GridScenario } from './helpers';

let s: GridScenario;
// One demo city per file (MariaDB imports it slowly); each test raises its own calls.
beforeAll(async () => {
  s = await startGridScenario();
}, 300_000);
afterAll(async () => s?.t.close());

describe('bad input on grid calls', { timeout: 120_000 }, () => {
  it('refuses self-approval, out-of-order and wrong-role approvals, and writes nothing', async () => {
    const raised = await s.raise('grid1');
    const before = await s.counts();
    // The caller cannot approve their own call, whatever the route.
    expectError(await s.api('grid1', 'POST', `/grid-calls/${raised.id}/approve`, {}), 403, 'GRID_CALL_SELF_APPROVAL');
    expectError(await s.api('grid1', 'POST', `/grid-calls/${raised.id}/send-back`, { reason: '撤回' }), 403, 'GRID_CALL_SELF_APPROVAL');
    // Out of order: the community secretary and the town leader before the grid leader.
    expectError(await s.api('secretary1', 'POST', `/grid-calls/${raised.id}/approve`, {}), 409, 'GRID_CALL_OUT_OF_ORDER');
    expectError(await s.api('townlead1', 'POST', `/grid-calls/${raised.id}/approve`, { route: 'town' }), 409, 'GRID_CALL_OUT_OF_ORDER');
    expectError(await s.api('townlead1', 'POST', `/grid-calls/${raised.id}/town-reply`, { result: '已处理' }), 409, 'GRID_CALL_NOT_IN_TOWN');
    // Wrong role: a unit's handler and an agent of the center do not approve grid calls; another grid member neither.
    expectError(await s.api('water1', 'POST', `/grid-calls/${raised.id}/approve`, {}), 403, 'ROLE_FORBIDDEN');
    expectError(await s.api('agent1', 'POST', `/grid-calls/${raised.id}/approve`, {}), 403, 'ROLE_FORBIDDEN');
    expectError(await s.api('water1', 'POST', '/grid-calls', CALL), 403, 'ROLE_FORBIDDEN');
    // grid2 works in the second grid: the first grid's call is not theirs to see.
    expectError(await s.api('grid2', 'GET', `/grid-calls/${raised.id}`), 404, 'GRID_CALL_NOT_FOUND');
    expectError(await s.api('grid2', 'POST', `/grid-calls/${raised.id}/approve`, {}), 404, 'GRID_CALL_NOT_FOUND');
    // A send-back without a reason; bad bodies.
    expectError(await s.api('gridlead1', 'POST', `/grid-calls/${raised.id}/send-back`, { reason: '' }), 400, 'FIELD_REQUIRED');
    expect((await s.api('gridlead1', 'POST', `/grid-calls/${raised.id}/send-back`, {})).status).toBe(400);
    expect((await s.api('gridlead1', 'POST', `/grid-calls/${raised.id}/approve`, { route: 'moon' })).status).toBe(400);
    expectError(await s.api('grid1', 'POST', '/grid-calls', { ...CALL, title: '  ' }), 400, 'FIELD_REQUIRED');
    expectError(await s.api('grid1', 'GET', '/grid-calls/nope'), 404, 'GRID_CALL_NOT_FOUND');

    expect(await s.counts()).toEqual(before);
    expect((await s.ok('grid1', 'GET', `/grid-calls/${raised.id}`)).call).toMatchObject({ status: 'pending', step: 'grid_leader', version: 1 });
  });

  it('a double submit with one Idempotency-Key raises one call and approves once; the key on another request is refused', async () => {
    const key = { 'idempotency-key': 'grid1-call-0001' };
    const first = await s.raise('grid1', {}, key);
    const before = await s.counts();
    const second = await s.raise('grid1', {}, key);
    expect(second.id).toBe(first.id);
    expect(await s.counts()).toEqual(before);
    expectError(await s.api('grid1', 'POST', '/grid-calls', { ...CALL, title: '另一件事' }, key), 409, 'IDEMPOTENCY_KEY_REUSED');

    const approveKey = { 'idempotency-key': 'gridlead1-approve-0001' };
    const a1 = await s.ok('gridlead1', 'POST', `/grid-calls/${first.id}/approve`, {}, approveKey);
    const afterApprove = await s.counts();
    const a2 = await s.ok('gridlead1', 'POST', `/grid-calls/${first.id}/approve`, {}, approveKey);
    expect(a2).toEqual(a1);
    expect(await s.counts()).toEqual(afterApprove);
    expect((await s.ok('grid1', 'GET', `/grid-calls/${first.id}`)).call).toMatchObject({ step: 'community_secretary', version: 2 });
    // Without a key, a second approval at the same level is out of order: nothing changes twice.
    expectError(await s.api('gridlead1', 'POST', `/grid-calls/${first.id}/approve`, {}), 409, 'GRID_CALL_OUT_OF_ORDER');
  });

  it('an escalation retried after the ticket was registered finds the same ticket', async () => {
    const raised = await s.raise('grid1');
    await s.ok('gridlead1', 'POST', `/grid-calls/${raised.id}/approve`, {});
    await s.ok('secretary1', 'POST', `/grid-calls/${raised.id}/approve`, {});
    const key = { 'idempotency-key': 'town-escalate-1' };
    const c1 = await s.ok('townlead1', 'POST', `/grid-calls/${raised.id}/approve`, { route: 'center' }, key);
    const before = await s.counts();
    const c2 = await s.ok('townlead1', 'POST', `/grid-calls/${raised.id}/approve`, { route: 'center' }, key);
    expect(c2.ticketId).toBe(c1.ticketId);
    expect(await s.counts()).toEqual(before);
  });
});

describe('grid matters (网格办)', { timeout: 120_000 }, () => {
  it('grid staff record matters handled in the grid; leaders above see them and the counts per grid', async () => {
    const m = await s.api('grid1', 'POST', '/grid-matters', { title: '劝导占道经营摊贩离开', handling: '现场劝导，摊贩已自行离开' }, { 'idempotency-key': 'm-1' });
    expect(m.status).toBe(201);
    const again = await s.api('grid1', 'POST', '/grid-matters', { title: '劝导占道经营摊贩离开', handling: '现场劝导，摊贩已自行离开' }, { 'idempotency-key': 'm-1' });
    expect(again.body.id).toBe(m.body.id);
    await s.ok('grid2', 'POST', '/grid-matters', { title: '调解邻里漏水纠纷', handling: '约双方到社区调解，达成维修协议' });
    await s.ok('grid2', 'POST', '/grid-matters', { title: '清理小广告', handling: '已清理' });
    expectError(await s.api('grid1', 'POST', '/grid-matters', { title: '清理小广告', handling: ' ' }), 400, 'FIELD_REQUIRED');
    expectError(await s.api('water1', 'POST', '/grid-matters', { title: 'x', handling: 'y' }), 403, 'ROLE_FORBIDDEN');
    expectError(await s.api('grid1', 'POST', '/grid-matters', { title: 'x', handling: 'y', handledAt: '2025-01-01T09:00:00+08:00' }), 400, 'HANDLED_AT_INVALID');

    const period = 'from=2025-10-01T00:00:00%2B08:00&to=2025-11-01T00:00:00%2B08:00';
    const mine = await s.ok('grid1', 'GET', `/grid-matters?${period}`);
    expect(mine.items.map((x: any) => x.title)).toEqual(['劝导占道经营摊贩离开']);
    const community = await s.ok('secretary1', 'GET', `/grid-matters/counts?${period}`);
    expect(community.total).toBe(3);
    expect(community.byTerritory.map((x: any) => x.matters).sort()).toEqual([1, 2]);
    expect((await s.ok('supervisor1', 'GET', `/grid-matters/counts?${period}`)).total).toBe(3);
    expect((await s.ok('gridlead1', 'GET', `/grid-matters/counts?${period}`)).total).toBe(1);
    expectError(await s.api('secretary1', 'GET', '/grid-matters/counts?from=2025-11-01T00:00:00%2B08:00&to=2025-10-01T00:00:00%2B08:00'), 400, 'PERIOD_INVALID');
    const [event] = await s.liveEventsOf('gridmatter.recorded');
    expect(event.audience).toMatchObject({ center: true });
  });
});
