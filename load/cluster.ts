/**
 * The production configuration on one machine, for the load driver (负载与故障演练): a MariaDB server
 * and a Redis server of the driver's own (own data directory and ports, so a fault injected here
 * never touches the services other work on this machine uses), and three hotline nodes started as
 * real processes (`node bin/hotline.js start`) on different ports, sharing both and one attachments
 * folder.
 *
 * Faults are done to these real processes: SIGKILL of a node, a MariaDB restart, Redis stopped and
 * started, the attachments filesystem filled (a tmpfs of fixed size when we run as root; otherwise a
 * plain folder, and the report says so).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ClusterOptions {
  /** Working folder: MariaDB data, logs, attachments mount point. */
  dir: string;
  mysqlPort: number;
  redisPort: number;
  /** First node port; the others follow. */
  basePort: number;
  nodes: number;
  /** Size of the attachments filesystem (tmpfs), bytes. */
  attachmentsBytes: number;
  sweepSeconds: number;
  log: (line: string) => void;
}

export interface NodeProc {
  index: number;
  port: number;
  base: string;
  child: ChildProcess | null;
  starts: number;
}

const ROOT = resolve(import.meta.dirname, '..');

export class Cluster {
  readonly nodes: NodeProc[] = [];
  readonly database: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly attachmentsDir: string;
  /** 'tmpfs' when the attachments folder is a real small filesystem; 'folder' otherwise (fill-disk is then skipped). */
  attachmentsFs: 'tmpfs' | 'folder' = 'folder';
  /** One MariaDB server for every run of the process (runs differ by database name). */
  private static mariadbProc: ChildProcess | null = null;
  private get mariadb() {
    return Cluster.mariadbProc;
  }
  private set mariadb(p: ChildProcess | null) {
    Cluster.mariadbProc = p;
  }

  constructor(readonly o: ClusterOptions) {
    this.database = `hotline_load_${Date.now().toString(36)}`;
    this.databaseUrl = `mysql://root@127.0.0.1:${o.mysqlPort}/${this.database}`;
    this.redisUrl = `redis://127.0.0.1:${o.redisPort}`;
    this.redisPrefix = `load${Date.now().toString(36)}`;
    this.attachmentsDir = join(o.dir, `attachments-${this.redisPrefix}`);
    for (let i = 0; i < o.nodes; i++) {
      const port = o.basePort + i;
      this.nodes.push({ index: i, port, base: `http://127.0.0.1:${port}`, child: null, starts: 0 });
    }
  }

  // ---- MariaDB (own instance) ----

  private get mysqlDataDir() {
    return join(this.o.dir, 'mariadb');
  }

  /** Starts the driver's MariaDB unless it already answers. */
  async ensureMariadb(): Promise<void> {
    if (!this.mysqlPing()) await this.startMariadb();
  }

  ensureRedis(): Promise<void> {
    if (!this.redisPing()) this.startRedis();
    return this.waitRedis();
  }

