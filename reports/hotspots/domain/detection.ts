/**
 * Hotspot detection (热点研判): whether a group's count today, or in the last few hours, stands far
 * enough above its usual level, with enough distinct callers, to warn (三级预警). Pure rules: no I/O.
 *
 * The baseline of a day is the same weekday of the previous weeks (a Monday is compared with
 * Mondays: demand has a strong weekly rhythm). Counts of rare events behave like Poisson counts, so
 * the spread used is never below √mean and never below 1: a perfectly flat history (spread 0) or no
 * history at all (mean 0) does not turn one extra call into an alarm; the absolute minimums of each
 * level then decide.
 */
import { z } from 'zod';

/** 预警等级: 1 蓝色/一般, 2 黄色/较重, 3 红色/严重. 0: no warning. */
export const WarningLevel = { none: 0, blue: 1, yellow: 2, red: 3 } as const;
export type WarningLevel = (typeof WarningLevel)[keyof typeof WarningLevel];
export const WARNING_LEVEL_ZH: Readonly<Record<1 | 2 | 3, string>> = { 1: '蓝色预警（一般）', 2: '黄色预警（较重）', 3: '红色预警（严重）' };
export const WARNING_LEVEL_CODE: Readonly<Record<1 | 2 | 3, 'blue' | 'yellow' | 'red'>> = { 1: 'blue', 2: 'yellow', 3: 'red' };

/** What one level asks of a group: all three must hold. */
const LevelRule = z.strictObject({
  /** At least this many tickets (in the day, or in the window). */
  minTickets: z.number().int().min(1).max(100_000),
  /** At least this many distinct callers (受影响群众). */
  minCallers: z.number().int().min(1).max(100_000),
  /** At least this many spreads above the baseline mean. */
  sigmas: z.number().min(0).max(100),
});
export type LevelRule = z.infer<typeof LevelRule>;

/**
 * A city's hotspot settings: the `hotspots` key of the city's settings (city.json); every field has
 * a default (see docs/hotspots.md). Higher levels must ask at least as much as lower ones.
 */
export const HotspotSettings = z.strictObject({
  /** Off: nothing is evaluated or raised for the city (counts are still kept). */
  enabled: z.boolean().default(true),
  /** How many previous same weekdays make the baseline (default 4). */
  baselineWeeks: z.number().int().min(1).max(8).default(4),
  /** The rolling window, in hours, compared with the same hours of the previous same weekdays (default 3). */
  windowHours: z.number().int().min(1).max(24).default(3),
  levels: z.strictObject({
    blue: LevelRule.default({ minTickets: 5, minCallers: 3, sigmas: 2 }),
    yellow: LevelRule.default({ minTickets: 10, minCallers: 6, sigmas: 3 }),
    red: LevelRule.default({ minTickets: 20, minCallers: 12, sigmas: 5 }),
  }).default({ blue: { minTickets: 5, minCallers: 3, sigmas: 2 }, yellow: { minTickets: 10, minCallers: 6, sigmas: 3 }, red: { minTickets: 20, minCallers: 12, sigmas: 5 } }),
}).superRefine((s, ctx) => {
  const [b, y, r] = [s.levels.blue, s.levels.yellow, s.levels.red];
  for (const k of ['minTickets', 'minCallers', 'sigmas'] as const) {
    if (!(b[k] <= y[k] && y[k] <= r[k])) ctx.addIssue({ code: 'custom', path: ['levels'], message: `${k} must not fall from blue to yellow to red` });
  }
});
export type HotspotSettings = z.infer<typeof HotspotSettings>;

export const DEFAULT_HOTSPOT_SETTINGS: HotspotSettings = HotspotSettings.parse({});

/** Mean and spread (population standard deviation) of the baseline counts; missing days count 0. */
export function baselineOf(history: readonly number[]): { mean: number; spread: number } {
  if (history.length === 0) return { mean: 0, spread: 0 };
  const mean = history.reduce((a, b) => a + b, 0) / history.length;
  const variance = history.reduce((a, b) => a + (b - mean) ** 2, 0) / history.length;
  return { mean, spread: Math.sqrt(variance) };
}

