import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The whole configuration, read from the environment once at start and validated: a bad value stops
 * the process with a clear message instead of failing later.
 */
const Env = z.object({
  DATABASE_URL: z.string().default('sqlite:./data/hotline.sqlite'),
  REDIS_URL: z.string().url().optional(),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The city preset loaded on first start when the database has no city yet. */
  CITY_DIR: z.string().default('cities/demo'),
  LOAD_CITY_ON_START: z.enum(['true', 'false']).default('true'),
  COOKIE_SECURE: z.enum(['true', 'false']).optional(),
  SESSION_HOURS: z.coerce.number().min(1).max(24 * 30).default(12),
  TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
  NODE_ENV: z.string().default('development'),
  /** Attachments (photos, documents of work orders): a folder, or an S3-compatible bucket when ATTACHMENTS_S3_BUCKET is set. */
  ATTACHMENTS_DIR: z.string().default('./data/attachments'),
  ATTACHMENTS_MAX_BYTES: z.coerce.number().int().min(1024).max(200 * 1024 * 1024).default(20 * 1024 * 1024),
  ATTACHMENTS_S3_BUCKET: z.string().optional(),
  ATTACHMENTS_S3_ENDPOINT: z.string().url().optional(),
  ATTACHMENTS_S3_REGION: z.string().optional(),
  ATTACHMENTS_S3_ACCESS_KEY_ID: z.string().optional(),
  ATTACHMENTS_S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** How often the supervision ladder, callbacks and the outbox are swept (the database says what is due). */
  SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  /** Key prefix of everything the product keeps in Redis (jobs, live feed), per installation or environment. */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('hotline'),
  /** Live feed: heartbeat period (consoles treat two missed periods as a dead link) and days of events kept for resume. */
  LIVE_HEARTBEAT_MS: z.coerce.number().int().min(100).max(120_000).default(25_000),
  LIVE_RETENTION_DAYS: z.coerce.number().min(0.01).max(30).default(3),
  /**
   * HTTP connection limits. A client that sends its headers slowly, its body slowly, or holds a
   * connection idle must not hold a socket for ever (slowloris). The request timeout bounds the
   * whole upload: 20 MiB in 60 s needs about 3 Mbit/s; raise it for slower links. WebSocket links
   * (the live feed) leave these timeouts at the upgrade and keep their own heartbeat.
   */
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  /** A socket with no traffic either way for this long is closed (a stalled client, a stalled download). */
  HTTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(65_000),
  HTTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /**
   * Origins (scheme://host:port, comma-separated) whose pages may open the live WebSocket; unset:
   * only the server's own origin as the request names it (e.g. https://12345.city.gov.cn).
   */
  ALLOWED_ORIGINS: z
    .string()
    .optional()
    .refine((s) => !s || s.split(',').map((x) => x.trim()).filter(Boolean).every((o) => { try { const u = new URL(o); return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o.replace(/\/$/, ''); } catch { return false; } }),
      'a comma-separated list of origins like https://hotline.example.cn or http://10.0.0.5:3000 (no path)'),
}).refine((e) => e.HTTP_HEADERS_TIMEOUT_MS <= e.HTTP_REQUEST_TIMEOUT_MS, {
  message: 'HTTP_HEADERS_TIMEOUT_MS may not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
  path: ['HTTP_HEADERS_TIMEOUT_MS'],
});

export interface AppConfig {
  databaseUrl: string;
  redisUrl: string | null;
  host: string;
  port: number;
  logLevel: string;
  cityDir: string;
  loadCityOnStart: boolean;
  cookieSecure: boolean;
  sessionHours: number;
  trustProxy: boolean;
  bodyLimit: number;
  attachments: {
    dir: string;
    maxBytes: number;
    s3: { bucket: string; endpoint?: string; region?: string; accessKeyId?: string; secretAccessKey?: string } | null;
  };
  sweepIntervalSeconds: number;
  redisPrefix: string;
  live: { heartbeatMs: number; retentionDays: number };
  http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number; idleTimeoutMs: number; maxConnections: number };
  /** Origins allowed to open the live feed; empty: the server's own. */
  allowedOrigins: string[];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`invalid configuration (环境变量配置错误):\n${lines}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL ?? null,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    cityDir: e.CITY_DIR,
    loadCityOnStart: e.LOAD_CITY_ON_START === 'true',
    cookieSecure: e.COOKIE_SECURE ? e.COOKIE_SECURE === 'true' : e.NODE_ENV === 'production',
    sessionHours: e.SESSION_HOURS,
    trustProxy: e.TRUST_PROXY === 'true',
    bodyLimit: e.BODY_LIMIT_BYTES,
    attachments: {
      dir: e.ATTACHMENTS_DIR,
      maxBytes: e.ATTACHMENTS_MAX_BYTES,
      s3: e.ATTACHMENTS_S3_BUCKET
        ? { bucket: e.ATTACHMENTS_S3_BUCKET, endpoint: e.ATTACHMENTS_S3_ENDPOINT, region: e.ATTACHMENTS_S3_REGION, accessKeyId: e.ATTACHMENTS_S3_ACCESS_KEY_ID, secretAccessKey: e.ATTACHMENTS_S3_SECRET_ACCESS_KEY }
        : null,
    },
    sweepIntervalSeconds: e.SWEEP_INTERVAL_SECONDS,
    redisPrefix: e.REDIS_PREFIX,
    live: { heartbeatMs: e.LIVE_HEARTBEAT_MS, retentionDays: e.LIVE_RETENTION_DAYS },
    http: {
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      idleTimeoutMs: e.HTTP_IDLE_TIMEOUT_MS,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
    },
    allowedOrigins: (e.ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim().replace(/\/$/, '')).filter(Boolean),
  };
}

/** Defaults for tests and embedded use, overridable field by field. */
export function testConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  const attachmentsDir = join(tmpdir(), `hotline-test-attachments-${process.pid}`);
  return { ...loadConfig({ LOG_LEVEL: 'silent', LOAD_CITY_ON_START: 'false', ATTACHMENTS_DIR: attachmentsDir } as NodeJS.ProcessEnv), ...overrides };
}
