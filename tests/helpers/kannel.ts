/**
 * A real Kannel for tests: Debian's bearerbox and smsbox (package `kannel`) with a `fake` SMSC, and
 * `fakesmsc` (package `kannel-extras`) as the handset side. Everything runs on loopback on free
 * ports, with its own kannel.conf in a temp dir, next to a small HTTP server that stands for our
 * callback routes (Kannel's get-url and dlr-url land there).
 *
 * fakesmsc (1.4.5), as used here:
 * - started without messages on its command line it reads MO lines from stdin ("interactive mode"):
 *   `sender receiver type data`, type `text` (raw), `data` (url-encoded 8-bit) or `ucs2`
 *   (url-encoded UTF-16BE); a line holds at most 255 bytes;
 * - with `-v 0` it prints each MT line Kannel delivers as `Got message N: <line>` (on stderr):
 *   `12345 13800138000 text hi`, `… ucs-2 %60%A8v%84…` (url-encoded UTF-16BE, `+` a 0x20 byte),
 *   or for each part of a long text `… udh %05%00%03<ref><total><seq> data <url-encoded part>`;
 * - it never sends receipts itself: Kannel's fake SMSC module reports each MT delivered (type 1)
 *   once fakesmsc took it.
 * The fake SMSC takes one fakesmsc at a time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const KANNEL_PATHS = {
  bearerbox: '/usr/sbin/bearerbox',
  smsbox: '/usr/sbin/smsbox',
  fakesmsc: '/usr/lib/kannel/test/fakesmsc',
} as const;

/** Null when the three binaries are installed; else why not (the tests skip with this message). */
export function kannelMissing(): string | null {
  const missing = Object.values(KANNEL_PATHS).filter((p) => {
    try { accessSync(p, constants.X_OK); return false; } catch { return true; }
  });
  return missing.length ? `Kannel not installed (missing ${missing.join(', ')}): apt-get install kannel kannel-extras` : null;
}

export interface CapturedRequest {
  method: string;
  path: string;
  /** The query as a URL parser reads it (`+` and %-escapes decoded as UTF-8). */
  query: Record<string, string>;
  rawUrl: string;
}

/** One MT line fakesmsc printed, decoded to bytes. */
export interface MtLine {
  from: string;
  to: string;
  type: 'text' | 'data' | 'ucs-2' | 'udh';
  /** The message bytes (UTF-16BE for ucs-2 and for the parts of a UCS2 long text). */
  data: Buffer;
  udh: Buffer | null;
  raw: string;
}

export interface KannelHarness {
  sendsmsUrl: string;
  username: string;
  password: string;
  /** The callback server's base, e.g. `http://127.0.0.1:41234`. */
  callbackBase: string;
  requests: CapturedRequest[];
  mt: MtLine[];
  waitForRequest(pred: (r: CapturedRequest) => boolean, what: string, timeoutMs?: number): Promise<CapturedRequest>;
  waitForMt(pred: (lines: MtLine[]) => MtLine[] | null, what: string, timeoutMs?: number): Promise<MtLine[]>;
  /** An MO text from a handset, sent as UCS2 through fakesmsc. */
  injectMo(from: string, to: string, text: string): void;
  /** Stops bearerbox (smsbox follows it down): Kannel is gone. */
  killBearerbox(): Promise<void>;
  /** The boxes' logs, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Kannel's url-encoding back to bytes: `%XX` a byte, `+` a space, anything else itself. */
export function kannelUrlDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '+') out.push(0x20);
    else out.push(c.charCodeAt(0) & 0xff);
  }
  return Buffer.from(out);
}

export function utf16be(b: Buffer): string {
  return Buffer.from(b).swap16().toString('utf16le');
}

