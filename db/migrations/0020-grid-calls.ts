import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Grid calls (网格呼叫·部门报到) and matters handled inside the grid (网格办结事项).
 *
 * - `grid_calls`: one row per call a grid member, grid leader or community secretary raises. It climbs
 *   the territory's levels one approval at a time (网格长 → 社区书记 → 镇街分管负责同志); the current
 *   step has a working-time deadline and a reminder instant, each fired once by the sweep (the
 *   `*_fired_at` columns are claimed by one atomic update). At the town it is handled there (镇街自办)
 *   or escalated to the center as a ticket (`ticket_id`); the caller rates the result at the end.
 * - `grid_matters`: simple matters grid staff handled themselves (简单事网格办), counted in the reports.
 * - `grid_tasks`: four-level linkage (招远 市—镇街—社区—网格): a town's or community's unit hands a work
 *   order it took down to a grid; the grid reports back, the unit replies on the work order (whose
 *   clocks keep running: the task shows the work order's reply deadline).
 *
 * The roles (grid_member, grid_leader, community_secretary, town_leader) and their territory binding
 * already exist (identity, 0001); nothing is added there.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('grid_calls')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('number', t.key(32), (c) => c.notNull().unique())
    .addColumn('territory_id', t.key(64), (c) => c.notNull())
    .addColumn('territory_path', t.key(255), (c) => c.notNull())
    .addColumn('caller_id', t.key(64), (c) => c.notNull())
    .addColumn('caller_role', t.key(32), (c) => c.notNull())
    .addColumn('caller_name', t.key(128), (c) => c.notNull())
    .addColumn('title', t.key(200), (c) => c.notNull())
    .addColumn('situation', t.text, (c) => c.notNull())
    .addColumn('demand', t.text)
    .addColumn('address_text', t.key(255))
    .addColumn('category_id', t.key(64))
    .addColumn('status', t.key(32), (c) => c.notNull())
    .addColumn('step', t.key(32))
    .addColumn('step_started_at', t.timestamp)
    .addColumn('step_remind_at', t.timestamp)
    .addColumn('step_due_at', t.timestamp)
    .addColumn('remind_fired_at', t.timestamp)
    .addColumn('overdue_fired_at', t.timestamp)
    .addColumn('round', t.integer, (c) => c.notNull().defaultTo(1))
    .addColumn('sent_back_reason', t.text)
    .addColumn('ticket_id', t.key(64))
    .addColumn('result', t.text)
    .addColumn('satisfaction', t.key(32))
    .addColumn('version', t.integer, (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addColumn('closed_at', t.timestamp)
    .execute();
  await db.schema.createIndex('grid_calls_scope').on('grid_calls').columns(['city_id', 'territory_path']).execute();
  // The sweep reads the open steps by their next instant.
  await db.schema.createIndex('grid_calls_remind').on('grid_calls').columns(['remind_fired_at', 'step_remind_at']).execute();
  await db.schema.createIndex('grid_calls_due').on('grid_calls').columns(['overdue_fired_at', 'step_due_at']).execute();
  await db.schema.createIndex('grid_calls_ticket').on('grid_calls').columns(['ticket_id']).execute();

  await db.schema
    .createTable('grid_matters')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('territory_id', t.key(64), (c) => c.notNull())
    .addColumn('territory_path', t.key(255), (c) => c.notNull())
    .addColumn('recorded_by', t.key(64), (c) => c.notNull())
    .addColumn('recorder_name', t.key(128), (c) => c.notNull())
    .addColumn('category_id', t.key(64))
    .addColumn('title', t.key(200), (c) => c.notNull())
    .addColumn('handling', t.text, (c) => c.notNull())
    .addColumn('address_text', t.key(255))
    .addColumn('handled_at', t.timestamp, (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('grid_tasks')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('ticket_id', t.key(64), (c) => c.notNull())
    .addColumn('work_order_id', t.key(64), (c) => c.notNull())
    .addColumn('unit_id', t.key(64), (c) => c.notNull())
    .addColumn('territory_id', t.key(64), (c) => c.notNull())
    .addColumn('territory_path', t.key(255), (c) => c.notNull())
    .addColumn('title', t.key(200), (c) => c.notNull())
    .addColumn('note', t.text)
    .addColumn('assigned_by', t.key(64), (c) => c.notNull())
    .addColumn('assigned_by_name', t.key(128), (c) => c.notNull())
    .addColumn('reply_due', t.timestamp)
    .addColumn('status', t.key(32), (c) => c.notNull())
    .addColumn('result', t.text)
    .addColumn('reported_by', t.key(64))
    .addColumn('reported_at', t.timestamp)
    .addColumn('version', t.integer, (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('grid_tasks_scope').on('grid_tasks').columns(['city_id', 'territory_path']).execute();
  await db.schema.createIndex('grid_tasks_unit').on('grid_tasks').columns(['unit_id', 'status']).execute();
  await db.schema.createIndex('grid_tasks_work_order').on('grid_tasks').columns(['work_order_id']).execute();

  await db.schema.createIndex('grid_matters_scope').on('grid_matters').columns(['city_id', 'territory_path', 'handled_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('grid_tasks').execute();
  await db.schema.dropTable('grid_matters').execute();
  await db.schema.dropTable('grid_calls').execute();
}
