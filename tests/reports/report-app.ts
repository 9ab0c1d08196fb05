/**
 * The real server over a fresh demo-city database, with the fixture document standing in for the
 * figures service (the only stand-in: storage, chromium, jobs, calendar and the live feed are real).
 */
import type { AppConfig } from '../../app/config';
import type { Clock } from '../../core';
import type { ReportFilters, ReportKind, ReportPeriod, ReportSource } from '../../reports';
import { dropMysqlDatabase } from '../../db';
import { testDialect } from '../helpers/db';
import { startTestApp, type TestApp } from '../helpers/app';
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
  const t = await startTestApp({ clock: opts.clock, config: opts.config, reportSource: opts.source });
  return {
    ...t,
    async close() {
      await t.app.close();
      // The context closes the jobs (a running export finishes first), the live feed and the database.
      await t.ctx.close();
      if (testDialect === 'mysql') await dropMysqlDatabase(t.database.url);
    },
  };
}
