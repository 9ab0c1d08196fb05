import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, testDialect, type TestDatabase } from '../helpers/db';
import { migrateToLatest, insertIgnore, upsert } from '../../db';

let database: TestDatabase;
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(async () => database?.dispose());

describe(`storage on ${testDialect}`, () => {
  it('migrating again is a no-op', async () => {
    expect(await migrateToLatest(database)).toEqual([]);
  });

  it('stores and reads back timestamps as the same UTC strings', async () => {
    const { db } = database;
    await db.insertInto('calendar_years').values({ year: 1999, source: 't', imported_at: '2025-10-01 08:30:00.123', imported_by: null }).execute();
    const row = await db.selectFrom('calendar_years').selectAll().where('year', '=', 1999).executeTakeFirstOrThrow();
    expect(row.imported_at).toBe('2025-10-01 08:30:00.123');
  });

  it('insertIgnore and upsert behave alike on both dialects', async () => {
    const { db, dialect } = database;
    expect(await insertIgnore(db, dialect, 'sequences', { name: 'x', value: 1 })).toBe(true);
    expect(await insertIgnore(db, dialect, 'sequences', { name: 'x', value: 5 })).toBe(false);
    await upsert(db, dialect, 'sequences', { name: 'x', value: 7 }, ['name'], ['value']);
    await upsert(db, dialect, 'sequences', { name: 'y', value: 2 }, ['name'], ['value']);
    const rows = await db.selectFrom('sequences').selectAll().orderBy('name').execute();
    expect(rows.map((r) => [r.name, Number(r.value)])).toEqual([['x', 7], ['y', 2]]);
  });

  it('keeps Chinese text intact (utf8mb4)', async () => {
    const { db } = database;
    await db.insertInto('sequences').values({ name: '美兰区白龙南路😀', value: 1 }).execute();
    const row = await db.selectFrom('sequences').select('name').where('name', '=', '美兰区白龙南路😀').executeTakeFirst();
    expect(row?.name).toBe('美兰区白龙南路😀');
  });
});
