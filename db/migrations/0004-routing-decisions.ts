import type { Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect';

/**
 * What a ticket was routed by (the rule, the responsibility-list version, the unit the plan chose,
 * so overrides are visible), and the classifier's persisted models and the confirmations it learns from.
 */
export async function up(db: Kysely<any>, dialect: DialectName): Promise<void> {
  const t = columnTypes(dialect);
  await db.schema.alterTable('tickets').addColumn('routing_rule', t.key(24)).execute();
  await db.schema.alterTable('tickets').addColumn('responsibility_version_id', t.key(64)).execute();
  await db.schema.alterTable('tickets').addColumn('planned_unit_id', t.key(64)).execute();

  await db.schema
    .createTable('classifier_models')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('version', t.integer, (c) => c.notNull())
    .addColumn('trained_at', t.timestamp, (c) => c.notNull())
    .addColumn('examples', t.integer, (c) => c.notNull())
    .addColumn('source', t.key(200), (c) => c.notNull())
    .addColumn('model', dialect === 'mysql' ? t.longText : t.text, (c) => c.notNull())
    .addUniqueConstraint('classifier_models_city_version', ['city_id', 'version'])
    .execute();

  await db.schema
    .createTable('classifier_feedback')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('city_id', t.key(32), (c) => c.notNull())
    .addColumn('ticket_id', t.id, (c) => c.notNull())
    .addColumn('category_code', t.key(32), (c) => c.notNull())
    .addColumn('suggested_code', t.key(32))
    .addColumn('text', t.text, (c) => c.notNull())
    .addColumn('actor_id', t.key(64))
    .addColumn('at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('classifier_feedback_ticket_code', ['ticket_id', 'category_code'])
    .execute();
  await db.schema.createIndex('classifier_feedback_city_at').on('classifier_feedback').columns(['city_id', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('classifier_feedback').ifExists().execute();
  await db.schema.dropTable('classifier_models').ifExists().execute();
  await db.schema.alterTable('tickets').dropColumn('planned_unit_id').execute();
  await db.schema.alterTable('tickets').dropColumn('responsibility_version_id').execute();
  await db.schema.alterTable('tickets').dropColumn('routing_rule').execute();
}
