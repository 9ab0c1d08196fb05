import { Command, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { ALL_API_KEY_SCOPES, isAppError, notFound, parseIsoWithZone, parseTicketType, parseUrgency, systemActor, toChinaIso, type CommandContext } from '../core';
import type { TimeLimit } from '../calendar';
import { loadConfig } from './config';
import { createContext, type AppContext } from './context';
import { importCityFromDir, importCategoriesFile, ensureCityLoaded, noCityYet } from './city-preset';
import { classifierEvalCommand, crossValidate, readLabelledCsv, listCategories } from '../routing';
import { startServer } from './main';
import { reportsRebuildCommand } from './reports';
import { kpiDocTable } from '../reports';

/** Prints a domain error in both languages and exits non-zero. */
function fail(err: unknown): never {
  if (isAppError(err)) {
    process.stderr.write(`错误 [${err.code}]: ${err.messageZh}\nerror [${err.code}]: ${err.message}\n`);
    if (err.details) process.stderr.write(JSON.stringify(err.details, null, 2) + '\n');
  } else {
    process.stderr.write(`error: ${(err as Error)?.message ?? err}\n`);
  }
  process.exit(1);
}

async function withContext<T>(fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  const config = { ...loadConfig(), logLevel: 'silent' };
  const ctx = await createContext(config);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/** The command context of a CLI command that needs no city (importing one, the national calendar). */
const cliWithoutCity = (): CommandContext => ({ actor: systemActor('-', 'cli'), requestId: `cli-${process.pid}` });

/**
 * The command context of a CLI command that works in a city: `--city`, else the database's first
 * city. On a fresh checkout (no city yet) it loads CITY_DIR the way `npm start` does, saying so on
 * stderr; with LOAD_CITY_ON_START=false it stops with NO_CITY and what to run first.
 */
async function cliCommandContext(ctx: AppContext, cityId?: string): Promise<CommandContext> {
  if (!cityId) {
    const config = loadConfig();
    const first = await ensureCityLoaded(ctx, config);
    if (first.imported) process.stderr.write(`数据库中还没有城市，已导入 ${config.cityDir}\nno city yet: imported the city preset ${config.cityDir}\n`);
    if (!first.cityId) throw noCityYet(config.cityDir);
    cityId = first.cityId;
  }
  return { actor: systemActor(cityId, 'cli'), requestId: `cli-${process.pid}` };
}

const program = new Command('hotline').description('12345 hotline: server and administration (12345 热线管理命令)');

program.command('start').description('start the server (启动服务)').action(async () => {
  await startServer(loadConfig());
});

program.command('migrate').description('bring the database schema up to date (数据库迁移)').action(async () => {
  await withContext(async (ctx) => {
    process.stdout.write(`database ${ctx.database.describe} is up to date\n`);
  }).catch(fail);
});

const city = program.command('city').description('city presets (城市配置)');
city
  .command('import')
  .argument('<dir>', 'a city preset folder (city.json, territory.csv, units.csv, users.csv, categories.csv, ...)')
  .description('validate and import a city preset; reports every problem with file and line')
  .action(async (dir: string) => {
    await withContext(async (ctx) => {
      const summary = await importCityFromDir(ctx, dir, cliWithoutCity());
      process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    }).catch(fail);
  });

/** The unit and territory a `--unit` / `--territory` code names in the city (an unknown code stops the command). */
async function unitAndTerritoryOf(ctx: AppContext, cityId: string, o: { unit?: string; territory?: string }) {
  const unit = o.unit ? await ctx.directory.findUnitByCode(cityId, o.unit) : null;
  if (o.unit && !unit) throw new Error(`unit ${o.unit} not found in city ${cityId}`);
  const territory = o.territory ? await ctx.directory.findTerritoryByCode(cityId, o.territory) : null;
  if (o.territory && !territory) throw new Error(`territory ${o.territory} not found in city ${cityId}`);
  return { unit, territory };
}

const user = program.command('user').description('users (用户)');
user
  .command('add')
  .requiredOption('--username <name>')
  .requiredOption('--name <displayName>')
  .requiredOption('--role <role>', 'agent, dispatcher, unit_handler, unit_manager, grid_member, grid_leader, community_secretary, town_leader, supervisor, admin')
  .requiredOption('--password <password>')
  .option('--unit <unitCode>', 'the unit code, for unit roles')
  .option('--territory <territoryCode>', 'the territory code, for grid and town roles')
  .option('--phone <phone>')
  .option('--city <cityId>')
  .description('add a user')
  .action(async (o) => {
    await withContext(async (ctx) => {
      const cmd = await cliCommandContext(ctx, o.city);
      const cityId = cmd.actor.cityId;
      const { unit, territory } = await unitAndTerritoryOf(ctx, cityId, o);
      const created = await ctx.identity.createUser(cmd, {
        cityId, username: o.username, displayName: o.name, role: o.role, password: o.password,
        unitId: unit?.id ?? null, territoryId: territory?.id ?? null, phone: o.phone ?? null,
      });
      process.stdout.write(JSON.stringify(created) + '\n');
    }).catch(fail);
  });

user
  .command('password')
  .requiredOption('--username <name>')
  .requiredOption('--password <password>', 'the new password: 12+ characters, not containing the username, not a common one')
  .option('--city <cityId>')
  .description("reset a user's password (重置密码): the user must change it at the next login; every session of theirs ends")
  .action(async (o) => {
    await withContext(async (ctx) => {
      const cmd = await cliCommandContext(ctx, o.city);
      const found = (await ctx.identity.listUsers(cmd.actor.cityId)).find((u) => u.username === o.username);
      if (!found) throw notFound('USER_NOT_FOUND', `user ${o.username} does not exist`, `用户 ${o.username} 不存在`);
      const result = await ctx.identity.resetPassword(cmd, found.id, o.password);
      process.stdout.write(JSON.stringify({ username: found.username, passwordChangeRequired: true, ...result }) + '\n');
    }).catch(fail);
  });

const apikey = program.command('apikey').description('API keys of machine clients (接口密钥): gateways, wallboards');
apikey
  .command('add')
  .requiredOption('--name <name>')
  .requiredOption('--role <role>', 'the role the key acts as (its data scope), e.g. agent; unit roles need --unit')
  .requiredOption('--scopes <scopes>', `comma-separated: ${ALL_API_KEY_SCOPES.join(', ')}`)
  .option('--unit <unitCode>', 'the unit code, for unit roles')
  .option('--territory <territoryCode>', 'the territory code, for grid and town roles')
  .option('--expires <iso>', 'expiry, ISO 8601 with a zone (default: until revoked)')
  .option('--city <cityId>')
  .description('issue a key; prints it once (only its hash is kept)')
  .action(async (o) => {
    await withContext(async (ctx) => {
      const cmd = await cliCommandContext(ctx, o.city);
      const cityId = cmd.actor.cityId;
      const { unit, territory } = await unitAndTerritoryOf(ctx, cityId, o);
      const expiresAt = o.expires ? parseIsoWithZone(o.expires) : null;
      if (o.expires && !expiresAt) throw new Error(`--expires ${o.expires}: not an ISO 8601 time with a zone`);
      const created = await ctx.identity.createApiKey(cmd, {
        cityId, name: o.name, role: o.role, scopes: String(o.scopes).split(',').map((x) => x.trim()).filter(Boolean),
        unitId: unit?.id ?? null, territoryId: territory?.id ?? null, expiresAt,
      });
      process.stdout.write(JSON.stringify(created) + '\n');
    }).catch(fail);
  });
apikey
  .command('list')
  .option('--city <cityId>')
  .description("the city's keys: scopes, expiry, last use, revocation (never a secret)")
  .action(async (o) => {
    await withContext(async (ctx) => {
      const cmd = await cliCommandContext(ctx, o.city);
      for (const k of await ctx.identity.listApiKeys(cmd.actor.cityId)) process.stdout.write(JSON.stringify(k) + '\n');
    }).catch(fail);
  });
apikey
  .command('revoke <id>')
  .option('--city <cityId>')
  .description('revoke a key at once (with REDIS_URL the running nodes close its live sockets too)')
  .action(async (id, o) => {
    await withContext(async (ctx) => {
      const cmd = await cliCommandContext(ctx, o.city);
      process.stdout.write(JSON.stringify(await ctx.identity.revokeApiKey(cmd, id)) + '\n');
    }).catch(fail);
  });

const calendar = program.command('calendar').description('the working-day calendar (工作日历)');
calendar
  .command('import')
  .argument('<file>', 'a year as published by the State Council, as JSON (see README)')
  .description('import or replace one year of holidays and make-up workdays')
  .action(async (file: string) => {
    await withContext(async (ctx) => {
      // The calendar is national: importing a year needs no city.
      const result = await ctx.calendar.importYear(await readFile(file, 'utf8'), cliWithoutCity());
      process.stdout.write(JSON.stringify(result) + '\n');
    }).catch(fail);
  });
calendar.command('years').description('list the years with calendar data').action(async () => {
  await withContext(async (ctx) => {
    for (const y of await ctx.calendar.listYears()) process.stdout.write(`${y.year}\t${y.source}\t${y.importedAt}\n`);
  }).catch(fail);
});

program
  .command('deadline')
  .description('compute a deadline on the working-time clock (时限计算); prints one ISO 8601 line')
  .requiredOption('--from <iso>', 'start, ISO 8601 with a zone, e.g. 2025-09-30T16:00:00+08:00')
  .addOption(new Option('--working-days <n>', 'N working days').conflicts(['workingHours', 'hours', 'minutes']))
  .addOption(new Option('--working-hours <n>', 'N working hours (office time only)').conflicts(['hours', 'minutes']))
  .addOption(new Option('--hours <n>', 'N natural hours').conflicts(['minutes']))
  .addOption(new Option('--minutes <n>', 'N natural minutes'))
  .option('--city <cityId>', "use this city's office hours")
  .action(async (o) => {
    const from = parseIsoWithZone(o.from);
    if (!from) fail(new Error(`--from must be ISO 8601 with a zone, e.g. 2025-09-30T16:00:00+08:00 (got ${o.from})`));
    const limits: [TimeLimit['unit'], string | undefined][] = [
      ['working_days', o.workingDays], ['working_hours', o.workingHours], ['hours', o.hours], ['minutes', o.minutes],
    ];
    const given = limits.filter(([, v]) => v !== undefined);
    if (given.length !== 1) fail(new Error('give exactly one of --working-days, --working-hours, --hours, --minutes'));
    const amount = Number(given[0][1]);
    if (!Number.isFinite(amount) || amount < 0) fail(new Error(`the amount must be a non-negative number (got ${given[0][1]})`));
    await withContext(async (ctx) => {
      const officeHours = o.city ? await ctx.directory.cityOfficeHours(o.city) : undefined;
      const deadline = await ctx.calendar.deadline(from!, { unit: given[0][0], amount } as TimeLimit, officeHours);
      process.stdout.write(toChinaIso(deadline) + '\n');
    }).catch(fail);
  });

const categories = program.command('categories').description('the 4-level category tree (问题分类)');
categories
  .command('import')
  .argument('<file>', 'CSV: code,name,level,parent_code,keywords,default_type,default_urgency,policy_code,utility')
  .option('--city <cityId>')
  .description("replace a city's category tree; every problem is reported with its line, and nothing is imported on any")
  .action(async (file: string, o) => {
    await withContext(async (ctx) => {
      const cmd = await cliCommandContext(ctx, o.city);
      const result = await importCategoriesFile(ctx, cmd.actor.cityId, await readFile(file, 'utf8'), cmd);
      ctx.forgetCity(cmd.actor.cityId);
      process.stdout.write(JSON.stringify(result) + '\n');
    }).catch(fail);
  });

program
  .command('route')
  .description('plan where a ticket goes and why (派单方案); prints one JSON object')
  .requiredOption('--text <text>', 'what the caller said or wrote')
  .option('--title <title>')
  .option('--address <address>', 'the place as the caller said it')
  .option('--type <type>', '咨询 求助 投诉 举报 建议 表扬, or consultation, help, complaint, report, suggestion, praise')
  .option('--urgency <urgency>', '一般 紧急 特急, or normal, urgent, emergency')
  .option('--category <code>', 'a category the agent chose')
  .option('--building <code>', 'the building code of a QR report')
  .option('--city <cityId>')
  .action(async (o) => {
    const type = o.type ? parseTicketType(o.type) : null;
    if (o.type && !type) fail(new Error(`unknown ticket type ${o.type}`));
    const urgency = o.urgency ? parseUrgency(o.urgency) : null;
    if (o.urgency && !urgency) fail(new Error(`unknown urgency ${o.urgency}`));
    await withContext(async (ctx) => {
      const cmd = await cliCommandContext(ctx, o.city);
      const plan = await ctx.routing.plan({
        cityId: cmd.actor.cityId, text: o.text, title: o.title, address: o.address, type, urgency, categoryCode: o.category, buildingCode: o.building,
      });
      process.stdout.write(JSON.stringify(plan) + '\n');
    }).catch(fail);
  });

const classifier = program.command('classifier').description('the category classifier (智能分类)');
classifier
  .command('eval')
  .requiredOption('--train <file>', 'labelled CSV: id,title,text,label')
  .requiredOption('--test <file>', 'labelled CSV: id,title,text,label')
  .description('train a fresh model on one file, score it on the other; prints one JSON line')
  .action((o) => {
    try {
      process.stdout.write(JSON.stringify(classifierEvalCommand(o.train, o.test)) + '\n');
    } catch (err) {
      fail(err);
    }
  });
classifier
  .command('cv')
  .requiredOption('--data <file>', 'labelled CSV: id,title,text,label')
  .option('--folds <k>', 'number of folds', '5')
  .option('--seed <n>', 'seed of the fold split', '1')
  .description('stratified k-fold cross-validation; prints one JSON line with the pooled figures and the confusion table')
  .action((o) => {
    try {
      const r = crossValidate(o.data, Number(o.folds), Number(o.seed));
      process.stdout.write(JSON.stringify(r) + '\n');
    } catch (err) {
      fail(err);
    }
  });
classifier
  .command('train')
  .requiredOption('--data <file>', 'labelled CSV: id,title,text,label (label: a category code or name of the city)')
  .option('--city <cityId>')
  .description("train the city's model from labelled history; it replaces the current model and is stored in the database")
  .action(async (o) => {
    await withContext(async (ctx) => {
      const cmd = await cliCommandContext(ctx, o.city);
      const cityId = cmd.actor.cityId;
      const nodes = await listCategories(ctx.database.db, cityId);
      const byCode = new Map(nodes.map((n) => [n.code, n.code]));
      const byName = new Map<string, string>();
      for (const n of [...nodes].sort((a, b) => a.level - b.level)) if (!byName.has(n.name)) byName.set(n.name, n.code);
      const examples = readLabelledCsv(o.data);
      const unknown = new Set<string>();
      const mapped = examples.flatMap((e) => {
        const code = byCode.get(e.label) ?? byName.get(e.label);
        if (!code) unknown.add(e.label);
        return code ? [{ ...e, label: code }] : [];
      });
      if (unknown.size) throw new Error(`labels that are neither a category code nor a category name of ${cityId}: ${[...unknown].join(', ')}`);
      const result = await ctx.classifier.train(cityId, mapped, `hotline classifier train --data ${o.data}`);
      process.stdout.write(JSON.stringify(result) + '\n');
    }).catch(fail);
  });

const reportsCmd = program.command('reports').description('reports and their rollups (统计报表)');
reportsCmd.command('kpis').description("print the KPI definitions as docs/kpis.md's table (指标口径)").action(() => {
  process.stdout.write(kpiDocTable());
});
reportsCmd
  .command('rebuild')
  .description('recompute the rollups from the tickets and prove they match a full scan (exits 1 on a mismatch)')
  .option('--city <id>', 'one city (default: every city)')
  .option('--from <date>', 'first day of the counters to rebuild, YYYY-MM-DD')
  .option('--to <date>', 'day after the last one, YYYY-MM-DD')
  .option('--check', 'compare only; write nothing (exits 1 when they differ)')
  .action(async (o: { city?: string; from?: string; to?: string; check?: boolean }) => {
    const code = await withContext(async (ctx) => {
      const cities = o.city ? [o.city] : (await ctx.directory.listCities()).map((c) => c.id);
      return reportsRebuildCommand(ctx.reports, cities, o, (line) => process.stdout.write(line + '\n'));
    }).catch(fail);
    process.exitCode = code;
  });

await program.parseAsync(process.argv);
