/**
 * Debian's chromium, headless, as the report printer: HTML → PDF (`--print-to-pdf`, the page's own
 * `@page` A4 size) and HTML → PNG (`--screenshot`, for charts in Excel). One short-lived process per
 * document in a fresh profile directory (the page's Content-Security-Policy allows no script), at
 * most `concurrency` at once per node (each takes a core for a second or two). No npm package drives
 * it: production needs only the binary.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ChromiumPrinterOptions {
  /** The chromium binary; default: the first of /usr/bin/chromium, /usr/bin/chromium-browser, /usr/bin/google-chrome. */
  executablePath?: string | null;
  /** A run that takes longer is killed and fails; default 60 s. */
  timeoutMs?: number;
  /** Chromium processes at once on this node; default 2. */
  concurrency?: number;
}

export interface ReportPrinter {
  /** The HTML page printed to PDF (its CSS decides the paper: A4 in the report template). */
  pdf(html: string): Promise<Buffer>;
  /** The HTML page as a PNG of width × height CSS pixels, drawn at `scale` device pixels per pixel. */
  png(html: string, size: { width: number; height: number; scale?: number }): Promise<Buffer>;
}

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--disable-extensions', '--mute-audio',
  '--hide-scrollbars',
];

export function findChromiumBinary(configured?: string | null): string | null {
  const candidates = [configured, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean) as string[];
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Builds the printer; throws at boot when no chromium binary is found (reports could not be exported). */
export function createChromiumPrinter(opts: ChromiumPrinterOptions = {}): ReportPrinter {
  const binary = findChromiumBinary(opts.executablePath);
  if (!binary) throw new Error(`reports: chromium not found${opts.executablePath ? ` at ${opts.executablePath}` : ''}; install Debian's chromium and fonts-noto-cjk, or set CHROMIUM_PATH (未找到 chromium，无法导出 PDF)`);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  let running = 0;
  const waiting: (() => void)[] = [];

  async function slot<T>(work: () => Promise<T>): Promise<T> {
    if (running >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await work();
    } finally {
      running--;
      waiting.shift()?.();
    }
  }

  async function run(html: string, outName: string, extra: (out: string) => string[]): Promise<Buffer> {
    return slot(async () => {
      const dir = await mkdtemp(join(tmpdir(), 'hotline-report-'));
      try {
        const page = join(dir, 'page.html');
        const out = join(dir, outName);
        await writeFile(page, html, 'utf8');
        const args = [...FLAGS, `--user-data-dir=${join(dir, 'profile')}`, ...extra(out), pathToFileURL(page).href];
        await new Promise<void>((resolve, reject) => {
          execFile(binary!, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 }, (err, _stdout, stderr) => {
            if (err) reject(new Error(`reports: chromium failed (${err.killed ? `killed after ${timeoutMs} ms` : `exit ${err.code}`}): ${String(stderr).slice(-500)}`));
            else resolve();
          });
        });
        if (!existsSync(out)) throw new Error(`reports: chromium wrote no ${outName}`);
        return await readFile(out);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  return {
    pdf: (html) => run(html, 'report.pdf', (out) => ['--no-pdf-header-footer', `--print-to-pdf=${out}`]),
    png: (html, size) =>
      run(html, 'image.png', (out) => [
        `--window-size=${Math.round(size.width)},${Math.round(size.height)}`, `--force-device-scale-factor=${size.scale ?? 2}`,
        '--default-background-color=ffffffff', `--screenshot=${out}`,
      ]),
  };
}
