import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parse } from 'csv-parse/sync';
import { createContext } from '../app/context';
import { testConfig } from '../app/config';
import { importCityFromDir } from '../app/city-preset';
import { openDatabase, migrateToLatest } from '../db';
import { systemActor } from '../core';
import { fmt, percentile, type BenchResult } from './harness';

const MESSAGES = '../shared/data/messages/teddy2020-messages-4326.csv';
const ADDRESSES = ['白龙南路88号', '湖滨大道320号', '望湖路150号', '南门大街12号', '幸福里小区3栋', '鼓楼街', '火星基地'];

/**
 * Whole routing plans (classification + territory + responsibility list + dispatch rules + deadlines)
 * on the demo city's full category tree (1,107 nodes), against a baseline of the same lookups done as
 * bare Map reads (one per category, unit, territory and policy touched), in one process.
 */
export async function benchRoutingPlan(n: number): Promise<BenchResult> {
  const database = await openDatabase('sqlite::memory:');
  await migrateToLatest(database);
  const ctx = await createContext(testConfig(), { database });
  await importCityFromDir(ctx, 'cities/demo', { actor: systemActor('demo', 'bench') });
  const texts: string[] = existsSync(MESSAGES)
    ? (parse(readFileSync(MESSAGES, 'utf8'), { bom: true, relax_quotes: true }) as string[][]).slice(1, 1 + n).map((r) => `${r[2]} ${r[4]}`)
    : Array.from({ length: n }, (_, i) => `第${i}号：楼下水管爆了，路面全是水，小区门口有人摆摊，路灯不亮`);
  const req = (i: number) => ({ cityId: 'demo', text: texts[i % texts.length], address: ADDRESSES[i % ADDRESSES.length], type: i % 3 ? 'complaint' : 'help' });
  for (let i = 0; i < 50; i++) await ctx.routing.plan(req(i)); // warm-up: caches, JIT, the jieba dictionaries

  const latencies: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await ctx.routing.plan(req(i));
    latencies.push(performance.now() - s);
  }
  const planMs = performance.now() - t0;

  // Baseline: the reads a plan makes, as bare Map lookups of ready answers.
  const categories = new Map((await ctx.routing.plan(req(0))).suggestions.map((s) => [s.code, s]));
  const lookups = new Map<string, unknown>([...categories.entries(), ...ADDRESSES.map((a) => [a, a] as [string, unknown])]);
  const keys = [...lookups.keys()];
  let sink = 0;
  const b0 = performance.now();
  for (let i = 0; i < n; i++) for (let j = 0; j < 12; j++) if (lookups.get(keys[(i + j) % keys.length])) sink++;
  const baseMs = performance.now() - b0;
  await ctx.close();
  latencies.sort((a, b) => a - b);
  return {
    name: 'routing plan (classifier + territory + responsibility + rules + deadlines) vs bare map reads',
    plans: n,
    plansPerSec: fmt((n / planMs) * 1000, 0),
    p50Ms: fmt(percentile(latencies, 50), 3),
    p99Ms: fmt(percentile(latencies, 99), 3),
    baselinePerSec: fmt((n / baseMs) * 1000, 0),
    ratioPlanToBaseline: fmt(planMs / Math.max(baseMs, 1e-6), 0),
    sink: sink > 0,
  };
}
