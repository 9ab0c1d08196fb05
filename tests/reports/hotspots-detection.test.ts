/**
 * The detection rules on hand-made histories, each with the level a reader can check by hand
 * (defaults: 蓝 ≥5 tickets, ≥3 callers, mean + 2·spread; 黄 ≥10, ≥6, +3·spread; 红 ≥20, ≥12, +5·spread;
 * spread = max(σ, √mean, 1)).
 */
import { describe, expect, it } from 'vitest';
import {
  assess, baselineDays, baselineOf, DEFAULT_HOTSPOT_SETTINGS as S, effectiveSpread, groupsOf, HotspotSettings, levelOf, parseHotspotSettings, thresholdOf,
} from '../../reports/hotspots';

describe('levels on hand-made histories', () => {
  const cases: { name: string; tickets: number; callers: number; history: number[]; level: number }[] = [
    // mean 2, σ 0.71 → spread max(0.71, 1.41, 1) = 1.41; blue needs max(5, ceil(2 + 2.83)) = 5
    { name: 'usual Thursday: 4 against 1,2,3,2', tickets: 4, callers: 4, history: [1, 2, 3, 2], level: 0 },
    { name: 'five tickets from five callers against 1,2,3,2 → blue', tickets: 5, callers: 5, history: [1, 2, 3, 2], level: 1 },
    // yellow needs max(10, ceil(2 + 4.24)) = 10; red max(20, ceil(2 + 7.07)) = 20
    { name: '10 tickets, 6 callers → yellow', tickets: 10, callers: 6, history: [1, 2, 3, 2], level: 2 },
    { name: '10 tickets but 5 callers (one caller ringing again) → blue only', tickets: 10, callers: 5, history: [1, 2, 3, 2], level: 1 },
    { name: '25 tickets from 12 callers → red', tickets: 25, callers: 12, history: [1, 2, 3, 2], level: 3 },
    { name: '25 tickets from 11 callers → yellow', tickets: 25, callers: 11, history: [1, 2, 3, 2], level: 2 },
    { name: 'five tickets from two callers → none (one household is not a hotspot)', tickets: 5, callers: 2, history: [0, 0, 0, 0], level: 0 },
    // a busy group: mean 20, σ 5 (history 15,25,15,25) → spread 5; blue needs 30, yellow 35, red 45
    { name: 'busy group: 29 → none', tickets: 29, callers: 29, history: [15, 25, 15, 25], level: 0 },
    { name: 'busy group: 30 → blue', tickets: 30, callers: 29, history: [15, 25, 15, 25], level: 1 },
    { name: 'busy group: 35 → yellow', tickets: 35, callers: 30, history: [15, 25, 15, 25], level: 2 },
    { name: 'busy group: 44 → yellow', tickets: 44, callers: 40, history: [15, 25, 15, 25], level: 2 },
    { name: 'busy group: 45 → red', tickets: 45, callers: 40, history: [15, 25, 15, 25], level: 3 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(levelOf({ tickets: c.tickets, callers: c.callers, history: c.history }, S)).toBe(c.level);
    });
  }
});

