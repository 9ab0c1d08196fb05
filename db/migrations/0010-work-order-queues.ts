import { sql, type Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Queues that hide no work (工单队列): a busy day puts hundreds of work orders in one unit's queue,
 * and the console pages, filters and sorts them on the server.
 *
 * A work order keeps a copy of what its queue is filtered by — the ticket's urgency (紧急程度), its
 * category and its territory path — taken at dispatch, like `ticket_number` and `ticket_title`: the
 * work-order part never reads intake's table, and one indexed table answers a unit's filtered page.
 * Existing rows are filled in from their tickets.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema.alterTable('work_orders').addColumn('urgency', t.key(16), (c) => c.notNull().defaultTo('normal')).execute();
  await db.schema.alterTable('work_orders').addColumn('category_id', t.key(64)).execute();
  await db.schema.alterTable('work_orders').addColumn('territory_path', t.key(255)).execute();
  // A correlated subquery: the one UPDATE-from-another-table both SQLite and MySQL accept.
  await sql`UPDATE work_orders SET
    urgency = COALESCE((SELECT t.urgency FROM tickets t WHERE t.id = work_orders.ticket_id), 'normal'),
    category_id = (SELECT t.category_id FROM tickets t WHERE t.id = work_orders.ticket_id),
    territory_path = (SELECT t.territory_path FROM tickets t WHERE t.id = work_orders.ticket_id)`.execute(db);
  // A unit's queue filtered by urgency, and the center's; the existing (…, status, reply_due) indexes serve the rest.
  await db.schema.createIndex('work_orders_unit_urgency').on('work_orders').columns(['unit_id', 'urgency', 'status']).execute();
  await db.schema.createIndex('work_orders_city_urgency').on('work_orders').columns(['city_id', 'urgency', 'status']).execute();
  // Tickets listed by urgency and age (the dispatcher's 待派单 sorted by urgency).
  await db.schema.createIndex('tickets_city_status_urgency').on('tickets').columns(['city_id', 'status', 'urgency', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('tickets_city_status_urgency').on('tickets').execute();
  await db.schema.dropIndex('work_orders_city_urgency').on('work_orders').execute();
  await db.schema.dropIndex('work_orders_unit_urgency').on('work_orders').execute();
  await db.schema.alterTable('work_orders').dropColumn('territory_path').execute();
  await db.schema.alterTable('work_orders').dropColumn('category_id').execute();
  await db.schema.alterTable('work_orders').dropColumn('urgency').execute();
}