  async startMariadb(): Promise<void> {
    mkdirSync(this.o.dir, { recursive: true });
    if (!existsSync(join(this.mysqlDataDir, 'mysql'))) {
      const r = spawnSync('mariadb-install-db', ['--no-defaults', `--datadir=${this.mysqlDataDir}`, '--user=root', '--auth-root-authentication-method=normal'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mariadb-install-db failed: ${r.stderr || r.stdout}`);
    }
    const err = openSync(join(this.o.dir, 'mariadb.log'), 'a');
    this.mariadb = spawn('/usr/sbin/mariadbd', [
      '--no-defaults', `--datadir=${this.mysqlDataDir}`, `--port=${this.o.mysqlPort}`, '--bind-address=127.0.0.1',
      `--socket=${join(this.o.dir, 'mysqld.sock')}`, `--pid-file=${join(this.o.dir, 'mysqld.pid')}`, '--user=root',
      '--innodb-buffer-pool-size=256M', '--max-connections=500', '--skip-name-resolve',
    ], { stdio: ['ignore', err, err], detached: false });
    await this.until(() => this.mysqlPing(), 30_000, 'MariaDB to answer');
  }

  mysqlPing(): boolean {
    return spawnSync('mariadb-admin', ['-h127.0.0.1', `-P${this.o.mysqlPort}`, '-uroot', 'ping'], { encoding: 'utf8' }).status === 0;
  }

  mysql(sql: string): string {
    const r = spawnSync('mariadb', ['-h127.0.0.1', `-P${this.o.mysqlPort}`, '-uroot', '-N', '-B', '-e', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mariadb: ${r.stderr}`);
    return r.stdout;
  }

  /** A restart as an operator does it: a clean shutdown (SIGTERM, connections cut), then start again. */
  async restartMariadb(downMs = 3000): Promise<void> {
    const m = this.mariadb;
    if (m) {
      const exited = new Promise((r) => m.once('exit', r));
      m.kill('SIGTERM');
      await exited;
    }
    await sleep(downMs);
    await this.startMariadb();
  }

  async stopMariadb(): Promise<void> {
    const m = this.mariadb;
    this.mariadb = null;
    if (!m || m.exitCode !== null) return;
    const exited = new Promise((r) => m.once('exit', r));
    m.kill('SIGTERM');
    await exited;
  }

  // ---- Redis (own instance, nothing on disk, as in production's cache role) ----

  startRedis(): void {
    const r = spawnSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(this.o.redisPort), '--save', '', '--appendonly', 'no',
      '--dir', this.o.dir, '--logfile', join(this.o.dir, 'redis.log'), '--pidfile', join(this.o.dir, 'redis.pid')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`redis-server: ${r.stderr}`);
  }

  redisPing(): boolean {
    const r = spawnSync('redis-cli', ['-p', String(this.o.redisPort), 'ping'], { encoding: 'utf8' });
    return r.stdout.trim() === 'PONG';
  }

  async waitRedis() {
    await this.until(() => this.redisPing(), 10_000, 'Redis to answer');
  }

  /** Redis gone: SHUTDOWN NOSAVE (everything it held is lost, as with a crashed cache node). */
  stopRedis(): void {
    spawnSync('redis-cli', ['-p', String(this.o.redisPort), 'shutdown', 'nosave'], { encoding: 'utf8' });
  }

  // ---- attachments filesystem ----

  mountAttachments(): void {
    mkdirSync(this.attachmentsDir, { recursive: true });
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (isRoot) {
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${this.o.attachmentsBytes}`, 'tmpfs', this.attachmentsDir], { encoding: 'utf8' });
      if (r.status === 0) {
        this.attachmentsFs = 'tmpfs';
        return;
      }
      this.o.log(`tmpfs mount refused (${r.stderr.trim()}): attachments in a plain folder, fill-disk not available`);
    }
  }

  unmountAttachments(): void {
    if (this.attachmentsFs === 'tmpfs') spawnSync('umount', ['-l', this.attachmentsDir]);
  }

  /** Fills the attachments filesystem to the last byte with a filler file (what a runaway log or backup does). */
  fillAttachments(): number {
    const filler = join(this.attachmentsDir, '.filler');
    spawnSync('sh', ['-c', `dd if=/dev/zero of='${filler}' bs=64k 2>/dev/null; sync`]);
    return Number(spawnSync('stat', ['-c', '%s', filler], { encoding: 'utf8' }).stdout.trim() || 0);
  }

  freeAttachments(): void {
    rmSync(join(this.attachmentsDir, '.filler'), { force: true });
  }

  // ---- app nodes ----

  private envOf(n: NodeProc): NodeJS.ProcessEnv {
    return {
      ...process.env,
      NODE_ENV: 'production',
      COOKIE_SECURE: 'false',
      DATABASE_URL: this.databaseUrl,
      REDIS_URL: this.redisUrl,
      REDIS_PREFIX: this.redisPrefix,
      HOST: '127.0.0.1',
      PORT: String(n.port),
      LOG_LEVEL: 'warn',
      ATTACHMENTS_DIR: this.attachmentsDir,
      SWEEP_INTERVAL_SECONDS: String(this.o.sweepSeconds),
      REPORTS_SCHEDULE: 'false',
      TELEPHONY_EDGE: 'off',
      SMS_GATEWAYS: 'log',
      SMS_LOG_FILE: this.smsLogOf(n),
      SMS_QUIET_HOURS: '',
      LIVE_HEARTBEAT_MS: '5000',
      TELEPHONY_NODE_ID: `load-node${n.index + 1}`,
    };
  }

  async startNode(n: NodeProc): Promise<void> {
    const out = openSync(join(this.o.dir, `node${n.index + 1}.log`), 'a');
    n.child = spawn(process.execPath, [join(ROOT, 'bin/hotline.js'), 'start'], { cwd: ROOT, env: this.envOf(n), stdio: ['ignore', out, out] });
    n.starts++;
    const child = n.child;
    await this.until(async () => {
      if (child.exitCode !== null) throw new Error(`node ${n.index + 1} exited (${child.exitCode}); see ${join(this.o.dir, `node${n.index + 1}.log`)}`);
      try {
        return (await fetch(`${n.base}/healthz`)).ok;
      } catch {
        return false;
      }
    }, 300_000, `node ${n.index + 1} to answer /healthz`);
  }

  /** Starts node 1 alone (it migrates and imports the demo city), then the others. */
  async startNodes(): Promise<void> {
    await this.startNode(this.nodes[0]);
    await Promise.all(this.nodes.slice(1).map((n) => this.startNode(n)));
  }

  /** kill -9: no shutdown hook runs, requests in flight are cut. */
  async killNode(n: NodeProc): Promise<void> {
    const c = n.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    n.child = null;
  }

  async stopNodes(): Promise<void> {
    await Promise.all(this.nodes.map(async (n) => {
      const c = n.child;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }));
  }

  /** Ends a run: nodes stopped, its database dropped (unless kept), its attachments filesystem unmounted. */
  async endRun(keepDatabase: boolean): Promise<void> {
    await this.stopNodes();
    if (!keepDatabase) try { this.mysql(`DROP DATABASE IF EXISTS \`${this.database}\``); } catch { /* already gone */ }
    spawnSync('redis-cli', ['-p', String(this.o.redisPort), 'eval', "for _,k in ipairs(redis.call('keys', ARGV[1])) do redis.call('del', k) end return 0", '0', `${this.redisPrefix}*`]);
    this.unmountAttachments();
  }

  /** Stops the driver's own MariaDB and Redis. */
  async stopServices(): Promise<void> {
    this.stopRedis();
    await this.stopMariadb();
  }

  /** The log gateway's file of a node in this run (a run's texts only). */
  private smsLogOf(n: NodeProc) {
    return join(this.o.dir, `sms-${this.redisPrefix}-node${n.index + 1}.jsonl`);
  }

  smsLogLines(): string[] {
    return this.nodes.flatMap((n) => {
      const f = this.smsLogOf(n);
      return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
    });
  }

  private async until(f: () => boolean | Promise<boolean>, ms: number, what: string) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await f()) return;
      await sleep(250);
    }
    throw new Error(`timed out waiting for ${what}`);
  }
}