describe('baseline edge cases', () => {
  it('no history: mean 0, spread 0, and the minimums decide (5 → blue, 4 → none)', () => {
    expect(baselineOf([])).toEqual({ mean: 0, spread: 0 });
    expect(effectiveSpread({ mean: 0, spread: 0 })).toBe(1);
    expect(levelOf({ tickets: 5, callers: 3, history: [] }, S)).toBe(1);
    expect(levelOf({ tickets: 4, callers: 4, history: [] }, S)).toBe(0);
  });

  it('zero spread on a flat history: √mean stands in, so 16 against 9,9,9,9 is blue and not red', () => {
    expect(baselineOf([9, 9, 9, 9])).toEqual({ mean: 9, spread: 0 });
    expect(effectiveSpread({ mean: 9, spread: 0 })).toBe(3);
    expect(thresholdOf(S.levels.blue, { mean: 9, spread: 0 })).toBe(15); // 9 + 2·3
    expect(thresholdOf(S.levels.yellow, { mean: 9, spread: 0 })).toBe(18); // 9 + 3·3
    expect(thresholdOf(S.levels.red, { mean: 9, spread: 0 })).toBe(24); // 9 + 5·3
    expect(levelOf({ tickets: 14, callers: 14, history: [9, 9, 9, 9] }, S)).toBe(0);
    expect(levelOf({ tickets: 16, callers: 14, history: [9, 9, 9, 9] }, S)).toBe(1);
    expect(levelOf({ tickets: 24, callers: 14, history: [9, 9, 9, 9] }, S)).toBe(3);
  });

  it('the window wins when it is higher, the day on a tie', () => {
    const day = { tickets: 6, callers: 6, history: [3, 3, 3, 3] }; // blue needs max(5, ceil(3 + 2·1.73)) = 7 → none
    const window = { tickets: 6, callers: 6, history: [0, 0, 0, 0] }; // blue: 5 → blue
    expect(assess(day, window, S)).toMatchObject({ level: 1, basis: 'window', tickets: 6, mean: 0 });
    expect(assess({ ...day, tickets: 7 }, window, S)).toMatchObject({ level: 1, basis: 'day', mean: 3 });
  });

  it('the baseline days are the same weekday of the previous weeks', () => {
    expect(baselineDays('2025-10-09', 4)).toEqual(['2025-10-02', '2025-09-25', '2025-09-18', '2025-09-11']);
    expect(baselineDays('2025-03-03', 1)).toEqual(['2025-02-24']);
  });
});

describe('settings', () => {
  it('every field has a default', () => {
    expect(HotspotSettings.parse({})).toEqual({
      enabled: true, baselineWeeks: 4, windowHours: 3,
      levels: { blue: { minTickets: 5, minCallers: 3, sigmas: 2 }, yellow: { minTickets: 10, minCallers: 6, sigmas: 3 }, red: { minTickets: 20, minCallers: 12, sigmas: 5 } },
    });
  });

  it('refuses levels that ask less as they rise, unknown keys and impossible values', () => {
    expect(() => parseHotspotSettings({ levels: { blue: { minTickets: 30, minCallers: 3, sigmas: 2 } } })).toThrow(/minTickets must not fall/);
    expect(() => parseHotspotSettings({ baselineWeek: 4 })).toThrow(/HOTSPOT|invalid/);
    expect(() => parseHotspotSettings({ windowHours: 0 })).toThrow();
    let error: any = null;
    try {
      parseHotspotSettings({ baselineWeeks: 99 });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'HOTSPOT_SETTINGS_INVALID', status: 400, messageZh: '热点预警参数配置有误' });
  });

  it('a city may ask for more', () => {
    const s = parseHotspotSettings({ levels: { blue: { minTickets: 8, minCallers: 5, sigmas: 2 } } });
    expect(levelOf({ tickets: 7, callers: 7, history: [] }, s)).toBe(0);
    expect(levelOf({ tickets: 8, callers: 5, history: [] }, s)).toBe(1);
  });
});

describe('groups of a ticket', () => {
  it('level-2 and level-3 categories × street and community; nothing for a district or a first-level category', () => {
    const g = groupsOf('/c1/c12/c123/c1234/', '/d/s/c/g/');
    expect(g.map((x) => `${x.categoryId}@${x.territoryId}:${x.territoryPath}`)).toEqual(['c12@s:/d/s/', 'c12@c:/d/s/c/', 'c123@s:/d/s/', 'c123@c:/d/s/c/']);
    expect(groupsOf('/c1/c12/', '/d/s/').map((x) => `${x.categoryId}@${x.territoryId}`)).toEqual(['c12@s']);
    expect(groupsOf('/c1/', '/d/s/c/')).toEqual([]);
    expect(groupsOf('/c1/c12/', '/d/')).toEqual([]);
    expect(groupsOf(null, '/d/s/')).toEqual([]);
  });
});
