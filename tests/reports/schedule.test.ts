/**
 * Scheduled generation with a controlled clock on the real app: the 08:00 run (China time) fires
 * once per period, never at 07:59, nothing on a holiday or a weekend, and the first working day after
 * the National Day holiday owes the daily report since the last working day, the week and the month.
 * A second run of the schedule (another node, the catch-up sweep) queues nothing more; each report
 * reaches the supervisors' consoles with its download link.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../core';
import type { InProcessJobQueue } from '../../jobs';
import type { TestApp } from '../helpers/app';
import { fixtureSource, startReportApp } from './report-app';

const china = (s: string) => new Date(`${s}+08:00`);
const clock = new FixedClock(china('2025-09-30T18:00:00'));
const fixture = fixtureSource();
let t: TestApp;

beforeAll(async () => {
  t = await startReportApp({ clock, source: fixture.source, config: { reports: { schedule: true, scheduleTime: { hour: 8, minute: 0 }, scheduledFormats: ['html'], chromiumPath: null } } });
});
afterAll(() => t?.close());

const queue = () => t.ctx.jobs as unknown as InProcessJobQueue<Record<string, unknown>>;

/** Moves the clock minute by minute's worth of jumps to `at`, running what falls due on the way. */
async function moveTo(at: string) {
  await queue().runDue();
  clock.set(china(at));
  await queue().runDue();
  await queue().runDue();
}

async function reports() {
  const rows = await t.ctx.database.db.selectFrom('generated_reports').select(['kind', 'period_from', 'period_to', 'period_label', 'status', 'origin', 'created_at']).orderBy('created_at').orderBy('kind').execute();
  return rows.map((r) => `${r.kind} ${r.period_from}..${r.period_to} ${r.status}`);
}

describe('the 08:00 schedule', () => {
  it('generates nothing during the National Day holiday, at 08:00 or any other time', async () => {
    for (const day of ['2025-10-01', '2025-10-02', '2025-10-05', '2025-10-08']) {
      await moveTo(`${day}T07:59:00`);
      await moveTo(`${day}T08:00:00`);
      await moveTo(`${day}T12:00:00`);
    }
    expect(await reports()).toEqual([]);
  });

  it('on 9 October: nothing at 07:59, then at 08:00 the daily report since 30 September, the week and September', async () => {
    await moveTo('2025-10-09T07:59:00');
    expect(await reports()).toEqual([]);
    await moveTo('2025-10-09T08:00:00');
    expect(await reports()).toEqual([
      'daily 2025-09-30..2025-10-09 done',
      'monthly 2025-09-01..2025-10-01 done',
      'weekly 2025-09-29..2025-10-06 done',
    ]);
    // The three jobs run side by side: in any order.
    expect(fixture.calls.map((c) => `${c.kind} ${c.period.label}`).sort()).toEqual(['daily 2025年9月30日至2025年10月8日', 'monthly 2025年9月', 'weekly 2025年第40周']);
  });

  it('fires once per period: a second schedule run (another node) and the catch-up sweep later in the day add nothing', async () => {
    expect(await t.ctx.reportExports.runSchedule()).toEqual([]);
    await moveTo('2025-10-09T15:00:00');
    expect(await reports()).toHaveLength(3);
    expect(fixture.calls).toHaveLength(3);
  });

  it('each report reaches supervisors as a live event with its download link', async () => {
    const events = await t.ctx.database.db.selectFrom('live_events').select(['data', 'audience']).where('type', '=', 'report.generated').execute();
    expect(events).toHaveLength(3);
    for (const e of events) {
      const data = JSON.parse(String(e.data)) as { export: { id: string; downloadUrl: string; origin: string } };
      expect(data.export.origin).toBe('schedule');
      expect(data.export.downloadUrl).toBe(`/api/v1/reports/exports/${data.export.id}/file`);
      expect(JSON.parse(String(e.audience))).toMatchObject({ center: true, roles: expect.arrayContaining(['supervisor']) });
    }
  });

  it('the next days: one daily report each working day (the make-up Saturday too), none on Sunday, Monday covers the weekend and owes the week', async () => {
    for (const day of ['2025-10-10', '2025-10-11', '2025-10-12', '2025-10-13']) {
      await moveTo(`${day}T07:59:00`);
      await moveTo(`${day}T08:00:00`);
    }
    expect((await reports()).slice(3)).toEqual([
      'daily 2025-10-09..2025-10-10 done',
      'daily 2025-10-10..2025-10-11 done',
      'daily 2025-10-11..2025-10-13 done',
      'weekly 2025-10-06..2025-10-13 done',
    ]);
  });
});
