/**
 * The cities' scoring schemes on hand-made cases (pure): 寿光's capped deductions, 诸城's bottom-3
 * rule over two months, the weighted composite, ranks with ties; and docs/kpis.md is the table the
 * definitions produce.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ReportSettings, compositeScore, shouguangScore, rank, bottomUnits, kpiDocTable, KPIS, contributionsOf, type TicketFacts } from '../../reports';

const defaults = ReportSettings.parse({});

describe('寿光: deductions for 响应慢, 不响应 and outcomes, capped at 300', () => {
  it('counts each item at its points', () => {
    // 4 slow × 2 + 3 none × 5 + 10 good × 0 + 6 fair × 1 + 5 poor × 3 = 8 + 15 + 0 + 6 + 15 = 44
    expect(shouguangScore({ slowResponse: 4, noResponse: 3, outcomeGood: 10, outcomeFair: 6, outcomePoor: 5 }, defaults.ranking.shouguang))
      .toEqual({ deduction: 44, capped: false, score: 256 });
  });
  it('never deducts more than the cap', () => {
    // 100 none × 5 = 500 → 300
    expect(shouguangScore({ slowResponse: 0, noResponse: 100, outcomeGood: 0, outcomeFair: 0, outcomePoor: 0 }, defaults.ranking.shouguang))
      .toEqual({ deduction: 300, capped: true, score: 0 });
  });
  it('takes the city\'s own points', () => {
    const own = ReportSettings.parse({ ranking: { scheme: 'shouguang', shouguang: { slowResponse: 1, noResponse: 10, outcomeGood: 0, outcomeFair: 2, outcomePoor: 4, cap: 100 } } });
    expect(shouguangScore({ slowResponse: 3, noResponse: 2, outcomeGood: 1, outcomeFair: 1, outcomePoor: 1 }, own.ranking.shouguang)).toEqual({ deduction: 29, capped: false, score: 71 });
  });
});

describe('诸城: two months in the bottom three flags the unit', () => {
  it('the bottom 3 of each month, then those in both', () => {
    const month = (scores: Record<string, number>) => rank(Object.entries(scores).map(([unitId, score]) => ({ unitId, score })));
    const oct = month({ a: 95, b: 90, c: 80, d: 70, e: 60 });
    const sep = month({ a: 50, b: 90, c: 85, d: 88, e: 40 });
    expect([...bottomUnits(oct, 3)].sort()).toEqual(['c', 'd', 'e']);
    expect([...bottomUnits(sep, 3)].sort()).toEqual(['a', 'c', 'e']);
    const flagged = [...bottomUnits(oct, 3)].filter((u) => bottomUnits(sep, 3).has(u)).sort();
    expect(flagged).toEqual(['c', 'e']);
  });
  it('ties at the edge of the bottom 3 are all in it', () => {
    const r = rank([{ unitId: 'a', score: 90 }, { unitId: 'b', score: 80 }, { unitId: 'c', score: 70 }, { unitId: 'd', score: 70 }, { unitId: 'e', score: 95 }, { unitId: 'f', score: 99 }]);
    expect(r.map((x) => [x.unitId, x.rank])).toEqual([['f', 1], ['e', 2], ['a', 3], ['b', 4], ['c', 5], ['d', 5]]);
    expect([...bottomUnits(r, 3)].sort()).toEqual(['b', 'c', 'd']);
  });
});

describe('weighted composite', () => {
  it('Σ weight × value × 100, renormalised over the KPIs a unit has', () => {
    expect(compositeScore({ ackOnTimeRate: 0.8, onTimeCompletionRate: 0.9, firstTimeFixRate: 1, satisfactionRate: 0.7 }, defaults.ranking.weights)).toBe(85);
    expect(compositeScore({ ackOnTimeRate: 0.8, onTimeCompletionRate: null }, { ackOnTimeRate: 0.3, onTimeCompletionRate: 0.7 })).toBe(80);
    expect(compositeScore({}, defaults.ranking.weights)).toBeNull();
  });
  it('the satisfaction weights are a city setting', () => {
    const m = { total: { sat_satisfied: 6, sat_basic: 3, sat_unsatisfied: 1 }, beforeToday: {} };
    const sat = KPIS.find((k) => k.key === 'satisfactionRate')!;
    expect(sat.compute(m, defaults.satisfactionWeights)).toEqual({ value: 0.9, numerator: 9, denominator: 10 });
    expect(sat.compute(m, { satisfied: 1, basicallySatisfied: 0.8, unsatisfied: 0 })).toMatchObject({ numerator: 8.4, denominator: 10 });
  });
  it('refuses a weight on a KPI that is not a rate', () => {
    expect(ReportSettings.safeParse({ ranking: { weights: { accepted: 1 } } }).success).toBe(false);
  });
});

describe('measures of one ticket', () => {
  it('a return within the window is a timely response; the deadline days carry the clocks', () => {
    const at = (s: string) => new Date(s);
    const t: TicketFacts = {
      id: 't', cityId: 'c', status: 'dispatched', channel: 'phone', type: 'complaint', categoryId: null, categoryPath: null, territoryId: null, territoryPath: null, handlingUnitId: 'u2',
      createdAt: at('2025-10-08T16:30:00Z'), closedAt: null, answeredOnSpot: false, round: 1, satisfaction: null, mergedIntoId: null, ratings: [],
      workOrders: [
        { unitId: 'u1', role: 'lead', status: 'reassigned', dispatchedAt: at('2025-10-08T17:00:00Z'), acknowledgeDue: at('2025-10-09T02:00:00Z'), acknowledgedAt: null, returnedAt: at('2025-10-09T01:00:00Z'), replyDue: at('2025-10-12T02:00:00Z'), repliedAt: null },
        { unitId: 'u2', role: 'lead', status: 'dispatched', dispatchedAt: at('2025-10-09T03:00:00Z'), acknowledgeDue: at('2025-10-09T05:00:00Z'), acknowledgedAt: null, returnedAt: null, replyDue: at('2025-10-14T02:00:00Z'), repliedAt: null },
      ],
    };
    const got = contributionsOf(t).map((c) => `${c.measure} ${c.day} ${c.unitId}`).sort();
    expect(got).toEqual([
      // Accepted at 00:30 on 9 Oct in China (16:30 UTC the day before).
      'accepted 2025-10-09 u2', 'valid 2025-10-09 u2',
      'ack_due 2025-10-09 u1', 'ack_due 2025-10-09 u2', 'ack_in_time 2025-10-09 u1', 'ack_pending 2025-10-09 u2',
      'reply_due 2025-10-14 u2', 'reply_pending 2025-10-14 u2',
      'wo_dispatched 2025-10-09 u1', 'wo_dispatched 2025-10-09 u2', 'wo_returned 2025-10-09 u1',
    ].sort());
  });
});

describe('docs/kpis.md', () => {
  it('holds the table the definitions produce (regenerate the table: hotline reports kpis)', () => {
    expect(readFileSync('docs/kpis.md', 'utf8')).toContain(kpiDocTable());
  });
});
