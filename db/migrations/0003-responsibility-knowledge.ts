import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * The responsibility list (责任清单), versioned, and the knowledge base (知识库) behind answers on the
 * spot (即办): articles with their revisions and the tickets each one was used for.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);

  // One version of a city's responsibility list: imported as a draft, proposed, approved with the
  // date it takes effect (or rejected). Which approved version is active is computed from the dates.
  await db.schema
    .createTable('responsibility_versions')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('number', t.integer, (c) => c.notNull())
    .addColumn('status', t.key(16), (c) => c.notNull())
    .addColumn('note', t.text)
    .addColumn('source_hash', t.key(64), (c) => c.notNull())
    .addColumn('item_count', t.integer, (c) => c.notNull())
    .addColumn('effective_from', t.timestamp)
    .addColumn('created_by', t.key(64))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('proposed_by', t.key(64))
    .addColumn('proposed_at', t.timestamp)
    .addColumn('decided_by', t.key(64))
    .addColumn('decided_at', t.timestamp)
    .addColumn('reject_reason', t.text)
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('responsibility_versions_city_number', ['city_id', 'number'])
    .execute();
  await db.schema.createIndex('responsibility_versions_effective').on('responsibility_versions').columns(['city_id', 'status', 'effective_from']).execute();

  await db.schema
    .createTable('responsibility_items')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('version_id', t.id, (c) => c.notNull())
    .addColumn('seq', t.integer, (c) => c.notNull())
    .addColumn('item_code', t.key(64), (c) => c.notNull())
    .addColumn('category_code', t.key(32), (c) => c.notNull())
    .addColumn('situation_keywords', t.text, (c) => c.notNull())
    .addColumn('territory_level', t.key(16), (c) => c.notNull())
    .addColumn('lead_unit_id', t.key(64))
    .addColumn('lead_unit_code', t.key(64))
    .addColumn('co_units', t.text, (c) => c.notNull())
    .addColumn('handling_procedure', t.text, (c) => c.notNull())
    .addColumn('standard', t.text, (c) => c.notNull())
    .addColumn('contact_phone', t.key(32))
    .addColumn('legal_basis', t.text, (c) => c.notNull())
    .addUniqueConstraint('responsibility_items_version_code', ['version_id', 'item_code'])
    .execute();
  await db.schema.createIndex('responsibility_items_version_seq').on('responsibility_items').columns(['version_id', 'seq']).execute();

  // A knowledge article: the stable identity (usages point here) with its published revision and the
  // revision being written or reviewed, if any.
  await db.schema
    .createTable('knowledge_articles')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('code', t.key(64))
    .addColumn('owner_unit_id', t.key(64))
    .addColumn('status', t.key(16), (c) => c.notNull())
    .addColumn('pending_status', t.key(16))
    .addColumn('published_revision_id', t.id)
    .addColumn('pending_revision_id', t.id)
    .addColumn('version', t.integer, (c) => c.notNull())
    .addColumn('created_by', t.key(64))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addColumn('archived_by', t.key(64))
    .addColumn('archived_at', t.timestamp)
    .addColumn('archive_reason', t.text)
    .addUniqueConstraint('knowledge_articles_city_code', ['city_id', 'code'])
    .execute();
  await db.schema.createIndex('knowledge_articles_city_status').on('knowledge_articles').columns(['city_id', 'status', 'updated_at']).execute();
  await db.schema.createIndex('knowledge_articles_city_pending').on('knowledge_articles').columns(['city_id', 'pending_status', 'updated_at']).execute();

  await db.schema
    .createTable('knowledge_revisions')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('article_id', t.id, (c) => c.notNull())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('number', t.integer, (c) => c.notNull())
    .addColumn('status', t.key(16), (c) => c.notNull())
    .addColumn('question', t.text, (c) => c.notNull())
    .addColumn('answer', t.longText, (c) => c.notNull())
    .addColumn('category_code', t.key(32))
    .addColumn('keywords', t.text, (c) => c.notNull())
    .addColumn('valid_from', t.timestamp)
    .addColumn('valid_to', t.timestamp)
    .addColumn('source_document', t.text)
    .addColumn('author_id', t.key(64))
    .addColumn('author_name', t.key(64))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_by', t.key(64))
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addColumn('submitted_by', t.key(64))
    .addColumn('submitted_at', t.timestamp)
    .addColumn('reviewed_by', t.key(64))
    .addColumn('reviewed_at', t.timestamp)
    .addColumn('reject_reason', t.text)
    .addColumn('published_at', t.timestamp)
    .addUniqueConstraint('knowledge_revisions_article_number', ['article_id', 'number'])
    .execute();
  await db.schema.createIndex('knowledge_revisions_city_status').on('knowledge_revisions').columns(['city_id', 'status']).execute();

  // Which answer was given on which ticket, and in which revision: an answer found outdated can be
  // traced to the citizens who were told it.
  await db.schema
    .createTable('knowledge_usages')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('article_id', t.id, (c) => c.notNull())
    .addColumn('revision_id', t.id, (c) => c.notNull())
    .addColumn('ticket_id', t.key(64), (c) => c.notNull())
    .addColumn('used_by', t.key(64))
    .addColumn('used_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('knowledge_usages_article_ticket', ['article_id', 'ticket_id'])
    .execute();
  await db.schema.createIndex('knowledge_usages_ticket').on('knowledge_usages').column('ticket_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['knowledge_usages', 'knowledge_revisions', 'knowledge_articles', 'responsibility_items', 'responsibility_versions']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