function parseMtLine(line: string): MtLine | null {
  const m = /^(\S+) (\S+) (text|data|ucs-2|udh) (.*)$/.exec(line);
  if (!m) return null;
  const [, from, to, type, rest] = m as unknown as [string, string, string, MtLine['type'], string];
  if (type === 'udh') {
    const u = /^(\S+) data (.*)$/.exec(rest);
    if (!u) return null;
    return { from, to, type, udh: kannelUrlDecode(u[1]!), data: kannelUrlDecode(u[2]!), raw: line };
  }
  // `text` is printed raw: the line was read as latin1, so each char is one byte.
  const data = type === 'text' ? Buffer.from(rest, 'latin1') : kannelUrlDecode(rest);
  return { from, to, type, udh: null, data, raw: line };
}

/** The concatenation header of a part: reference, total, sequence (IEI 00 or 08), or null. */
export function concatInfo(udh: Buffer | null): { ref: number; total: number; seq: number } | null {
  if (!udh || udh.length < 1) return null;
  let i = 1;
  while (i + 1 < udh.length) {
    const iei = udh[i]!;
    const len = udh[i + 1]!;
    const v = udh.subarray(i + 2, i + 2 + len);
    if (iei === 0x00 && len === 3) return { ref: v[0]!, total: v[1]!, seq: v[2]! };
    if (iei === 0x08 && len === 4) return { ref: (v[0]! << 8) | v[1]!, total: v[2]!, seq: v[3]! };
    i += 2 + len;
  }
  return null;
}

/** The text of one MT line (ucs-2: UTF-16BE; text: UTF-8). */
export function mtText(line: MtLine): string {
  return line.type === 'ucs-2' || line.type === 'udh' ? utf16be(line.data) : line.data.toString('utf8');
}

/**
 * Finds a complete long text among the MT lines: the parts of one reference, all of them, in
 * sequence order (UCS2 assumed for the parts). Null until every part arrived.
 */
export function joinedLongTexts(lines: MtLine[]): { parts: MtLine[]; text: string }[] {
  const byRef = new Map<number, MtLine[]>();
  for (const l of lines) {
    const c = concatInfo(l.udh);
    if (!c) continue;
    byRef.set(c.ref, [...(byRef.get(c.ref) ?? []), l]);
  }
  const out: { parts: MtLine[]; text: string }[] = [];
  for (const parts of byRef.values()) {
    const total = concatInfo(parts[0]!.udh)!.total;
    if (parts.length !== total) continue;
    parts.sort((a, b) => concatInfo(a.udh)!.seq - concatInfo(b.udh)!.seq);
    out.push({ parts, text: utf16be(Buffer.concat(parts.map((p) => p.data))) });
  }
  return out;
}

function readQuery(req: IncomingMessage): { path: string; query: Record<string, string> } {
  const u = new URL(req.url ?? '/', 'http://x');
  return { path: u.pathname, query: Object.fromEntries(u.searchParams) };
}

