import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createContext, type AppContext } from '../../app/context';
import { buildServer } from '../../app/server';
import { testConfig, type AppConfig } from '../../app/config';
import { importCityFromDir } from '../../app/city-preset';
import { FixedClock, systemActor, type Clock } from '../../core';
import type { ReportSource } from '../../reports';
import { freshDatabase, type TestDatabase } from './db';

export const DEMO_PASSWORD = 'demo12345';

export interface TestApp {
  app: FastifyInstance;
  ctx: AppContext;
  database: TestDatabase;
  /** Logs in a demo user (or one a test created, with its password) and returns its cookie header, remembered per user. */
  login(username: string, password?: string): Promise<string>;
  close(): Promise<void>;
}

export interface StartTestAppOptions {
  clock?: Clock;
  /** Configuration fields to override (e.g. a small `bodyLimit`). */
  config?: Partial<AppConfig>;
  /** Runs on the built server before `ready()`: the place to register extra test-only routes. */
  beforeReady?: (app: FastifyInstance, ctx: AppContext) => void | Promise<void>;
  /** The report figures behind exports (default: none installed; tests/reports gives a fixture document). */
  reportSource?: ReportSource;
  /** A SIP edge (a test double or a real one on a free port) for telephony. */
  telephony?: NonNullable<Parameters<typeof createContext>[1]>['telephony'];
  /** A speech engine (e.g. aws against a local endpoint); default: the one the config names. */
  speechEngine?: NonNullable<Parameters<typeof createContext>[1]>['speechEngine'];
}

/** The real server over a fresh database with the demo city imported (SQLite or MariaDB per TEST_DATABASE). */
export async function startTestApp(opts: StartTestAppOptions = {}): Promise<TestApp> {
  const database = await freshDatabase();
  const ctx = await createContext(testConfig(opts.config), { database, clock: opts.clock ?? new FixedClock(new Date('2025-10-09T02:00:00Z')), reportSource: opts.reportSource, telephony: opts.telephony, speechEngine: opts.speechEngine });
  await importCityFromDir(ctx, 'cities/demo', { actor: systemActor('demo', 'test') });
  const app = await buildServer(ctx);
  await opts.beforeReady?.(app, ctx);
  await app.ready();
  const cookies = new Map<string, string>();
  return {
    app,
    ctx,
    database,
    async login(username: string, password = DEMO_PASSWORD) {
      const cached = cookies.get(username);
      if (cached) return cached;
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
      if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`);
      const cookie = res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
      cookies.set(username, cookie);
      return cookie;
    },
    async close() {
      await app.close();
      await database.dispose();
    },
  };
}

export const json = (res: LightMyRequestResponse) => res.json() as any;

/** Row counts of the tables a request may write, to prove a refused request wrote nothing. */
export const WRITE_TABLES = ['tickets', 'citizens', 'audit_events', 'users', 'api_keys', 'ticket_links', 'idempotency_records', 'calendar_years', 'sms_messages'] as const;
export type RowCounts = Record<(typeof WRITE_TABLES)[number], number>;

export async function rowCounts(t: Pick<TestApp, 'ctx'>): Promise<RowCounts> {
  const db = t.ctx.database.db;
  const out = {} as RowCounts;
  for (const table of WRITE_TABLES) out[table] = await countRows(t, table);
  return out;
}

/**
 * Rows of a table, leaving out what SMS does in the background for earlier requests: texts are
 * sent and their receipts recorded after the request (their audit rows), and the outbox hands its
 * notices to the SMS sink after the commit (texts with a `notice:` source; the notice itself counts
 * in `notification_outbox`). A request's own texts (a receipt queued with its ticket) count.
 */
export async function countRows(t: Pick<TestApp, 'ctx'>, table: string): Promise<number> {
  let q = t.ctx.database.db.selectFrom(table as 'tickets').select((eb) => eb.fn.countAll().as('n'));
  if (table === 'audit_events') q = q.where('entity_type' as never, 'not in', ['sms', 'sms_inbound'] as never);
  if (table === 'sms_messages') q = q.where('source_key' as never, 'not like', 'notice:%' as never);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

