/**
 * Unit rankings (单位排名) and the cities' scoring schemes (考核办法), as pure functions over
 * figures already computed. The scheme is a city setting (`settings.reports` on the city row):
 * - `weighted`: a composite score, Σ weight × KPI value × 100 (weights renormalised over the KPIs a
 *   unit has a value for);
 * - `shouguang` (寿光 鄉呼縣應): deductions for 响应慢, 不响应 and the outcome ratings 较好/一般/差,
 *   capped (300 by default, about 1/3 of the department's score); score = cap − deductions;
 * - `zhucheng` (诸城 网格呼叫、部门报到): the four KPIs equally weighted, ranked monthly; a unit in the
 *   bottom 3 two months running is flagged (连续2个月排名后3位，约谈主要负责人).
 */
import { z } from 'zod';
import { DEFAULT_SATISFACTION_WEIGHTS, KPI_BY_KEY } from './kpis';

export const RankingScheme = { weighted: 'weighted', shouguang: 'shouguang', zhucheng: 'zhucheng' } as const;
export type RankingScheme = (typeof RankingScheme)[keyof typeof RankingScheme];
export const RANKING_SCHEME_ZH: Record<RankingScheme, string> = { weighted: '加权综合评分', shouguang: '寿光扣分制', zhucheng: '诸城月度排名（连续两月后三位预警）' };

const weight = z.number().min(0).max(100);
const rateKpi = z.string().refine((k) => KPI_BY_KEY.get(k)?.unit === 'rate', 'a rate KPI key (see docs/kpis.md)');

/** `settings.reports` of a city; every field has a default. */
export const ReportSettings = z.object({
  satisfactionWeights: z.strictObject({ satisfied: weight, basicallySatisfied: weight, unsatisfied: weight }).default(DEFAULT_SATISFACTION_WEIGHTS),
  ranking: z.strictObject({
    scheme: z.enum(RankingScheme).default('weighted'),
    weights: z.record(rateKpi, weight).default({ ackOnTimeRate: 0.25, onTimeCompletionRate: 0.25, firstTimeFixRate: 0.25, satisfactionRate: 0.25 }),
    shouguang: z.strictObject({
      slowResponse: weight.default(2), noResponse: weight.default(5),
      outcomeGood: weight.default(0), outcomeFair: weight.default(1), outcomePoor: weight.default(3),
      cap: z.number().positive().max(10_000).default(300),
    }).default({ slowResponse: 2, noResponse: 5, outcomeGood: 0, outcomeFair: 1, outcomePoor: 3, cap: 300 }),
    zhucheng: z.strictObject({ bottom: z.number().int().min(1).max(20).default(3), months: z.number().int().min(2).max(12).default(2) }).default({ bottom: 3, months: 2 }),
  }).default({ scheme: 'weighted', weights: { ackOnTimeRate: 0.25, onTimeCompletionRate: 0.25, firstTimeFixRate: 0.25, satisfactionRate: 0.25 }, shouguang: { slowResponse: 2, noResponse: 5, outcomeGood: 0, outcomeFair: 1, outcomePoor: 3, cap: 300 }, zhucheng: { bottom: 3, months: 2 } }),
});
export type ReportSettings = z.infer<typeof ReportSettings>;

export const ZHUCHENG_WEIGHTS = { ackOnTimeRate: 0.25, onTimeCompletionRate: 0.25, firstTimeFixRate: 0.25, satisfactionRate: 0.25 };

/** Σ weight × value × 100 over the KPIs with a value, weights renormalised; null when none has one. */
export function compositeScore(values: Record<string, number | null | undefined>, weights: Record<string, number>): number | null {
  let total = 0, used = 0;
  for (const [k, w] of Object.entries(weights)) {
    const v = values[k];
    if (v == null || w <= 0) continue;
    total += w * v * 100;
    used += w;
  }
  return used > 0 ? round2(total / used) : null;
}

/** What 寿光's scheme counts for one unit over the period. */
export interface ShouguangCounts {
  slowResponse: number; // 响应慢: acknowledged after the deadline
  noResponse: number; // 不响应: not acknowledged, deadline passed
  outcomeGood: number; // 较好 (满意)
  outcomeFair: number; // 一般 (基本满意)
  outcomePoor: number; // 差 (不满意)
}

export function shouguangScore(c: ShouguangCounts, p: ReportSettings['ranking']['shouguang']): { deduction: number; capped: boolean; score: number } {
  const raw = c.slowResponse * p.slowResponse + c.noResponse * p.noResponse + c.outcomeGood * p.outcomeGood + c.outcomeFair * p.outcomeFair + c.outcomePoor * p.outcomePoor;
  const deduction = Math.min(raw, p.cap);
  return { deduction: round2(deduction), capped: raw > p.cap, score: round2(p.cap - deduction) };
}

export interface RankedUnit { unitId: string; score: number | null; rank: number | null }

/** Ranks by score, highest first; ties share a rank (1, 2, 2, 4); units without a score are unranked. */
export function rank<T extends { unitId: string; score: number | null }>(rows: T[]): (T & { rank: number | null })[] {
  const scored = rows.filter((r) => r.score != null).sort((a, b) => b.score! - a.score! || a.unitId.localeCompare(b.unitId));
  const ranks = new Map<string, number>();
  scored.forEach((r, i) => ranks.set(r.unitId, i > 0 && scored[i - 1].score === r.score ? ranks.get(scored[i - 1].unitId)! : i + 1));
  return [...scored, ...rows.filter((r) => r.score == null)].map((r) => ({ ...r, rank: ranks.get(r.unitId) ?? null }));
}

/** The units in the bottom `n` ranks of a ranking (ranked units only). */
export function bottomUnits(ranked: { unitId: string; rank: number | null }[], n: number): Set<string> {
  const ranks = ranked.filter((r) => r.rank != null).map((r) => r.rank!);
  if (!ranks.length) return new Set();
  const sorted = [...ranks].sort((a, b) => b - a);
  const threshold = sorted[Math.min(n, sorted.length) - 1];
  return new Set(ranked.filter((r) => r.rank != null && r.rank >= threshold).map((r) => r.unitId));
}

export const round2 = (x: number) => Math.round(x * 100) / 100;
