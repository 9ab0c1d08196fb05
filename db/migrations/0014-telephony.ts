import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Telephony above the SIP edge (ACD, 话单, 录音, 回拨):
 *
 * - `telephony_call_records`: one call detail record (话单) per call the edge offered, written when
 *   offered, updated when queued, offered to an agent and answered (so an answered call survives a
 *   crash), completed when it ends. `node_id` is the node that holds the call: at boot a node closes
 *   its own dangling records, and any node those of a node that is gone, with cause `node_restart`.
 * - `telephony_callback_requests`: a caller who pressed 1 after the maximum wait (留言回拨): a work
 *   item agents list, claim and complete.
 * - `telephony_recordings`: the recording of a call stored like an attachment (disk or S3), linked to
 *   the call (and through it to the ticket); `deleted_at` once the retention job removed the file.
 * - `telephony_agents`: per agent, the SIP username of their phone (坐席话机) and their skills (技能组).
 * - `telephony_queue_settings`: the admin's overrides of a city's queue settings.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('telephony_call_records')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('edge_call_id', t.key(128), (c) => c.notNull().unique())
    .addColumn('edge', t.key(16), (c) => c.notNull())
    .addColumn('node_id', t.key(64), (c) => c.notNull())
    .addColumn('caller_number', t.key(64), (c) => c.notNull())
    .addColumn('dialled_number', t.key(64), (c) => c.notNull())
    .addColumn('line_number', t.key(32))
    .addColumn('line_name', t.key(128))
    .addColumn('queue', t.key(32), (c) => c.notNull())
    .addColumn('priority', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('agent_user_id', t.key(64))
    .addColumn('ticket_id', t.key(64))
    .addColumn('offered_at', t.timestamp, (c) => c.notNull())
    .addColumn('queued_at', t.timestamp)
    .addColumn('agent_offered_at', t.timestamp)
    .addColumn('answered_at', t.timestamp)
    .addColumn('ended_at', t.timestamp)
    .addColumn('outcome', t.key(16))
    .addColumn('abandon_point', t.key(16))
    .addColumn('reoffers', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('overflowed_to', t.key(32))
    .addColumn('end_cause', t.key(32))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('telephony_call_records_offered').on('telephony_call_records').columns(['city_id', 'offered_at']).execute();
  await db.schema.createIndex('telephony_call_records_open').on('telephony_call_records').columns(['ended_at', 'node_id']).execute();
  await db.schema.createIndex('telephony_call_records_ticket').on('telephony_call_records').columns(['ticket_id']).execute();

  await db.schema
    .createTable('telephony_callback_requests')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('call_record_id', t.id, (c) => c.notNull().unique())
    .addColumn('caller_number', t.key(64), (c) => c.notNull())
    .addColumn('queue', t.key(32), (c) => c.notNull())
    .addColumn('line_name', t.key(128))
    .addColumn('status', t.key(16), (c) => c.notNull())
    .addColumn('claimed_by', t.key(64))
    .addColumn('claimed_at', t.timestamp)
    .addColumn('completed_at', t.timestamp)
    .addColumn('note', t.text)
    .addColumn('requested_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('telephony_callback_requests_open').on('telephony_callback_requests').columns(['city_id', 'status', 'requested_at']).execute();

  await db.schema
    .createTable('telephony_recordings')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('call_record_id', t.id, (c) => c.notNull().unique())
    .addColumn('storage_key', t.key(255), (c) => c.notNull())
    .addColumn('content_type', t.key(64), (c) => c.notNull())
    .addColumn('bytes', t.integer, (c) => c.notNull())
    .addColumn('duration_ms', t.integer, (c) => c.notNull())
    .addColumn('stored_at', t.timestamp, (c) => c.notNull())
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .addColumn('deleted_at', t.timestamp)
    .execute();
  await db.schema.createIndex('telephony_recordings_expiry').on('telephony_recordings').columns(['deleted_at', 'expires_at']).execute();

  await db.schema
    .createTable('telephony_agents')
    .addColumn('user_id', t.key(64), (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('phone_username', t.key(64), (c) => c.unique())
    .addColumn('skills', t.text, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('telephony_queue_settings')
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('skill', t.key(32), (c) => c.notNull())
    .addColumn('settings', t.text, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('telephony_queue_settings_pk', ['city_id', 'skill'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['telephony_queue_settings', 'telephony_agents', 'telephony_recordings', 'telephony_callback_requests', 'telephony_call_records']) {
    await db.schema.dropTable(t).execute();
  }
}
