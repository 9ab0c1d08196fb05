import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { openDatabase, migrateToLatest, ensureMysqlDatabase, dropMysqlDatabase, type Database } from '../db';

/** A fresh, migrated database of the given kind for one benchmark; `dispose` removes it. */
export async function benchDatabase(kind: 'sqlite' | 'mysql'): Promise<Database & { dispose(): Promise<void>; url: string }> {
  if (kind === 'mysql') {
    const u = new URL(process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306');
    u.pathname = `/hotline_bench_${randomBytes(4).toString('hex')}`;
    const url = u.toString();
    await ensureMysqlDatabase(url);
    const d = await openDatabase(url, { poolSize: 10 });
    await migrateToLatest(d);
    return { ...d, url, dispose: async () => { await d.close(); await dropMysqlDatabase(url); } };
  }
  // A file with the product's own settings (WAL, synchronous=NORMAL), as the embedded default runs:
  // an in-memory database would make the raw baselines faster than any deployment sees.
  const dir = mkdtempSync(join(tmpdir(), 'hotline-bench-'));
  const d = await openDatabase(`sqlite:${join(dir, 'bench.sqlite')}`);
  await migrateToLatest(d);
  return { ...d, url: `sqlite:${join(dir, 'bench.sqlite')}`, dispose: async () => { await d.close(); rmSync(dir, { recursive: true, force: true }); } };
}

export async function mysqlAvailable(): Promise<boolean> {
  try {
    const d = await benchDatabase('mysql');
    await d.dispose();
    return true;
  } catch {
    return false;
  }
}

/** Wall time of `fn` in milliseconds. */
export async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export interface BenchResult {
  name: string;
  [k: string]: unknown;
}

export const fmt = (n: number, digits = 2) => Number(n.toFixed(digits));
