import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * The closed loop (接诉即办闭环): work orders per unit with their clocks, the supervision ladder's
 * milestones (indexed by due time: the database, not the queue, says what is due), progress notes
 * and attachments, supervision orders (督办单), callbacks (回访), the claim pool (认领) and the
 * notification outbox. Time-limit policies gain their supervision ladder.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema.alterTable('time_limit_policies').addColumn('ladder', t.text).execute();
  // 'basically_satisfied' (基本满意) is 19 characters: the column was too narrow on MySQL (SQLite does not check).
  if (dialect === 'mysql') await db.schema.alterTable('tickets').modifyColumn('satisfaction', t.key(24)).execute();

  await db.schema
    .createTable('work_orders')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('ticket_id', t.id, (c) => c.notNull())
    // Copied from the ticket at dispatch, so a unit's list needs no read of another part's table.
    .addColumn('ticket_number', t.key(32), (c) => c.notNull())
    .addColumn('ticket_title', t.key(200))
    .addColumn('unit_id', t.key(64), (c) => c.notNull())
    .addColumn('role', t.key(8), (c) => c.notNull()) // lead 主办 | co 协办
    .addColumn('round', t.integer, (c) => c.notNull())
    .addColumn('status', t.key(24), (c) => c.notNull())
    .addColumn('version', t.integer, (c) => c.notNull())
    .addColumn('policy_code', t.key(64))
    .addColumn('dispatched_at', t.timestamp, (c) => c.notNull())
    .addColumn('acknowledge_due', t.timestamp)
    .addColumn('on_site_due', t.timestamp)
    .addColumn('reply_due', t.timestamp)
    .addColumn('citizen_reply_due', t.timestamp)
    .addColumn('acknowledged_at', t.timestamp)
    .addColumn('on_site_at', t.timestamp)
    .addColumn('replied_at', t.timestamp)
    .addColumn('result', t.text)
    .addColumn('extension_reason', t.text)
    .addColumn('extension_proposed_due', t.timestamp)
    .addColumn('extension_count', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('return_reason', t.text)
    .addColumn('returned_at', t.timestamp)
    .addColumn('closed_at', t.timestamp)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('work_orders_ticket').on('work_orders').columns(['ticket_id', 'round']).execute();
  await db.schema.createIndex('work_orders_unit_status').on('work_orders').columns(['unit_id', 'status', 'reply_due']).execute();
  await db.schema.createIndex('work_orders_city_status').on('work_orders').columns(['city_id', 'status', 'reply_due']).execute();

  await db.schema
    .createTable('work_order_milestones')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('work_order_id', t.id, (c) => c.notNull())
    .addColumn('clock', t.key(16), (c) => c.notNull()) // acknowledge | onSite | reply | citizenReply
    .addColumn('step', t.key(16), (c) => c.notNull()) // reminder | overdue | escalation | supervision
    .addColumn('deadline_at', t.timestamp, (c) => c.notNull())
    .addColumn('due_at', t.timestamp, (c) => c.notNull())
    .addColumn('status', t.key(12), (c) => c.notNull()) // pending | fired | cancelled
    .addColumn('fired_at', t.timestamp)
    .addColumn('fired_by', t.key(64))
    // One step per work order, clock and deadline: a new deadline (extension) gets new rows.
    .addUniqueConstraint('work_order_milestones_once', ['work_order_id', 'clock', 'step', 'deadline_at'])
    .execute();
  // The sweep's range query: pending rows by due time.
  await db.schema.createIndex('work_order_milestones_due').on('work_order_milestones').columns(['status', 'due_at']).execute();
  await db.schema.createIndex('work_order_milestones_order').on('work_order_milestones').columns(['work_order_id', 'status']).execute();

  // The center's own clock (寿光: the center dispatches within 1 working day of acceptance).
  await db.schema
    .createTable('ticket_milestones')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('ticket_id', t.id, (c) => c.notNull())
    .addColumn('ticket_number', t.key(32), (c) => c.notNull())
    .addColumn('clock', t.key(16), (c) => c.notNull()) // centerDispatch
    .addColumn('step', t.key(16), (c) => c.notNull()) // reminder | overdue | escalation
    .addColumn('deadline_at', t.timestamp, (c) => c.notNull())
    .addColumn('due_at', t.timestamp, (c) => c.notNull())
    .addColumn('status', t.key(12), (c) => c.notNull())
    .addColumn('fired_at', t.timestamp)
    .addColumn('fired_by', t.key(64))
    .addUniqueConstraint('ticket_milestones_once', ['ticket_id', 'clock', 'step', 'deadline_at'])
    .execute();
  await db.schema.createIndex('ticket_milestones_due').on('ticket_milestones').columns(['status', 'due_at']).execute();
  await db.schema.createIndex('ticket_milestones_ticket').on('ticket_milestones').columns(['ticket_id', 'status']).execute();

  await db.schema
    .createTable('work_order_notes')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('work_order_id', t.id, (c) => c.notNull())
    .addColumn('kind', t.key(16), (c) => c.notNull()) // progress | on_site | supervision_answer
    .addColumn('text', t.text, (c) => c.notNull())
    .addColumn('author_id', t.key(64))
    .addColumn('author_name', t.key(64))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('work_order_notes_order').on('work_order_notes').columns(['work_order_id', 'created_at']).execute();

  await db.schema
    .createTable('work_order_attachments')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('work_order_id', t.id, (c) => c.notNull())
    .addColumn('file_name', t.key(255), (c) => c.notNull())
    .addColumn('content_type', t.key(100), (c) => c.notNull())
    .addColumn('size', t.integer, (c) => c.notNull())
    .addColumn('sha256', t.key(64), (c) => c.notNull())
    .addColumn('storage_key', t.key(200), (c) => c.notNull())
    .addColumn('uploaded_by', t.key(64))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('work_order_attachments_order').on('work_order_attachments').column('work_order_id').execute();

  await db.schema
    .createTable('supervision_orders')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('work_order_id', t.id, (c) => c.notNull())
    .addColumn('ticket_id', t.id, (c) => c.notNull())
    .addColumn('unit_id', t.key(64), (c) => c.notNull())
    .addColumn('origin', t.key(8), (c) => c.notNull()) // auto | manual
    .addColumn('reason', t.text, (c) => c.notNull())
    .addColumn('raised_by', t.key(64))
    .addColumn('status', t.key(12), (c) => c.notNull()) // open | answered
    .addColumn('answer', t.text)
    .addColumn('answered_by', t.key(64))
    .addColumn('answered_at', t.timestamp)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('supervision_orders_city').on('supervision_orders').columns(['city_id', 'status', 'created_at']).execute();
  await db.schema.createIndex('supervision_orders_unit').on('supervision_orders').columns(['unit_id', 'status']).execute();

  await db.schema
    .createTable('callbacks')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('ticket_id', t.id, (c) => c.notNull())
    .addColumn('round', t.integer, (c) => c.notNull())
    .addColumn('status', t.key(12), (c) => c.notNull()) // pending | surveying | answered | no_answer | skipped
    .addColumn('version', t.integer, (c) => c.notNull())
    .addColumn('attempts', t.integer, (c) => c.notNull())
    .addColumn('max_attempts', t.integer, (c) => c.notNull())
    .addColumn('next_attempt_at', t.timestamp)
    .addColumn('satisfaction', t.key(24))
    .addColumn('comment', t.text)
    .addColumn('answered_via', t.key(8))
    .addColumn('answered_at', t.timestamp)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('callbacks_ticket_round', ['ticket_id', 'round'])
    .execute();
  await db.schema.createIndex('callbacks_due').on('callbacks').columns(['status', 'next_attempt_at']).execute();

  await db.schema
    .createTable('claim_pool')
    .addColumn('ticket_id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('reason', t.text, (c) => c.notNull())
    .addColumn('offered_by', t.key(64))
    .addColumn('offered_at', t.timestamp, (c) => c.notNull())
    .addColumn('claimed_by_unit_id', t.key(64))
    .addColumn('claimed_at', t.timestamp)
    .execute();
  await db.schema.createIndex('claim_pool_city').on('claim_pool').columns(['city_id', 'claimed_at']).execute();

  await db.schema
    .createTable('notification_outbox')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('event', t.key(48), (c) => c.notNull())
    .addColumn('recipient_kind', t.key(16), (c) => c.notNull()) // unit | unit_manager | role | citizen | user
    .addColumn('recipient_id', t.key(64), (c) => c.notNull())
    .addColumn('ticket_id', t.id)
    .addColumn('work_order_id', t.id)
    .addColumn('act_by', t.timestamp)
    .addColumn('payload', t.text, (c) => c.notNull())
    // What makes the notice unique (a milestone id, a command); a repeat is not queued twice.
    .addColumn('dedup_key', t.key(160), (c) => c.notNull().unique())
    .addColumn('status', t.key(12), (c) => c.notNull()) // pending | delivered
    // Which delivery run took the row (node and batch): a batch claims its rows with one update.
    .addColumn('claim_token', t.key(64))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('delivered_at', t.timestamp)
    .execute();
  await db.schema.createIndex('notification_outbox_pending').on('notification_outbox').columns(['status', 'created_at']).execute();
  await db.schema.createIndex('notification_outbox_ticket').on('notification_outbox').column('ticket_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['notification_outbox', 'claim_pool', 'callbacks', 'supervision_orders', 'work_order_attachments', 'work_order_notes', 'ticket_milestones', 'work_order_milestones', 'work_orders']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await db.schema.alterTable('time_limit_policies').dropColumn('ladder').execute();
}
