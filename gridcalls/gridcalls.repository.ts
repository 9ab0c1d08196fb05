/** Storage of grid calls and grid matters (网格呼叫, 网格办结事项); portable SQL over either dialect. */
import { type Kysely, type Selectable } from 'kysely';
import type { DB, GridCallsTable, GridMattersTable, GridTasksTable } from '../db';

export type GridCallRow = Selectable<GridCallsTable>;
export type GridMatterRow = Selectable<GridMattersTable>;
export type GridTaskRow = Selectable<GridTasksTable>;

/** What a viewer may list: the whole city (center) or a territory subtree (grid and town roles). */
export type GridScope = { kind: 'city' } | { kind: 'territory'; path: string };

export interface GridCallFilter {
  cityId: string;
  scope: GridScope;
  statuses?: string[];
  /** Calls raised by this user. */
  callerId?: string;
  /** Calls whose current step is this role's (an approver's inbox). */
  step?: string;
}


export class GridCallRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: GridCallRow): Promise<void> {
    await this.db.insertInto('grid_calls').values(row).execute();
  }

  find(id: string): Promise<GridCallRow | undefined> {
    return this.db.selectFrom('grid_calls').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByTicket(ticketId: string): Promise<GridCallRow | undefined> {
    return this.db.selectFrom('grid_calls').selectAll().where('ticket_id', '=', ticketId).executeTakeFirst();
  }

  /** Writes a change if nobody changed the call since it was read (optimistic: the version). */
  async update(id: string, version: number, patch: Partial<GridCallRow>): Promise<boolean> {
    const r = await this.db
      .updateTable('grid_calls')
      .set({ ...patch, version: version + 1 })
      .where('id', '=', id)
      .where('version', '=', version)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async list(f: GridCallFilter, offset: number, limit: number): Promise<{ items: GridCallRow[]; total: number }> {
    let q = this.db.selectFrom('grid_calls').where('city_id', '=', f.cityId);
    if (f.scope.kind === 'territory') q = q.where('territory_path', 'like', `${f.scope.path}%`);
    if (f.statuses?.length) q = q.where('status', 'in', f.statuses);
    if (f.callerId) q = q.where('caller_id', '=', f.callerId);
    if (f.step) q = q.where('step', '=', f.step);
    const total = Number((await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const items = await q.selectAll().orderBy('updated_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute();
    return { items, total };
  }

  /** Open steps whose reminder instant has passed and was not fired yet (the sweep). */
  dueReminders(now: string, limit: number) {
    return this.db.selectFrom('grid_calls').selectAll().where('remind_fired_at', 'is', null).where('step_remind_at', '<=', now).limit(limit).execute();
  }

  dueOverdue(now: string, limit: number) {
    return this.db.selectFrom('grid_calls').selectAll().where('overdue_fired_at', 'is', null).where('step_due_at', '<=', now).limit(limit).execute();
  }

  /** Claims a reminder or an overdue mark of the current step: true for the one node that did it. */
  async claim(id: string, which: 'remind_fired_at' | 'overdue_fired_at', stepStartedAt: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('grid_calls')
      .set({ [which]: now } as Partial<GridCallRow>)
      .where('id', '=', id)
      .where(which, 'is', null)
      .where('step_started_at', '=', stepStartedAt)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async insertMatter(row: GridMatterRow): Promise<void> {
    await this.db.insertInto('grid_matters').values(row).execute();
  }

  async listMatters(cityId: string, scope: GridScope, from: string, to: string, offset: number, limit: number) {
    let q = this.db.selectFrom('grid_matters').where('city_id', '=', cityId).where('handled_at', '>=', from).where('handled_at', '<', to);
    if (scope.kind === 'territory') q = q.where('territory_path', 'like', `${scope.path}%`);
    const total = Number((await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const items = await q.selectAll().orderBy('handled_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute();
    return { items, total };
  }

  /** Matters handled in the grid, per territory (grid) and period: what the reports count. */
  async matterCounts(cityId: string, scope: GridScope, from: string, to: string) {
    let q = this.db.selectFrom('grid_matters').where('city_id', '=', cityId).where('handled_at', '>=', from).where('handled_at', '<', to);
    if (scope.kind === 'territory') q = q.where('territory_path', 'like', `${scope.path}%`);
    const rows = await q.select(['territory_id', 'territory_path']).select((eb) => eb.fn.countAll().as('n')).groupBy(['territory_id', 'territory_path']).orderBy('territory_path').execute();
    return rows.map((r) => ({ territoryId: r.territory_id, territoryPath: r.territory_path, matters: Number(r.n) }));
  }

  /** Matters by id (a drill-down's page). */
  mattersByIds(ids: string[]) {
    if (!ids.length) return Promise.resolve([] as GridMatterRow[]);
    return this.db.selectFrom('grid_matters').selectAll().where('id', 'in', ids).execute();
  }

  /** The city's matters after an id, in id order (a full scan in batches). */
  mattersAfter(cityId: string, afterId: string, limit: number) {
    return this.db.selectFrom('grid_matters').selectAll().where('city_id', '=', cityId).where('id', '>', afterId).orderBy('id').limit(limit).execute();
  }

  async insertTask(row: GridTaskRow): Promise<void> {
    await this.db.insertInto('grid_tasks').values(row).execute();
  }

  findTask(id: string): Promise<GridTaskRow | undefined> {
    return this.db.selectFrom('grid_tasks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The open task of a work order, if one was handed down and not reported yet. */
  openTaskOf(workOrderId: string): Promise<GridTaskRow | undefined> {
    return this.db.selectFrom('grid_tasks').selectAll().where('work_order_id', '=', workOrderId).where('status', '=', 'assigned').executeTakeFirst();
  }

  async updateTask(id: string, version: number, patch: Partial<GridTaskRow>): Promise<boolean> {
    const r = await this.db.updateTable('grid_tasks').set({ ...patch, version: version + 1 }).where('id', '=', id).where('version', '=', version).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Tasks of a grid subtree (grid staff) or handed down by a unit. */
  async listTasks(cityId: string, by: { path: string } | { unitId: string } | 'city', f: { statuses?: string[]; workOrderIds?: string[] }, offset: number, limit: number) {
    let q = this.db.selectFrom('grid_tasks').where('city_id', '=', cityId);
    if (by !== 'city' && 'path' in by) q = q.where('territory_path', 'like', `${by.path}%`);
    if (by !== 'city' && 'unitId' in by) q = q.where('unit_id', '=', by.unitId);
    if (f.statuses?.length) q = q.where('status', 'in', f.statuses);
    if (f.workOrderIds?.length) q = q.where('work_order_id', 'in', f.workOrderIds);
    const total = Number((await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const items = await q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute();
    return { items, total };
  }
}
