/**
 * Migration 0028 (hotspot incidents) on a database that already holds warnings: each earlier warning
 * becomes an incident of its own with the warning's id (a converted one keeps its proactive ticket
 * and so the idempotency key `hotspot:<id>`), level, status and handling, its category's path as the
 * headline's; and the migration goes down and up again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import * as m0028 from '../../db/migrations/0028-hotspot-incidents';

let database: TestDatabase;
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(async () => database?.dispose());

const warning = (id: string, categoryId: string, extra: Record<string, unknown>) => ({
  id, city_id: 'c1', category_id: categoryId, territory_id: 't-m', day: '2025-10-09', category_level: 3, territory_level: 'community', territory_path: '/t-d/t-s/t-m/',
  category_name: '环境卫生', territory_name: '滨江社区', level: 2, basis: 'day', tickets: 10, callers: 6, baseline_mean: 1.5, baseline_spread: 0.5,
  status: 'open', version: 3, raised_at: '2025-10-09 01:00:00.000', level_raised_at: '2025-10-09 01:30:00.000',
  handled_by: null, handled_at: null, note: null, proactive_ticket_id: null, ...extra,
});

describe('migration 0028: earlier warnings become incidents', () => {
  it('one incident per warning, with its id, level, handling and category path', async () => {
    const db = database.db as any;
    await m0028.down(db, database.dialect);
    await db.insertInto('categories').values({ id: 'cat-3', city_id: 'c1', code: '010214', name: '环境卫生', level: 3, parent_id: null, path: '/cat-1/cat-2/cat-3/', keywords: null, default_type: null, default_urgency: null, policy_code: null, utility: 0, active: 1 }).execute();
    await db.insertInto('hotspot_warnings').values([
      warning('w-open', 'cat-3', {}),
      warning('w-converted', 'cat-gone', { status: 'converted', handled_by: 'u1', handled_at: '2025-10-09 02:00:00.000', proactive_ticket_id: 'ticket-1', category_id: 'cat-gone', territory_id: 't-s', territory_level: 'street', territory_path: '/t-d/t-s/' }),
    ]).execute();
    await m0028.up(db, database.dialect);

    const incidents = await database.db.selectFrom('hotspot_incidents').selectAll().orderBy('id').execute();
    expect(incidents).toEqual([
      expect.objectContaining({ id: 'w-converted', headline_warning_id: 'w-converted', category_id: 'cat-gone', category_path: '/cat-gone/', territory_path: '/t-d/t-s/', status: 'converted', handled_by: 'u1', proactive_ticket_id: 'ticket-1' }),
      expect.objectContaining({ id: 'w-open', headline_warning_id: 'w-open', category_path: '/cat-1/cat-2/cat-3/', territory_id: 't-m', level: 2, status: 'open', version: 3, day: '2025-10-09' }),
    ]);
    const warnings = await database.db.selectFrom('hotspot_warnings').select(['id', 'incident_id']).orderBy('id').execute();
    expect(warnings).toEqual([{ id: 'w-converted', incident_id: 'w-converted' }, { id: 'w-open', incident_id: 'w-open' }]);
  });
});