/** The spread detection divides by: never below √mean (Poisson) nor 1. */
export const effectiveSpread = (b: { mean: number; spread: number }) => Math.max(b.spread, Math.sqrt(b.mean), 1);

/** The least count a level needs over this baseline: its minimum, or mean + sigmas × spread, whichever is higher. */
export function thresholdOf(rule: LevelRule, b: { mean: number; spread: number }): number {
  return Math.max(rule.minTickets, Math.ceil(b.mean + rule.sigmas * effectiveSpread(b) - 1e-9));
}

export interface Observation {
  tickets: number;
  callers: number;
  /** The same period on the previous same weekdays, newest first. */
  history: readonly number[];
}

/** The highest level the observation reaches (0 when none). */
export function levelOf(o: Observation, s: HotspotSettings): WarningLevel {
  const b = baselineOf(o.history);
  const rules: [WarningLevel, LevelRule][] = [[3, s.levels.red], [2, s.levels.yellow], [1, s.levels.blue]];
  for (const [level, rule] of rules) {
    if (o.tickets >= thresholdOf(rule, b) && o.callers >= rule.minCallers) return level;
  }
  return 0;
}

export interface Assessment {
  level: WarningLevel;
  /** Which comparison gave the level: the whole day, or the rolling window. */
  basis: 'day' | 'window';
  tickets: number;
  callers: number;
  mean: number;
  spread: number;
}

/** The day and the window are judged alike; the higher level wins (the day on a tie: the larger picture). */
export function assess(day: Observation, window: Observation, s: HotspotSettings): Assessment {
  const d = levelOf(day, s);
  const w = levelOf(window, s);
  const pick = w > d ? { o: window, basis: 'window' as const, level: w } : { o: day, basis: 'day' as const, level: d };
  const b = baselineOf(pick.o.history);
  return { level: pick.level, basis: pick.basis, tickets: pick.o.tickets, callers: pick.o.callers, mean: b.mean, spread: b.spread };
}

/** The territory levels and category levels counted (the levels at which leaders act). */
export const COUNTED_TERRITORY_LEVELS = ['street', 'community'] as const;
export type CountedTerritoryLevel = (typeof COUNTED_TERRITORY_LEVELS)[number];
export const COUNTED_CATEGORY_LEVELS = [2, 3] as const;

/** Territory paths are '/district/street/community/grid/' of ids: the depth is the level. */
const TERRITORY_DEPTH: Readonly<Record<CountedTerritoryLevel, number>> = { street: 2, community: 3 };

export interface GroupKey {
  categoryId: string;
  categoryLevel: number;
  territoryId: string;
  territoryLevel: CountedTerritoryLevel;
  territoryPath: string;
}

/**
 * The groups a ticket counts in: each of its category's ancestors-or-self at the counted levels ×
 * each of its territory's ancestors-or-self at the counted levels. A ticket filed only at a
 * district, or only under a first-level category, counts nowhere: too broad to act on.
 */
export function groupsOf(categoryPath: string | null, territoryPath: string | null): GroupKey[] {
  if (!categoryPath || !territoryPath) return [];
  const cats = categoryPath.split('/').filter(Boolean);
  const terrs = territoryPath.split('/').filter(Boolean);
  const out: GroupKey[] = [];
  for (const level of COUNTED_CATEGORY_LEVELS) {
    if (cats.length < level) continue;
    for (const tl of COUNTED_TERRITORY_LEVELS) {
      const depth = TERRITORY_DEPTH[tl];
      if (terrs.length < depth) continue;
      out.push({ categoryId: cats[level - 1], categoryLevel: level, territoryId: terrs[depth - 1], territoryLevel: tl, territoryPath: `/${terrs.slice(0, depth).join('/')}/` });
    }
  }
  return out;
}

/** The China days of the baseline: the same weekday 1…n weeks before `day` ('YYYY-MM-DD'). */
export function baselineDays(day: string, weeks: number): string[] {
  const t = Date.parse(`${day}T00:00:00Z`);
  return Array.from({ length: weeks }, (_, i) => new Date(t - (i + 1) * 7 * 86_400_000).toISOString().slice(0, 10));
}