async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | null> | T | null, diag: () => string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > until) throw new Error(`kannel harness: ${what} not within ${timeoutMs} ms\n${diag()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function httpText(url: string): Promise<{ status: number; text: string } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, text: await res.text() };
  } catch {
    return null;
  }
}

function exited(p: ChildProcess): boolean {
  return p.exitCode !== null || p.signalCode !== null;
}

async function stopProcess(p: ChildProcess | null, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (!p || exited(p)) return;
  const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill(signal);
  const timer = setTimeout(() => { if (!exited(p)) p.kill('SIGKILL'); }, graceMs);
  await gone;
  clearTimeout(timer);
}

export interface KannelOptions {
  /** The sms-service get-url, given the callback server's base URL. */
  getUrl(callbackBase: string): string;
  username?: string;
  password?: string;
  /** smsbox's global-sender, for texts without `from`. */
  globalSender?: string;
}

export async function startKannel(opts: KannelOptions): Promise<KannelHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-kannel-'));
  const username = opts.username ?? 'hotline';
  const password = opts.password ?? 'kannel-test-pw';
  const adminPassword = 'kannel-admin-pw';
  const requests: CapturedRequest[] = [];
  const mt: MtLine[] = [];
  const waiters = new Set<() => void>();
  const wake = () => { for (const w of [...waiters]) w(); };

  // Our callback routes, as Kannel sees them: record and answer 200 with an empty body.
  const server: Server = createServer((req, res) => {
    const { path, query } = readQuery(req);
    requests.push({ method: req.method ?? 'GET', path, query, rawUrl: req.url ?? '' });
    res.writeHead(200, { 'content-type': 'text/plain' }).end('');
    wake();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const callbackBase = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const [adminPort, smsboxPort, fakePort, sendsmsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const conf = join(dir, 'kannel.conf');
  const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  writeFileSync(conf, [
    'group = core',
    `admin-port = ${adminPort}`,
    'admin-interface = 127.0.0.1',
    `admin-password = ${adminPassword}`,
    `status-password = ${adminPassword}`,
    'admin-allow-ip = 127.0.0.1',
    `smsbox-port = ${smsboxPort}`,
    'smsbox-interface = 127.0.0.1',
    'box-allow-ip = 127.0.0.1',
    `log-file = ${quote(join(dir, 'bearerbox.log'))}`,
    'log-level = 0',
    'dlr-storage = internal',
    '',
    'group = smsc',
    'smsc = fake',
    'smsc-id = fake',
    `port = ${fakePort}`,
    'connect-allow-ip = 127.0.0.1',
    '',
    'group = smsbox',
    'bearerbox-host = 127.0.0.1',
    `bearerbox-port = ${smsboxPort}`,
    `sendsms-port = ${sendsmsPort}`,
    'sendsms-interface = 127.0.0.1',
    `global-sender = ${opts.globalSender ?? '12345'}`,
    // UCS2 texts from handsets reach the get-url as UTF-8.
    'mo-recode = true',
    `log-file = ${quote(join(dir, 'smsbox.log'))}`,
    'log-level = 0',
    '',
    'group = sendsms-user',
    `username = ${username}`,
    `password = ${password}`,
    // A long text goes as up to 10 parts joined by UDH (the default, 1, would cut it).
    'max-messages = 10',
    'concatenation = true',
    '',
    'group = sms-service',
    'keyword = default',
    'catch-all = true',
    'max-messages = 0',
    'omit-empty = true',
    `get-url = ${quote(opts.getUrl(callbackBase))}`,
    '',
  ].join('\n'));

  const outputs = new Map<string, string>();
  const children: ChildProcess[] = [];
  const launch = (name: string, cmd: string, args: string[]) => {
    const p = spawn(cmd, args, { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    outputs.set(name, '');
    const add = (b: Buffer) => outputs.set(name, (outputs.get(name)! + b.toString('latin1')).slice(-20_000));
    p.stdout!.on('data', add);
    p.stderr!.on('data', add);
    p.on('error', (e) => add(Buffer.from(`spawn error: ${e.message}\n`)));
    children.push(p);
    return p;
  };
  const logs = () => {
    const tail = (f: string) => { try { return readFileSync(join(dir, f), 'latin1').slice(-3000); } catch { return '(none)'; } };
    return [...outputs].map(([k, v]) => `--- ${k} output\n${v.slice(-3000)}`).join('\n') + `\n--- bearerbox.log\n${tail('bearerbox.log')}\n--- smsbox.log\n${tail('smsbox.log')}`;
  };

  let bearerbox: ChildProcess | null = null;
  let smsbox: ChildProcess | null = null;
  let fakesmsc: ChildProcess | null = null;
  const stop = async () => {
    await stopProcess(fakesmsc);
    await stopProcess(smsbox);
    await stopProcess(bearerbox);
    for (const p of children) await stopProcess(p, 'SIGKILL');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const adminStatus = `http://127.0.0.1:${adminPort}/status.txt?password=${adminPassword}`;
    const alive = (p: ChildProcess, name: string) => { if (exited(p)) throw new Error(`kannel harness: ${name} exited (${p.exitCode ?? p.signalCode})\n${logs()}`); };

    bearerbox = launch('bearerbox', KANNEL_PATHS.bearerbox, ['-v', '1', conf]);
    await poll('bearerbox admin page', 20_000, async () => { alive(bearerbox!, 'bearerbox'); return (await httpText(adminStatus))?.status === 200 ? true : null; }, logs);

    smsbox = launch('smsbox', KANNEL_PATHS.smsbox, ['-v', '1', conf]);
    // -v 0: fakesmsc prints every MT line it receives ("Got message N: <…>").
    fakesmsc = launch('fakesmsc', KANNEL_PATHS.fakesmsc, ['-H', '127.0.0.1', '-r', String(fakePort), '-i', '0', '-v', '0']);
    let buffered = '';
    const onFake = (b: Buffer) => {
      buffered += b.toString('latin1');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = /Got message \d+: <(.*)>\s*$/.exec(line);
        const parsed = m ? parseMtLine(m[1]!) : null;
        if (parsed) { mt.push(parsed); wake(); }
      }
    };
    fakesmsc.stdout!.on('data', onFake);
    fakesmsc.stderr!.on('data', onFake);

    await poll('smsbox and the fake SMSC online', 20_000, async () => {
      alive(bearerbox!, 'bearerbox'); alive(smsbox!, 'smsbox'); alive(fakesmsc!, 'fakesmsc');
      const s = await httpText(adminStatus);
      if (!s) return null;
      const smsc = /fake\[fake\]\s+FAKE:\d+ \(online/.test(s.text);
      const box = /smsbox:\(none\), IP 127\.0\.0\.1/.test(s.text);
      return smsc && box ? true : null;
    }, logs);
    const sendsmsUrl = `http://127.0.0.1:${sendsmsPort}/cgi-bin/sendsms`;
    await poll('smsbox sendsms port', 20_000, async () => ((await httpText(sendsmsUrl)) ? true : null), logs);

    const waitFor = <T>(probe: () => T | null, what: string, timeoutMs: number): Promise<T> =>
      new Promise((resolve, reject) => {
        const check = () => {
          const v = probe();
          if (v !== null) { cleanup(); resolve(v); }
        };
        const timer = setTimeout(() => { cleanup(); reject(new Error(`kannel harness: ${what} not within ${timeoutMs} ms\nrequests: ${JSON.stringify(requests.map((r) => r.rawUrl))}\nMT: ${JSON.stringify(mt.map((l) => l.raw))}\n${logs()}`)); }, timeoutMs);
        const cleanup = () => { clearTimeout(timer); waiters.delete(check); };
        waiters.add(check);
        check();
      });

    return {
      sendsmsUrl,
      username,
      password,
      callbackBase,
      requests,
      mt,
      waitForRequest: (pred, what, timeoutMs = 15_000) => waitFor(() => requests.find(pred) ?? null, what, timeoutMs),
      waitForMt: (pred, what, timeoutMs = 15_000) => waitFor(() => pred(mt), what, timeoutMs),
      injectMo(from, to, text) {
        const hex = [...Buffer.from(text, 'utf16le').swap16()].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
        const line = `${from} ${to} ucs2 ${hex}\n`;
        if (Buffer.byteLength(line) > 255) throw new Error(`fakesmsc reads at most 255 bytes a line; this MO takes ${Buffer.byteLength(line)}`);
        fakesmsc!.stdin!.write(line);
      },
      async killBearerbox() {
        await stopProcess(bearerbox);
        // smsbox goes down with its bearerbox; wait so that nothing answers on sendsms any more.
        await poll('smsbox to exit after bearerbox', 20_000, () => (exited(smsbox!) ? true : null), logs);
      },
      logs,
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
