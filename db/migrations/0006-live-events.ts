import { sql, type Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * The console's live feed (实时推送) and the calls the telephony gateway reports.
 *
 * `live_events` keeps every pushed event for a few days under a database-assigned sequence number,
 * so a console that reconnects asks for everything after the last number it saw. The audience is
 * stored twice: as JSON (the whole rule) and as `|a|b|` lists that a LIKE can prefilter on.
 *
 * `calls` holds one row per call offered to the hotline (来电), with the merged line it was dialled
 * to and its final transcript; `call_transcript_segments` holds the final segments, one per
 * (call, seq), which is what makes a retried post harmless.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  // AUTOINCREMENT on SQLite: a pruned table never hands out a number a console already saw.
  // InnoDB keeps its counter across restarts since MariaDB 10.2.4 / MySQL 8.
  const seqType = dialect === 'mysql' ? sql`bigint` : sql`integer`;
  await db.schema
    .createTable('live_events')
    .addColumn('seq', seqType, (c) => c.primaryKey().autoIncrement())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('type', t.key(64), (c) => c.notNull())
    .addColumn('at', t.timestamp, (c) => c.notNull())
    .addColumn('for_center', t.integer, (c) => c.notNull())
    .addColumn('unit_ids', t.text)
    .addColumn('territory_paths', t.text)
    .addColumn('user_ids', t.text)
    .addColumn('audience', t.text, (c) => c.notNull())
    .addColumn('data', t.longText, (c) => c.notNull())
    .addColumn('unit_data', t.longText)
    .execute();
  await db.schema.createIndex('live_events_city_seq').on('live_events').columns(['city_id', 'seq']).execute();
  await db.schema.createIndex('live_events_at').on('live_events').column('at').execute();

  await db.schema
    .createTable('calls')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    // The gateway's own id of the call (what tickets.call_id refers to).
    .addColumn('call_id', t.key(64), (c) => c.notNull())
    .addColumn('caller_phone', t.key(32))
    .addColumn('dialled_number', t.key(32), (c) => c.notNull())
    .addColumn('line_number', t.key(32))
    .addColumn('line_name', t.key(100))
    .addColumn('agent_user_id', t.key(64))
    .addColumn('offered_at', t.timestamp, (c) => c.notNull())
    .addColumn('answered_at', t.timestamp)
    .addColumn('ended_at', t.timestamp)
    .addColumn('transcript', t.longText)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('calls_city_call', ['city_id', 'call_id'])
    .execute();
  await db.schema.createIndex('calls_agent_offered').on('calls').columns(['agent_user_id', 'offered_at']).execute();
  await db.schema.createIndex('calls_caller_offered').on('calls').columns(['city_id', 'caller_phone', 'offered_at']).execute();

  await db.schema
    .createTable('call_transcript_segments')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('call_ref', t.id, (c) => c.notNull()) // calls.id
    .addColumn('seq', t.integer, (c) => c.notNull())
    .addColumn('speaker', t.key(8), (c) => c.notNull()) // caller | agent
    .addColumn('text', t.text, (c) => c.notNull())
    .addColumn('at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('call_transcript_segments_call_seq', ['call_ref', 'seq'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('call_transcript_segments').ifExists().execute();
  await db.schema.dropTable('calls').ifExists().execute();
  await db.schema.dropTable('live_events').ifExists().execute();
}
