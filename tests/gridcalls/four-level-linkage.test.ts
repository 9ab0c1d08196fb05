/**
 * Four-level linkage (招远 市—镇街—社区—网格): a ticket dispatched to a town's unit is signed for there,
 * handed down to a grid under the town (noted on the work order, whose clocks keep running), the grid
 * reports, and the town replies on the work order; up to the center is the work order's own return.
 * Refusals change nothing. On SQLite and MariaDB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGridScenario, expectError, type GridScenario } from './helpers';

let s: GridScenario;
beforeAll(async () => {
  s = await startGridScenario();
}, 300_000);
afterAll(async () => s?.t.close());

const territory = async (code: string) => (await s.t.ctx.directory.findTerritoryByCode('demo', code))!.id;
const taskRows = async () => Number((await s.t.ctx.database.db.selectFrom('grid_tasks').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

describe('four-level linkage', { timeout: 120_000 }, () => {
  it('the town signs for a ticket, hands it down to a grid, the grid reports, the town replies on the work order', async () => {
    const { ticket, lead } = await s.dispatched('st-990102001', { extra: { addressText: '滨江路1号' } });
    const grid = await territory('990102001001001');
    // Not before the town signed for it.
    expectError(await s.api('street1', 'POST', `/work-orders/${lead.id}/hand-down`, { territoryId: grid }), 409, 'GRID_TASK_NOT_TAKEN');
    const a = await s.ok('street1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });

    const before = await taskRows();
    // Refused: a grid of another town, a unit that is not a town's or a community's, a grid member, an unknown grid.
    expectError(await s.api('street1', 'POST', `/work-orders/${lead.id}/hand-down`, { territoryId: await territory('990102002001001') }), 403, 'GRID_TASK_OUT_OF_SCOPE');
    expectError(await s.api('chengguan1', 'POST', `/work-orders/${lead.id}/hand-down`, { territoryId: grid }), 403, 'GRID_TASK_UNIT_NOT_LOCAL');
    expectError(await s.api('grid1', 'POST', `/work-orders/${lead.id}/hand-down`, { territoryId: grid }), 403, 'ROLE_FORBIDDEN');
    expectError(await s.api('street1', 'POST', `/work-orders/${lead.id}/hand-down`, { territoryId: 'nope' }), 400, 'TERRITORY_NOT_FOUND');
    expect(await taskRows()).toBe(before);

    const key = { 'idempotency-key': 'hand-down-1' };
    const task = (await s.api('street1', 'POST', `/work-orders/${lead.id}/hand-down`, { territoryId: grid, note: '请网格员上门核实' }, key)).body;
    expect(task).toMatchObject({ status: 'assigned', workOrderId: lead.id, ticketId: ticket.id, territoryId: grid, note: '请网格员上门核实' });
    expect(task.replyDue).toBe(a.deadlines.reply);
    // A double submit is one hand-down; another while the grid works is refused.
    expect((await s.api('street1', 'POST', `/work-orders/${lead.id}/hand-down`, { territoryId: grid, note: '请网格员上门核实' }, key)).body.id).toBe(task.id);
    expectError(await s.api('street1', 'POST', `/work-orders/${lead.id}/hand-down`, { territoryId: grid }), 409, 'GRID_TASK_OPEN');
    expect(await taskRows()).toBe(before + 1);
    // The hand-down stands in the work order's own trail.
    const wo = await s.ok('street1', 'GET', `/work-orders/${lead.id}`);
    expect(wo.notes.map((n: any) => n.text)).toContain('下派网格：滨江社区第一网格。请网格员上门核实');
    expect(wo.history.map((h: any) => h.action).some((a: string) => a.endsWith('note_added'))).toBe(true);

    // The grid sees its task; the next grid does not.
    expect((await s.ok('grid1', 'GET', '/grid-tasks')).items.map((x: any) => x.id)).toEqual([task.id]);
    expect((await s.ok('grid2', 'GET', '/grid-tasks')).items).toEqual([]);
    expectError(await s.api('grid2', 'POST', `/grid-tasks/${task.id}/report`, { result: '已处理' }), 404, 'GRID_TASK_NOT_FOUND');
    expectError(await s.api('grid1', 'POST', `/grid-tasks/${task.id}/report`, { result: ' ' }), 400, 'FIELD_REQUIRED');
    const reported = await s.ok('grid1', 'POST', `/grid-tasks/${task.id}/report`, { result: '已上门核实，商铺已撤下喇叭' });
    expect(reported).toMatchObject({ status: 'reported', result: '已上门核实，商铺已撤下喇叭' });
    expectError(await s.api('grid1', 'POST', `/grid-tasks/${task.id}/report`, { result: '再报一次' }), 409, 'GRID_TASK_REPORTED');
    expect((await s.ok('street1', 'GET', '/grid-tasks?status=reported')).items.map((x: any) => x.id)).toEqual([task.id]);
    // A queue's page asks for its own work orders' tasks only, a page at a time, with the true total.
    expect(await s.ok('street1', 'GET', `/grid-tasks?workOrderId=${lead.id},nothing-here&pageSize=5`)).toMatchObject({ items: [{ id: task.id }], total: 1, page: 1, pageSize: 5 });
    expect(await s.ok('street1', 'GET', '/grid-tasks?workOrderId=nothing-here')).toMatchObject({ items: [], total: 0 });
    expect((await s.ok('street1', 'GET', '/grid-tasks?page=2&pageSize=1')).items).toEqual([]);
    expectError(await s.api('street1', 'GET', `/grid-tasks?workOrderId=${Array.from({ length: 101 }, (_, i) => `w${i}`).join(',')}`), 400, 'VALIDATION_FAILED');

    // The town replies on the work order with the grid's result: the closed loop goes on as usual.
    await s.ok('street1', 'POST', `/work-orders/${lead.id}/reply`, { version: a.version, result: `网格核实：${reported.result}` });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('replied');
  });

  it('up to the center: the town returns a ticket that is not its own through the work order', async () => {
    const { ticket, lead } = await s.dispatched('st-990102001');
    await s.ok('street1', 'POST', `/work-orders/${lead.id}/return`, { version: lead.version, reason: '属市级部门职责，退回中心' });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('returned');
  });
});
