import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Delivery that survives a crash.
 *
 * `notification_outbox` rows are leased, not marked delivered, when a node takes them: `claimed`
 * with `lease_until`; only when every sink has the notice does the row become `delivered`. A node
 * killed in between leaves the lease to expire, and the next sweep delivers the rows again (at least
 * once). A sink that fails pushes `lease_until` out with a backoff and keeps `last_error`.
 *
 * `live_events.event_key` makes a repeat of the same change (a notice delivered again after a crash)
 * one event on the consoles: unique, null for events that happen once by construction.
 *
 * `live_outbox` holds a change's live event written inside the change's own transaction (staged): it
 * exists exactly when the change committed. Right after the commit the event is moved into
 * `live_events` (numbered) and pushed; a node that died in between leaves the staged row, and any
 * node's sweep moves it. The move deletes the staged row first, so each is numbered once.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema.alterTable('notification_outbox').addColumn('lease_until', t.timestamp).execute();
  await db.schema.alterTable('notification_outbox').addColumn('attempts', t.integer, (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('notification_outbox').addColumn('last_error', t.text).execute();
  await db.schema.createIndex('notification_outbox_lease').on('notification_outbox').columns(['status', 'lease_until']).execute();

  await db.schema.alterTable('live_events').addColumn('event_key', t.key(160)).execute();
  await db.schema.createIndex('live_events_event_key').on('live_events').column('event_key').unique().execute();

  await db.schema
    .createTable('live_outbox')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('event', t.longText, (c) => c.notNull()) // JSON: the event without its number
    .execute();
  await db.schema.createIndex('live_outbox_created').on('live_outbox').column('created_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('live_outbox').ifExists().execute();
  await db.schema.dropIndex('live_events_event_key').on('live_events').execute();
  await db.schema.alterTable('live_events').dropColumn('event_key').execute();
  await db.schema.dropIndex('notification_outbox_lease').on('notification_outbox').execute();
  for (const c of ['last_error', 'attempts', 'lease_until']) await db.schema.alterTable('notification_outbox').dropColumn(c).execute();
}
