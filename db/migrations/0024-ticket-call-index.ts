import type { Kysely } from 'kysely';

/**
 * Tickets by the call they were registered from (`call_id`): the transcript search links each hit to
 * its ticket, also for calls an external gateway posted (no call record of the built-in edge).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('tickets_city_call').on('tickets').columns(['city_id', 'call_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('tickets_city_call').on('tickets').execute();
}
