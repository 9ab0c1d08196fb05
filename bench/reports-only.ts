/**
 * The reports benchmarks alone (`npx tsx bench/reports-only.ts`): the monthly bulletin against a
 * full-scan GROUP BY, and registration with hotspot counting against without, on SQLite and on
 * MariaDB/MySQL when reachable — the same functions `npm run bench` runs, without the other parts'.
 * REPORTS_BENCH_TICKETS sets the bulletin's year (default 100,000); REPORTS_BENCH_KINDS=mysql skips
 * SQLite; HOTSPOTS_BENCH_TICKETS sets the registrations (default 3,000 SQLite / 1,000 MariaDB).
 */
import { benchReportsBulletin } from './reports.bench';
import { benchHotspots } from './hotspots.bench';
import { mysqlAvailable } from './harness';

const kinds = (process.env.REPORTS_BENCH_KINDS ?? 'sqlite,mysql').split(',').filter((k): k is 'sqlite' | 'mysql' => k === 'sqlite' || k === 'mysql');
const usable = kinds.includes('mysql') && !(await mysqlAvailable()) ? kinds.filter((k) => k !== 'mysql') : kinds;
const tickets = Number(process.env.REPORTS_BENCH_TICKETS ?? 0) || 100_000;
const what = (process.env.REPORTS_BENCH_ONLY ?? 'bulletin,hotspots').split(',');
for (const kind of usable) {
  if (what.includes('bulletin')) process.stdout.write(JSON.stringify(await benchReportsBulletin(kind, tickets)) + '\n');
  if (what.includes('hotspots')) {
    // Evaluation after each commit (as before) and debounced (as the app runs it), each against its own baseline.
    for (const debounceMs of [0, 1000]) process.stdout.write(JSON.stringify(await benchHotspots(kind, Number(process.env.HOTSPOTS_BENCH_TICKETS ?? 0) || (kind === 'sqlite' ? 3000 : 1000), debounceMs)) + '\n');
  }
}
