import { sql, type Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * Live transcripts (语音转写, speech part): a final segment now says which party spoke and when.
 *
 * `call_transcript_segments` is rebuilt (SQLite cannot drop a table constraint) with:
 * - the unique key (call_ref, speaker, seq): each party's stream numbers its own segments, so the
 *   caller's seq 3 and the agent's seq 3 are two segments; a repeat of one is stored once;
 * - `start_ms`/`end_ms`: milliseconds from the start of that party's stream (null for segments
 *   stored before this migration, which carried no timing);
 * - `confidence`: 0..1, null when the engine does not say;
 * - `tokens`: the jieba words of the text, space-separated with a space at each end, so that
 *   `LIKE '% word %'` finds a word on both dialects (transcript search, 通话内容检索).
 * Rows are copied over; old rows get empty tokens (search finds what is transcribed from now on).
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('call_transcript_segments_v2')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('call_ref', t.id, (c) => c.notNull()) // calls.id
    .addColumn('seq', t.integer, (c) => c.notNull())
    .addColumn('speaker', t.key(8), (c) => c.notNull()) // caller | agent
    .addColumn('text', t.text, (c) => c.notNull())
    .addColumn('at', t.timestamp, (c) => c.notNull())
    .addColumn('start_ms', t.integer)
    .addColumn('end_ms', t.integer)
    .addColumn('confidence', t.double)
    .addColumn('tokens', t.text, (c) => c.notNull())
    .addUniqueConstraint('call_transcript_segments_party_seq', ['call_ref', 'speaker', 'seq'])
    .execute();
  await sql`insert into call_transcript_segments_v2 (id, call_ref, seq, speaker, text, at, start_ms, end_ms, confidence, tokens)
    select id, call_ref, seq, speaker, text, at, null, null, null, '' from call_transcript_segments`.execute(db);
  await db.schema.dropTable('call_transcript_segments').execute();
  await db.schema.alterTable('call_transcript_segments_v2').renameTo('call_transcript_segments').execute();
}

export async function down(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema
    .createTable('call_transcript_segments_v1')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('call_ref', t.id, (c) => c.notNull())
    .addColumn('seq', t.integer, (c) => c.notNull())
    .addColumn('speaker', t.key(8), (c) => c.notNull())
    .addColumn('text', t.text, (c) => c.notNull())
    .addColumn('at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('call_transcript_segments_call_seq', ['call_ref', 'seq'])
    .execute();
  // Two parties' segments with one seq cannot both go back under the old key: the caller's are kept.
  const ignore = dialect === 'mysql' ? sql`insert ignore` : sql`insert or ignore`;
  await sql`${ignore} into call_transcript_segments_v1 (id, call_ref, seq, speaker, text, at)
    select id, call_ref, seq, speaker, text, at from call_transcript_segments order by speaker desc`.execute(db);
  await db.schema.dropTable('call_transcript_segments').execute();
  await db.schema.alterTable('call_transcript_segments_v1').renameTo('call_transcript_segments').execute();
}
