import { benchReportsBulletin } from './reports.bench';
console.log(JSON.stringify(await benchReportsBulletin((process.argv[2] ?? 'sqlite') as any, Number(process.argv[3]))));
