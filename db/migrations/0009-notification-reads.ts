import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Which notices each user has read (已读), for the console's bell.
 *
 * One row per user and notice read: a notice to a unit or a role reaches several people, and each
 * reads it on their own. Kept server-side so the count follows the user to another desk or browser.
 * Only recent notices count as unread (the console asks for a window of days), so a user never
 * faces years of unread rows and "mark all read" writes a bounded number of them.
 *
 * The index on the outbox finds a recipient's notices by time without scanning every city's notices.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('notification_reads')
    .addColumn('user_id', t.key(64), (c) => c.notNull())
    .addColumn('notification_id', t.id, (c) => c.notNull())
    .addColumn('read_at', t.timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('notification_reads_pk', ['user_id', 'notification_id'])
    .execute();
  await db.schema.createIndex('notification_outbox_recipient').on('notification_outbox').columns(['recipient_kind', 'recipient_id', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('notification_outbox_recipient').on('notification_outbox').execute();
  await db.schema.dropTable('notification_reads').ifExists().execute();
}
