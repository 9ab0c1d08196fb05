/**
 * The real server over a fresh demo-city database, with the fixture document standing in for the
 * figures service (the only stand-in: storage, chromium, jobs, calendar and the live feed are real).
 */
import { createContext } from '../../app/context';
import { buildServer } from '../../app/server';
import { testConfig, type AppConfig } from '../../app/config';
import { importCityFromDir } from '../../app/city-preset';
import { systemActor, type Clock } from '../../core';
import type { ReportFilters, ReportKind, ReportPeriod, ReportSource } from '../../reports';
import { dropMysqlDatabase } from '../../db';
import { freshDatabase, testDialect } from '../helpers/db';
import { DEMO_PASSWORD, type TestApp } from '../helpers/app';
import { fixtureDocument } from './fixture-document';

export interface SourceCall {
  kind: ReportKind;
  period: ReportPeriod;
  cityId: string;
  filters: ReportFilters;
}

/** The fixture source: records each call; `fail` makes the next builds throw. */
export function fixtureSource() {
  const calls: SourceCall[] = [];
  const state = { fail: false };
  const source: ReportSource = {
    async build(kind, period, cityId, filters) {
      calls.push({ kind, period, cityId, filters });
      if (state.fail) throw new Error('figures unavailable');
      return fixtureDocument({ kind, period, cityId, unitName: filters.unitId ? `单位 ${filters.unitId}` : undefined });
    },
  };
  return { source, calls, state };
}

export async function startReportApp(opts: { clock: Clock; config?: Partial<AppConfig>; source: ReportSource }): Promise<TestApp> {
  const database = await freshDatabase();
  const ctx = await createContext(testConfig(opts.config), { database, clock: opts.clock, reportSource: opts.source });
  await importCityFromDir(ctx, 'cities/demo', { actor: systemActor('demo', 'test') });
  const app = await buildServer(ctx);
  await app.ready();
  const cookies = new Map<string, string>();
  return {
    app,
    ctx,
    database,
    async login(username: string) {
      const cached = cookies.get(username);
      if (cached) return cached;
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password: DEMO_PASSWORD } });
      if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`);
      const cookie = res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
      cookies.set(username, cookie);
      return cookie;
    },
    async close() {
      await app.close();
      // The context closes the jobs (a running export finishes first), the live feed and the database.
      await ctx.close();
      if (testDialect === 'mysql') await dropMysqlDatabase(database.url);
    },
  };
}
