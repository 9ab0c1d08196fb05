import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * SMS (短信): one row per text in or out, and what delivery needs around it.
 *
 * - `sms_messages`: every outbound text with its state (queued → submitting → submitted → delivered /
 *   failed / expired; suppressed when opted out or turned off), its `body` rendered from `kind` and
 *   `context` before the first send when it was queued inside another part's transaction, attempts and next attempt, the gateway and provider
 *   id that took it. `source_key` is unique: the notice, ticket event or inbound text it answers, so a
 *   notice delivered to the SMS sink twice (at least once) queues one text.
 * - `sms_provider_ids`: every provider id a submit returned (one per part), for receipts.
 * - `sms_receipts`: every delivery receipt as it arrived, matched or not: a receipt can overtake the
 *   commit of its own submit (a fast SMSC), and is applied when the submit is recorded.
 * - `sms_inbound`: every text into the hotline, unique per (gateway, provider id): a provider that
 *   delivers the same text twice gets the first outcome again.
 * - `sms_action_codes`: the short code a unit's text carries to act on a work order by SMS (签收 123456),
 *   unique within the unit: the command comes from the unit's registered phone, so the unit is known.
 * - `sms_opt_outs`: citizens who asked for no more survey texts (退订).
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('sms_messages')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('kind', t.key(64), (c) => c.notNull())
    .addColumn('recipient_kind', t.key(16), (c) => c.notNull())
    .addColumn('unit_id', t.key(64))
    .addColumn('phone', t.key(32), (c) => c.notNull())
    .addColumn('body', t.text)
    .addColumn('context', t.text)
    .addColumn('parts', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('state', t.key(16), (c) => c.notNull())
    .addColumn('source_key', t.key(191), (c) => c.notNull().unique())
    .addColumn('ticket_id', t.key(64))
    .addColumn('work_order_id', t.key(64))
    .addColumn('confidential', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('gateway', t.key(32))
    .addColumn('provider_message_id', t.key(128))
    .addColumn('attempts', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', t.timestamp, (c) => c.notNull())
    .addColumn('lease_until', t.timestamp)
    .addColumn('claim_token', t.key(32))
    .addColumn('last_error', t.text)
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addColumn('submitted_at', t.timestamp)
    .addColumn('delivered_at', t.timestamp)
    .execute();
  await db.schema.createIndex('sms_messages_due').on('sms_messages').columns(['state', 'next_attempt_at']).execute();
  await db.schema.createIndex('sms_messages_ticket').on('sms_messages').columns(['ticket_id', 'created_at']).execute();
  await db.schema.createIndex('sms_messages_work_order').on('sms_messages').columns(['work_order_id', 'created_at']).execute();
  await db.schema.createIndex('sms_messages_phone').on('sms_messages').columns(['phone', 'kind', 'created_at']).execute();
  await db.schema.createIndex('sms_messages_city_state').on('sms_messages').columns(['city_id', 'state', 'updated_at']).execute();

  await db.schema
    .createTable('sms_provider_ids')
    .addColumn('gateway', t.key(32), (c) => c.notNull())
    .addColumn('provider_message_id', t.key(128), (c) => c.notNull())
    .addColumn('message_id', t.id, (c) => c.notNull())
    .addColumn('part', t.integer, (c) => c.notNull())
    .addPrimaryKeyConstraint('sms_provider_ids_pk', ['gateway', 'provider_message_id'])
    .execute();
  await db.schema.createIndex('sms_provider_ids_message').on('sms_provider_ids').columns(['message_id']).execute();

  await db.schema
    .createTable('sms_receipts')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('gateway', t.key(32), (c) => c.notNull())
    .addColumn('provider_message_id', t.key(128), (c) => c.notNull())
    .addColumn('state', t.key(16), (c) => c.notNull())
    .addColumn('detail', t.text)
    .addColumn('message_id', t.key(26))
    .addColumn('received_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('sms_receipts_once', ['gateway', 'provider_message_id', 'state'])
    .execute();
  await db.schema.createIndex('sms_receipts_unmatched').on('sms_receipts').columns(['message_id', 'received_at']).execute();

  await db.schema
    .createTable('sms_inbound')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('gateway', t.key(32), (c) => c.notNull())
    .addColumn('provider_message_id', t.key(128), (c) => c.notNull())
    .addColumn('from_phone', t.key(32), (c) => c.notNull())
    .addColumn('to_number', t.key(32), (c) => c.notNull())
    .addColumn('body', t.text, (c) => c.notNull())
    .addColumn('outcome', t.key(32), (c) => c.notNull())
    .addColumn('status', t.key(16), (c) => c.notNull())
    .addColumn('ticket_id', t.key(64))
    .addColumn('work_order_id', t.key(64))
    .addColumn('unit_id', t.key(64))
    .addColumn('detail', t.text)
    .addColumn('handled_by', t.key(64))
    .addColumn('handled_at', t.timestamp)
    .addColumn('received_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('sms_inbound_once', ['gateway', 'provider_message_id'])
    .execute();
  await db.schema.createIndex('sms_inbound_queue').on('sms_inbound').columns(['city_id', 'status', 'received_at']).execute();
  await db.schema.createIndex('sms_inbound_phone').on('sms_inbound').columns(['from_phone', 'received_at']).execute();

  await db.schema
    .createTable('sms_action_codes')
    .addColumn('work_order_id', t.key(64), (c) => c.primaryKey())
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('code', t.key(8), (c) => c.notNull())
    .addColumn('unit_id', t.key(64), (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('sms_action_codes_code', ['unit_id', 'code'])
    .execute();

  await db.schema
    .createTable('sms_opt_outs')
    .addColumn('city_id', t.key(64), (c) => c.notNull())
    .addColumn('phone', t.key(32), (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('inbound_id', t.key(26))
    .addPrimaryKeyConstraint('sms_opt_outs_pk', ['city_id', 'phone'])
    .execute();
  // Who is texting: a unit's registered SMS or duty phone.
  await db.schema.createIndex('units_sms_phone').on('units').columns(['sms_phone']).execute();
  await db.schema.createIndex('units_duty_phone').on('units').columns(['duty_phone']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('units_duty_phone').on('units').execute();
  await db.schema.dropIndex('units_sms_phone').on('units').execute();
  for (const table of ['sms_opt_outs', 'sms_action_codes', 'sms_inbound', 'sms_receipts', 'sms_provider_ids', 'sms_messages']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
