/**
 * What the console's browser tests share: the real server over a fresh demo-city database serving the
 * BUILT console, Debian's chromium driven by playwright-core (never `playwright install`), one
 * browser per file, pages at 1366×768 in China time, and screenshots under test-artifacts/.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Clock } from '../../core';
import { CONSOLE_DIST } from '../../app/landing';
import { startTestApp, type StartTestAppOptions, type TestApp } from '../helpers/app';

const ROOT = join(import.meta.dirname, '..', '..');
export const ARTIFACTS = join(ROOT, 'test-artifacts');

/** The launch flags that work for Debian's chromium in CI (STACK.md); Playwright adds its own profile dir. */
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** Debian's chromium, or CHROMIUM_PATH; null when there is none (the tests then skip, saying why). */
export function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean) as string[];
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Why the browser tests cannot run here, or null. */
export function browserSkipReason(): string | null {
  // In CI the browser is installed by .ci/run: a missing one must fail the run, not skip the tests.
  if (!findChromium() && process.env.CI !== 'true') return 'chromium is not installed (apt-get install chromium fonts-noto-cjk; .ci/run does it): console browser tests skipped';
  return null;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Builds the console when agent-console/dist is missing or older than its sources, once, whichever
 * test file asks first (a lock directory keeps two workers from building at the same time).
 */
export async function ensureConsoleBuilt(): Promise<void> {
  const index = join(CONSOLE_DIST, 'index.html');
  const sources = Math.max(newestMtime(join(ROOT, 'agent-console', 'src')), statSync(join(ROOT, 'agent-console', 'index.html')).mtimeMs, statSync(join(ROOT, 'vite.config.ts')).mtimeMs);
  const fresh = () => existsSync(index) && statSync(index).mtimeMs >= sources;
  if (fresh()) return;
  const lock = join(ROOT, 'agent-console', '.build-lock');
  for (let i = 0; i < 240; i++) {
    try {
      mkdirSync(lock);
    } catch {
      await new Promise((r) => setTimeout(r, 500));
      if (fresh()) return;
      continue;
    }
    try {
      if (!fresh()) await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: ROOT });
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  throw new Error('timed out waiting for another worker to build the console');
}

/** The server's "now" at the start: Thursday 2025-10-09 10:00 in Beijing, office hours; it then runs on. */
export const START = new Date('2025-10-09T02:00:00Z');

function flowingClock(start: Date): Clock {
  const t0 = Date.now();
  return { now: () => new Date(start.getTime() + (Date.now() - t0)) };
}

export interface ConsoleServer {
  t: TestApp;
  baseUrl: string;
  close(): Promise<void>;
  /** An API call as a demo user (cookie login through inject). */
  api(username: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown): Promise<{ status: number; body: any }>;
}

/** The real server over a fresh database with the demo city, listening on a free port, serving the built console. */
export async function startConsoleServer(opts: Pick<StartTestAppOptions, 'beforeReady' | 'reportSource' | 'config' | 'telephony' | 'speechEngine'> = {}): Promise<ConsoleServer> {
  await ensureConsoleBuilt();
  // The browser keeps cookies by the real date, the server dates them by its own clock (2025): a
  // session long enough to reach past today keeps the cookie alive in chromium.
  const sessionHours = Math.ceil((Date.now() - START.getTime()) / 3_600_000) + 48;
  const t = await startTestApp({ ...opts, clock: flowingClock(START), config: { sessionHours, ...opts.config } });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.address() as AddressInfo;
  return {
    t,
    baseUrl: `http://127.0.0.1:${port}`,
    close: () => t.close(),
    async api(username, method, url, payload) {
      const cookie = await t.login(username);
      const res = await t.app.inject({ method, url, headers: { cookie }, ...(payload !== undefined ? { payload: payload as object } : {}) });
      return { status: res.statusCode, body: res.body ? res.json() : null };
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium()!, headless: true, args: FLAGS });
}

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors seen so far. */
  errors: string[];
}

/**
 * A fresh browser context (its own cookies) at 1366×768 — or a phone (390×844, touch) with
 * `{ phone: true }` — Chinese, in China time, its clock at the server's.
 */
export async function openConsole(browser: Browser, baseUrl: string, opts: { phone?: boolean } = {}): Promise<ConsolePage> {
  const screen = opts.phone ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } : { viewport: { width: 1366, height: 768 } };
  const context = await browser.newContext({ ...screen, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', baseURL: baseUrl });
  const page = await context.newPage();
  // The browser's clock agrees with the server's (deadlines, "occurred at" defaults); it keeps running.
  await page.clock.install({ time: new Date(START.getTime() + 1000) });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A failed request is the API's answer, which the tests check where it matters.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  return { context, page, errors };
}

/** Logs in through the login page. */
export async function login(page: Page, username: string, password = 'demo12345') {
  await page.goto('/login');
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** Element Plus tags left unresolved in the DOM: a component used but not registered (plugins/element.ts). */
export async function unresolvedElements(page: Page): Promise<string[]> {
  // (Page scripts are strings here: the server's tsconfig has no DOM types.)
  return page.evaluate<string[]>(`[...new Set([...document.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()).filter((n) => n.startsWith('el-')))]`);
}

/**
 * A browser-test suite: skipped (saying why) without chromium outside CI; the real server with the
 * built console and one browser for the file, started before its tests (after `seed`, if given,
 * has filled the database) and closed after them. `env()` gives both to the tests.
 */
export function describeConsole(
  name: string,
  body: (env: () => { s: ConsoleServer; browser: Browser }) => void,
  seed?: (s: ConsoleServer) => Promise<void>,
  server?: Pick<StartTestAppOptions, 'beforeReady' | 'reportSource' | 'config'>,
) {
  const skip = browserSkipReason();
  if (skip) console.log(`[agent-console] ${skip}`);
  describe.skipIf(!!skip)(name, () => {
    let s: ConsoleServer;
    let browser: Browser;
    beforeAll(async () => {
      s = await startConsoleServer(server);
      await seed?.(s);
      browser = await launchBrowser();
    }, 180_000);
    afterAll(async () => {
      await browser?.close();
      await s?.close();
    }, 120_000);
    body(() => ({ s, browser }));
  });
}
