/**
 * `npm run bench`: every benchmark of the product, each reported as a ratio against a baseline run in
 * the same process. Runs on SQLite, and on MariaDB/MySQL when one is reachable
 * (BENCH_MYSQL_URL or TEST_MYSQL_URL, default mysql://root@127.0.0.1:3306).
 * BENCH_SCALE=0.1 shrinks every size for a quick look.
 */
import { benchIntake } from './intake.bench';
import { benchJobs } from './jobs.bench';
import { benchWorkOrderSweep } from './workorders-sweep.bench';
import { benchRoutingPlan } from './routing-plan.bench';
import { benchClassifier } from './routing-classifier.bench';
import { benchTerritory } from './routing-territory.bench';
import { benchConsoleHub } from './console-hub.bench';
import { benchSms } from './sms.bench';
import { benchTelephony } from './telephony.bench';
import { benchHotspots } from './hotspots.bench';
import { benchDrachtioRecording } from './drachtio-recording.bench';
import { benchReportsBulletin } from './reports.bench';
import { benchCitizenReport } from './citizen.bench';
import { benchCallAudio } from './call-audio.bench';
import { benchSpeechService } from './speech.bench';
import { mysqlAvailable, type BenchResult } from './harness';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const size = (n: number) => Math.max(10, Math.round(n * scale));

const results: BenchResult[] = [];
const report = (r: BenchResult) => {
  results.push(r);
  process.stdout.write(JSON.stringify(r) + '\n');
};

const kinds: ('sqlite' | 'mysql')[] = ['sqlite'];
if (await mysqlAvailable()) kinds.push('mysql');
else process.stdout.write('# MariaDB/MySQL not reachable: SQLite only\n');

for (const kind of kinds) report(await benchIntake(kind, size(kind === 'sqlite' ? 5000 : 2000)));
report(benchClassifier(size(2000)));
report(await benchTerritory({ resolves: size(20_000) }));
report(await benchRoutingPlan(size(2000)));
report(await benchJobs(size(10_000)));
for (const kind of kinds) report(await benchWorkOrderSweep(kind, size(1_000_000)));
report(await benchConsoleHub({ connections: size(2000), events: size(100) }));
for (const kind of kinds) report(await benchSms(kind, size(2000)));
report(await benchTelephony({ calls: size(2000), rate: 1000, concurrent: size(200), holdMs: 3000 }));
for (const kind of kinds) report(await benchHotspots(kind, size(kind === 'sqlite' ? 3000 : 1000)));
report(await benchDrachtioRecording(Math.max(1, Math.round(30 * scale))));
report(await benchSpeechService({ streams: size(400), secondsOfAudio: Math.max(1, Math.round(30 * scale)) }));
// 月通报 on a synthetic year of 100,000 tickets (REPORTS_BENCH_TRACE=1 times each query), loaded in
// bulk (bench/reports-bulk-load.ts); REPORTS_BENCH_TICKETS=25000000 for Beijing's scale.
const reportTickets = Number(process.env.REPORTS_BENCH_TICKETS ?? 0) || size(100_000);
for (const kind of kinds) report(await benchReportsBulletin(kind, reportTickets));
for (const kind of kinds) report(await benchCitizenReport(kind, size(kind === 'sqlite' ? 500 : 300)));
report(await benchCallAudio({ consoles: size(20), frames: size(5000) }));

process.stdout.write(`# ${results.length} benchmarks done\n`);
