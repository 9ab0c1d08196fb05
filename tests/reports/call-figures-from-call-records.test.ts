/**
 * The reports' contact-center figures come from the telephony part's call records (话单): 15秒接通率,
 * 呼损率 and the average speed of answer of a month, computed from hand-made records whose answers are
 * written out below; a month without records says 无话务记录 instead of a number.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../core';
import { startScenario, type Scenario } from '../workorders/helpers';

let s: Scenario;
beforeAll(async () => {
  s = await startScenario();
  // Four calls in October 2025 (times UTC): answered after 5 s, answered after 20 s, abandoned in the queue, a callback.
  const record = (offered: string, answeredAfterSeconds: number | null, outcome: string) => {
    const at = new Date(offered);
    const iso = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');
    return {
      id: newId(), city_id: 'demo', edge_call_id: newId(), edge: 'builtin', node_id: 'test', caller_number: '13900000000', dialled_number: '12345',
      line_number: null, line_name: null, queue: 'general', priority: 0, agent_user_id: null, ticket_id: null,
      offered_at: iso(at), queued_at: iso(at), agent_offered_at: null,
      answered_at: answeredAfterSeconds === null ? null : iso(new Date(at.getTime() + answeredAfterSeconds * 1000)),
      ended_at: iso(new Date(at.getTime() + 120_000)), outcome, abandon_point: outcome === 'abandoned' ? 'queue' : null, reoffers: 0, overflowed_to: null,
      end_cause: 'caller_hangup', created_at: iso(at), updated_at: iso(at),
    };
  };
  await s.t.ctx.database.db.insertInto('telephony_call_records').values([
    record('2025-10-09T02:00:00Z', 5, 'answered'),
    record('2025-10-09T02:10:00Z', 20, 'answered'),
    record('2025-10-10T03:00:00Z', null, 'abandoned'),
    record('2025-10-11T03:00:00Z', null, 'callback'),
  ]).execute();
}, 120_000);
afterAll(async () => s?.t.close());

describe('contact-center figures in the reports', () => {
  it('October: 1 of 4 answered within 15 s, 1 of 4 abandoned, answered after 12.5 s on average', async () => {
    const r = await s.ok('supervisor1', 'GET', '/reports/figures?period=month&from=2025-10-01');
    expect(r.calls).toEqual({ available: true, noteZh: null, offered: 4, answeredWithin15sRate: 0.25, abandonRate: 0.25, averageSpeedOfAnswer: 12.5 });
  });

  it('September, with no call records, says 无话务记录 and gives no number', async () => {
    const r = await s.ok('supervisor1', 'GET', '/reports/figures?period=month&from=2025-09-01');
    expect(r.calls).toMatchObject({ available: false, noteZh: '无话务记录', answeredWithin15sRate: null });
  });
});
