import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { GatewayConfig } from '../sms';

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
  /** Ticket numbers taken from the day's sequence this many at a time per node (批量取号; 1 = in registration order, no gaps). */
  TICKET_NUMBER_BLOCK: z.coerce.number().int().min(1).max(1000).default(20),
  /** Reports: scheduled generation on/off, its local time (city time zone), the formats it makes; chromium for PDF. */
  REPORTS_SCHEDULE: z.enum(['true', 'false']).default('true'),
  REPORTS_SCHEDULE_TIME: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM').default('08:00'),
  REPORTS_SCHEDULED_FORMATS: z.string().regex(/^(html|pdf|xlsx)(,(html|pdf|xlsx))*$/, 'a comma-separated list of html, pdf, xlsx').default('pdf,xlsx'),
  CHROMIUM_PATH: z.string().optional(),
  /** Citizen pages: the public address QR codes point at, and the key that signs them (made once in the database when unset). */
  CITIZEN_BASE_URL: z.string().url().optional(),
  CITIZEN_LINK_SECRET: z.string().min(32).optional(),
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
   * Admission control (过载保护, app/admission.ts): above these, new requests get 503 + Retry-After
   * at once instead of queueing; health checks and the live WebSocket go on. 0 turns a limit off.
   * The event-loop delay is the mean over each sample window.
   */
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(500),
  OVERLOAD_MAX_IN_FLIGHT: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  OVERLOAD_RETRY_AFTER_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  OVERLOAD_SAMPLE_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  /**
   * Origins (scheme://host:port, comma-separated) whose pages may open the live WebSocket; unset:
   * only the server's own origin as the request names it (e.g. https://12345.city.gov.cn).
   */
  ALLOWED_ORIGINS: z
    .string()
    .optional()
    .refine((s) => !s || s.split(',').map((x) => x.trim()).filter(Boolean).every((o) => { try { const u = new URL(o); return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o.replace(/\/$/, ''); } catch { return false; } }),
      'a comma-separated list of origins like https://hotline.example.cn or http://10.0.0.5:3000 (no path)'),
  /**
   * SMS (短信). The gateways in the order they are tried (the first that takes a text wins; a
   * retryable failure moves to the next): `log` (a file, the embedded default), `smpp`, `kannel`, `webhook`.
   */
  SMS_GATEWAYS: z.string().regex(/^(log|smpp|kannel|webhook)(,(log|smpp|kannel|webhook))*$/, 'a comma-separated list of log, smpp, kannel, webhook').default('log'),
  /** The number citizens see as the sender and text to (the hotline's long number). */
  SMS_SENDER: z.string().regex(/^\d{3,21}$/).default('12345'),
  /** Texts to citizens that can wait (results, surveys) are held during these hours, city time (HH:MM-HH:MM; empty: never). */
  SMS_QUIET_HOURS: z.string().regex(/^(|([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)$/, 'HH:MM-HH:MM, e.g. 21:00-08:00, or empty').default('21:00-08:00'),
  SMS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  /** A text not accepted by any gateway within this many hours is given up as expired (shown in the failed queue). */
  SMS_EXPIRE_HOURS: z.coerce.number().min(0.1).max(24 * 14).default(24),
  /** Where Kannel and providers call back (dlr-url, get-url): this server's address as they reach it. */
  SMS_CALLBACK_BASE_URL: z.string().url().optional(),
  /** The log gateway's file of texts (JSON lines); empty: the application log only. */
  SMS_LOG_FILE: z.string().default('./data/sms-outbox.jsonl'),
  SMS_LOG_RATE: z.coerce.number().min(0.1).max(100_000).default(1000),
  /** smpp://system_id:password@host:2775 */
  SMS_SMPP_URL: z.string().regex(/^smpps?:\/\//, 'smpp://system_id:password@host:port').optional(),
  SMS_SMPP_SYSTEM_TYPE: z.string().max(12).default(''),
  SMS_SMPP_WINDOW: z.coerce.number().int().min(1).max(1000).default(10),
  SMS_SMPP_ENQUIRE_LINK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  SMS_SMPP_SUBMIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  SMS_SMPP_RATE: z.coerce.number().min(0.1).max(100_000).default(50),
  /** Kannel smsbox's sendsms, e.g. http://kannel:13013/cgi-bin/sendsms */
  SMS_KANNEL_SENDSMS_URL: z.string().url().optional(),
  SMS_KANNEL_USERNAME: z.string().default(''),
  SMS_KANNEL_PASSWORD: z.string().default(''),
  SMS_KANNEL_SMSC: z.string().optional(),
  SMS_KANNEL_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  SMS_KANNEL_RATE: z.coerce.number().min(0.1).max(100_000).default(50),
  /** A token Kannel's get-url and dlr-url carry (`?token=`); unset: callbacks to this gateway are refused. */
  SMS_KANNEL_CALLBACK_TOKEN: z.string().min(16).optional(),
  /** A cloud provider's JSON API (the generic shape: see sms/gateways/webhook.ts). */
  SMS_WEBHOOK_URL: z.string().url().optional(),
  SMS_WEBHOOK_SECRET: z.string().default(''),
  SMS_WEBHOOK_SIGN_NAME: z.string().optional(),
  SMS_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  SMS_WEBHOOK_RATE: z.coerce.number().min(0.1).max(100_000).default(50),
  SMS_WEBHOOK_CALLBACK_TOKEN: z.string().min(16).optional(),
  /**
   * Telephony, the drachtio edge (生产 SIP 边缘, docs/telephony-production.md): drachtio-server's
   * admin address and secret, rtpengine's ng address. Required when that edge runs
   * (requireDrachtioConfig says which are missing); ignored by the built-in edge.
   */
  DRACHTIO_HOST: z.string().optional(),
  DRACHTIO_PORT: z.coerce.number().int().min(1).max(65535).default(9022),
  DRACHTIO_SECRET: z.string().optional(),
  RTPENGINE_HOST: z.string().optional(),
  RTPENGINE_PORT: z.coerce.number().int().min(1).max(65535).default(22222),
  RTPENGINE_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  /** rtpengine's interface names (--interface=NAME/IP) facing the carrier and the agent phones, when they are different networks; both or neither. */
  RTPENGINE_CALLER_INTERFACE: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).optional(),
  RTPENGINE_AGENT_INTERFACE: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).optional(),
  /** Where this node receives rtpengine's DTMF log (rtpengine's --dtmf-log-dest points here); `off`: no DTMF. */
  RTPENGINE_DTMF_LISTEN: z.string().regex(/^(off|[^:\s]+:\d{1,5})$/, 'host:port (e.g. 0.0.0.0:22223) or off').default('0.0.0.0:22223'),
  /** rtpengine's --recording-dir as this node sees it (a shared volume); unset: the drachtio edge records nothing. */
  RTPENGINE_RECORDING_DIR: z.string().optional(),
  /**
   * The media fork for live transcripts (媒体分流, docs/speech.md): the address rtpengine sends each
   * party's RTP to (this node, as rtpengine reaches it; default TELEPHONY_PUBLIC_ADDRESS), where this
   * node binds its receiver, and the UDP ports it takes (two per call being transcribed).
   */
  RTPENGINE_FORK_ADDRESS: z.string().optional(),
  RTPENGINE_FORK_LISTEN: z.string().default('0.0.0.0'),
  RTPENGINE_FORK_PORTS: z.string().regex(/^\d{4,5}-\d{4,5}$/, 'min-max, e.g. 21000-21999').default('21000-21999'),
  /** INVITEs per second (and burst) one source IP may send before 503 + Retry-After; SIP_TRUSTED_SOURCES (the carrier's SBCs) are exempt. */
  SIP_INVITE_RATE: z.coerce.number().min(0.1).max(10_000).default(5),
  SIP_INVITE_BURST: z.coerce.number().int().min(1).max(100_000).default(20),
  SIP_TRUSTED_SOURCES: z.string().default(''),
  /** Telephony (电话接入, docs/telephony.md): which SIP edge runs. `builtin`: SIP on UDP in this process; `drachtio`: drachtio-server; `off`: none. */
  TELEPHONY_EDGE: z.enum(['builtin', 'drachtio', 'off']).default('builtin'),
  TELEPHONY_SIP_HOST: z.string().default('0.0.0.0'),
  TELEPHONY_SIP_PORT: z.coerce.number().int().min(0).max(65535).default(5070),
  /** The address phones and carriers reach this node at (Via, Contact, SDP); default: the first non-internal IPv4 address. */
  TELEPHONY_PUBLIC_ADDRESS: z.string().optional(),
  /** Send RTP back to where a phone's packets come from (symmetric RTP: phones behind NAT). */
  TELEPHONY_RTP_LATCH: z.enum(['true', 'false']).default('false'),
  TELEPHONY_RTP_PORTS: z.string().regex(/^\d{4,5}-\d{4,5}$/, 'min-max, e.g. 20000-20999').default('20000-20999'),
  /** The city whose hotline the edge answers (default: the installation's only or first city). */
  TELEPHONY_CITY_ID: z.string().optional(),
  /** This node's name in call records (a restart closes its dangling records): stable across restarts; default the host name. */
  TELEPHONY_NODE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
  /** The city's recorded prompts (welcome.wav, queue-music.wav, callback-offer.wav, goodbye.wav); default: tone placeholders. */
  TELEPHONY_PROMPTS_DIR: z.string().optional(),
  /** Where the edge writes recordings before they are stored with the attachments. */
  TELEPHONY_RECORDINGS_DIR: z.string().default('./data/recordings'),
  /** Days a recording is kept when the city's settings name none (telephony.recordingRetentionDays). */
  TELEPHONY_RECORDING_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(180),
  /**
   * Speech (语音转写, docs/speech.md): which engine transcribes calls. `none`: no transcript (said so in
   * the console); `aws`: AWS Transcribe streaming; `sherpa`: sherpa-onnx on this server with
   * SHERPA_MODEL_DIR; `browser`: vosk-browser in the agent's console.
   */
  SPEECH_ENGINE: z.enum(['none', 'aws', 'sherpa', 'browser']).default('none'),
  SPEECH_LANGUAGE: z.enum(['zh-CN', 'zh-HK', 'zh-TW', 'en-US']).default('zh-CN'),
  /** Frames (20 ms) a party's audio may queue while the engine is slow or reconnecting; beyond, the oldest are dropped and counted. */
  SPEECH_MAX_QUEUED_FRAMES: z.coerce.number().int().min(10).max(30_000).default(500),
  AWS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region, e.g. cn-north-1 or ap-east-1').optional(),
  /** A Transcribe streaming endpoint other than the region's (a VPC endpoint, a proxy): https://host[:port]. */
  TRANSCRIBE_ENDPOINT: z.string().url().optional(),
  /** Explicit keys; unset: the SDK's default chain (instance role, AWS_PROFILE, web identity). Both or neither. */
  AWS_ACCESS_KEY_ID: z.string().min(16).max(128).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(16).max(128).optional(),
  AWS_SESSION_TOKEN: z.string().optional(),
  /** A streaming sherpa-onnx model directory (tokens.txt, encoder/decoder[/joiner] .onnx). */
  SHERPA_MODEL_DIR: z.string().optional(),
  SHERPA_NUM_THREADS: z.coerce.number().int().min(1).max(16).default(1),
}).refine((e) => e.HTTP_HEADERS_TIMEOUT_MS <= e.HTTP_REQUEST_TIMEOUT_MS, {
  message: 'HTTP_HEADERS_TIMEOUT_MS may not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
  path: ['HTTP_HEADERS_TIMEOUT_MS'],
}).superRefine((e, ctx) => {
  const need: Record<string, [keyof typeof e, string][]> = {
    smpp: [['SMS_SMPP_URL', 'smpp://system_id:password@host:port']],
    kannel: [['SMS_KANNEL_SENDSMS_URL', 'http://kannel:13013/cgi-bin/sendsms']],
    webhook: [['SMS_WEBHOOK_URL', 'https://sms.example.cn/send']],
  };
  for (const g of e.SMS_GATEWAYS.split(',')) {
    for (const [key, example] of need[g] ?? []) if (!e[key]) ctx.addIssue({ code: 'custom', path: [key], message: `SMS_GATEWAYS names ${g}: set ${key} (e.g. ${example})` });
  }
  if (e.SPEECH_ENGINE === 'aws' && !e.AWS_REGION) {
    ctx.addIssue({ code: 'custom', path: ['AWS_REGION'], message: 'SPEECH_ENGINE=aws: set AWS_REGION (e.g. cn-north-1)' });
  }
  if (Boolean(e.AWS_ACCESS_KEY_ID) !== Boolean(e.AWS_SECRET_ACCESS_KEY)) {
    ctx.addIssue({ code: 'custom', path: ['AWS_SECRET_ACCESS_KEY'], message: 'set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (the default credential chain)' });
  }
  if (e.SPEECH_ENGINE === 'sherpa' && !e.SHERPA_MODEL_DIR) {
    ctx.addIssue({ code: 'custom', path: ['SHERPA_MODEL_DIR'], message: 'SPEECH_ENGINE=sherpa: set SHERPA_MODEL_DIR to a streaming model directory (see docs/speech.md)' });
  }
  if (Boolean(e.RTPENGINE_CALLER_INTERFACE) !== Boolean(e.RTPENGINE_AGENT_INTERFACE)) {
    ctx.addIssue({ code: 'custom', path: ['RTPENGINE_AGENT_INTERFACE'], message: 'set both RTPENGINE_CALLER_INTERFACE and RTPENGINE_AGENT_INTERFACE, or neither' });
  }
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
  ticketNumberBlock: number;
  redisPrefix: string;
  live: { heartbeatMs: number; retentionDays: number };
  http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number; idleTimeoutMs: number; maxConnections: number };
  /** Admission control under overload (app/admission.ts); 0 turns a limit off. */
  overload: { maxEventLoopDelayMs: number; maxInFlight: number; retryAfterSeconds: number; sampleIntervalMs: number };
  /** Origins allowed to open the live feed; empty: the server's own. */
  allowedOrigins: string[];
  sms: SmsConfig;
  drachtio: DrachtioEdgeConfig;
  telephony: TelephonyConfig;
  speech: SpeechConfig;
  reports: { schedule: boolean; scheduleTime: { hour: number; minute: number }; scheduledFormats: ('html' | 'pdf' | 'xlsx')[]; chromiumPath: string | null };
  /** Citizen pages (群众端): QR codes' public address; signing key (null: kept in the database). */
  citizen: { baseUrl: string | null; linkSecret: string | null };
}

/** The drachtio edge's settings; the required ones are null until set (see requireDrachtioConfig). */
export interface DrachtioEdgeConfig {
  host: string | null;
  port: number;
  secret: string | null;
  rtpengine: { host: string | null; port: number; timeoutMs: number; interfaces: { caller: string; agent: string } | null };
  dtmfListen: { host: string; port: number } | null;
  rtpengineRecordingDir: string | null;
  inviteLimit: { perSecond: number; burst: number; exempt: string[] };
  /** Where rtpengine forks each party's RTP for live transcripts; `address` null: not set (required with a speech engine). */
  mediaFork: { address: string | null; listen: string; ports: { min: number; max: number } };
}

/** The drachtio edge's settings with every required one present. */
export type CompleteDrachtioEdgeConfig = DrachtioEdgeConfig & { host: string; secret: string; rtpengine: DrachtioEdgeConfig['rtpengine'] & { host: string } };

/**
 * Called at boot when TELEPHONY_EDGE=drachtio: stops the start with every missing setting named,
 * instead of a node that takes no calls.
 */
export function requireDrachtioConfig(config: AppConfig): CompleteDrachtioEdgeConfig {
  const d = config.drachtio;
  const missing = [
    !d.host && 'DRACHTIO_HOST (drachtio-server\'s admin address, e.g. drachtio or 10.0.0.5)',
    !d.secret && 'DRACHTIO_SECRET (the secret in drachtio.conf.xml <admin secret="…">)',
    !d.rtpengine.host && 'RTPENGINE_HOST (rtpengine\'s ng address, e.g. 10.0.0.5)',
    config.speech.engine !== 'none' && !d.mediaFork.address
      && `RTPENGINE_FORK_ADDRESS (this node's address as rtpengine reaches it: SPEECH_ENGINE=${config.speech.engine} needs the calls' audio forked here)`,
  ].filter((x): x is string => Boolean(x));
  if (missing.length) {
    throw new Error(`invalid configuration (环境变量配置错误): TELEPHONY_EDGE=drachtio needs\n${missing.map((m) => `  ${m}`).join('\n')}`);
  }
  return d as CompleteDrachtioEdgeConfig;
}

export interface TelephonyConfig {
  edge: 'builtin' | 'drachtio' | 'off';
  sipHost: string;
  sipPort: number;
  publicAddress: string | null;
  rtpPorts: { min: number; max: number };
  rtpLatch: boolean;
  cityId: string | null;
  nodeId: string;
  promptsDir: string | null;
  recordingsDir: string;
  recordingRetentionDays: number;
}

/** The speech engine and its settings (docs/speech.md). */
export interface SpeechConfig {
  engine: 'none' | 'aws' | 'sherpa' | 'browser';
  language: string;
  maxQueuedFrames: number;
  aws: { region: string | null; endpoint: string | null; credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null };
  sherpa: { modelDir: string | null; numThreads: number };
}

export interface SmsConfig {
  /** Tried in this order. */
  gateways: GatewayConfig[];
  sender: string;
  /** [start, end) in minutes after midnight, city time; null: no quiet hours. */
  quietHours: { startMinute: number; endMinute: number } | null;
  maxAttempts: number;
  expireHours: number;
  callbackBaseUrl: string | null;
}

/** Settings where an empty value (a compose file's `${X:-}`) means "not set". */
const EMPTY_IS_UNSET = /^(TELEPHONY_(PUBLIC_ADDRESS|CITY_ID|NODE_ID|PROMPTS_DIR)|AWS_.*|TRANSCRIBE_ENDPOINT|SHERPA_MODEL_DIR|SMS_SMPP_URL|SMS_KANNEL_.*|SMS_WEBHOOK_.*|SMS_CALLBACK_BASE_URL|CITIZEN_BASE_URL|CITIZEN_LINK_SECRET|REDIS_URL|ALLOWED_ORIGINS|DRACHTIO_.*|RTPENGINE_.*|CHROMIUM_PATH)$/;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = Env.safeParse(Object.fromEntries(Object.entries(env).filter(([k, v]) => !(v === '' && EMPTY_IS_UNSET.test(k)))));
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
    ticketNumberBlock: e.TICKET_NUMBER_BLOCK,
    redisPrefix: e.REDIS_PREFIX,
    live: { heartbeatMs: e.LIVE_HEARTBEAT_MS, retentionDays: e.LIVE_RETENTION_DAYS },
    http: {
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      idleTimeoutMs: e.HTTP_IDLE_TIMEOUT_MS,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
    },
    overload: {
      maxEventLoopDelayMs: e.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
      maxInFlight: e.OVERLOAD_MAX_IN_FLIGHT,
      retryAfterSeconds: e.OVERLOAD_RETRY_AFTER_SECONDS,
      sampleIntervalMs: e.OVERLOAD_SAMPLE_MS,
    },
    sms: smsConfigOf(e),
    drachtio: drachtioConfigOf(e),
    reports: {
      schedule: e.REPORTS_SCHEDULE === 'true',
      scheduleTime: { hour: Number(e.REPORTS_SCHEDULE_TIME.slice(0, 2)), minute: Number(e.REPORTS_SCHEDULE_TIME.slice(3)) },
      scheduledFormats: e.REPORTS_SCHEDULED_FORMATS.split(',') as ('html' | 'pdf' | 'xlsx')[],
      chromiumPath: e.CHROMIUM_PATH ?? null,
    },
    citizen: { baseUrl: e.CITIZEN_BASE_URL ?? null, linkSecret: e.CITIZEN_LINK_SECRET ?? null },
    telephony: {
      edge: e.TELEPHONY_EDGE,
      sipHost: e.TELEPHONY_SIP_HOST,
      sipPort: e.TELEPHONY_SIP_PORT,
      publicAddress: e.TELEPHONY_PUBLIC_ADDRESS ?? null,
      rtpPorts: { min: Number(e.TELEPHONY_RTP_PORTS.split('-')[0]), max: Number(e.TELEPHONY_RTP_PORTS.split('-')[1]) },
      rtpLatch: e.TELEPHONY_RTP_LATCH === 'true',
      cityId: e.TELEPHONY_CITY_ID ?? null,
      nodeId: e.TELEPHONY_NODE_ID ?? hostname(),
      promptsDir: e.TELEPHONY_PROMPTS_DIR ?? null,
      recordingsDir: e.TELEPHONY_RECORDINGS_DIR,
      recordingRetentionDays: e.TELEPHONY_RECORDING_RETENTION_DAYS,
    },
    speech: {
      engine: e.SPEECH_ENGINE,
      language: e.SPEECH_LANGUAGE,
      maxQueuedFrames: e.SPEECH_MAX_QUEUED_FRAMES,
      aws: {
        region: e.AWS_REGION ?? null,
        endpoint: e.TRANSCRIBE_ENDPOINT ?? null,
        credentials: e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY
          ? { accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY, ...(e.AWS_SESSION_TOKEN ? { sessionToken: e.AWS_SESSION_TOKEN } : {}) }
          : null,
      },
      sherpa: { modelDir: e.SHERPA_MODEL_DIR ?? null, numThreads: e.SHERPA_NUM_THREADS },
    },
    allowedOrigins: (e.ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim().replace(/\/$/, '')).filter(Boolean),
  };
}

function smsConfigOf(e: z.infer<typeof Env>): SmsConfig {
  const base = e.SMS_CALLBACK_BASE_URL?.replace(/\/$/, '') ?? null;
  const gateways = e.SMS_GATEWAYS.split(',').map((kind): GatewayConfig => {
    switch (kind) {
      case 'smpp': {
        const u = new URL(e.SMS_SMPP_URL!);
        return {
          kind, name: kind, url: `${u.protocol}//${u.host}`, systemId: decodeURIComponent(u.username), password: decodeURIComponent(u.password),
          systemType: e.SMS_SMPP_SYSTEM_TYPE, sourceAddr: e.SMS_SENDER, windowSize: e.SMS_SMPP_WINDOW, enquireLinkMs: e.SMS_SMPP_ENQUIRE_LINK_MS,
          submitTimeoutMs: e.SMS_SMPP_SUBMIT_TIMEOUT_MS, ratePerSecond: e.SMS_SMPP_RATE,
        };
      }
      case 'kannel':
        return {
          kind, name: kind, sendsmsUrl: e.SMS_KANNEL_SENDSMS_URL!, username: e.SMS_KANNEL_USERNAME, password: e.SMS_KANNEL_PASSWORD,
          dlrUrl: base && e.SMS_KANNEL_CALLBACK_TOKEN ? `${base}/api/v1/sms/gateways/kannel/receipt?token=${encodeURIComponent(e.SMS_KANNEL_CALLBACK_TOKEN)}` : null,
          smsc: e.SMS_KANNEL_SMSC ?? null, timeoutMs: e.SMS_KANNEL_TIMEOUT_MS, ratePerSecond: e.SMS_KANNEL_RATE, callbackToken: e.SMS_KANNEL_CALLBACK_TOKEN ?? null,
        };
      case 'webhook':
        return {
          kind, name: kind, url: e.SMS_WEBHOOK_URL!, secret: e.SMS_WEBHOOK_SECRET, signName: e.SMS_WEBHOOK_SIGN_NAME ?? null,
          timeoutMs: e.SMS_WEBHOOK_TIMEOUT_MS, ratePerSecond: e.SMS_WEBHOOK_RATE, callbackToken: e.SMS_WEBHOOK_CALLBACK_TOKEN ?? null,
        };
      default:
        return { kind: 'log', name: 'log', file: e.SMS_LOG_FILE || null, ratePerSecond: e.SMS_LOG_RATE };
    }
  });
  const minute = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const [qs, qe] = e.SMS_QUIET_HOURS ? e.SMS_QUIET_HOURS.split('-') : [];
  return {
    gateways, sender: e.SMS_SENDER, quietHours: qs && qe ? { startMinute: minute(qs), endMinute: minute(qe) } : null,
    maxAttempts: e.SMS_MAX_ATTEMPTS, expireHours: e.SMS_EXPIRE_HOURS, callbackBaseUrl: base,
  };
}

function drachtioConfigOf(e: z.infer<typeof Env>): DrachtioEdgeConfig {
  const dtmf = e.RTPENGINE_DTMF_LISTEN === 'off' ? null : /^(.*):(\d+)$/.exec(e.RTPENGINE_DTMF_LISTEN)!;
  return {
    host: e.DRACHTIO_HOST ?? null,
    port: e.DRACHTIO_PORT,
    secret: e.DRACHTIO_SECRET ?? null,
    rtpengine: {
      host: e.RTPENGINE_HOST ?? null, port: e.RTPENGINE_PORT, timeoutMs: e.RTPENGINE_TIMEOUT_MS,
      interfaces: e.RTPENGINE_CALLER_INTERFACE && e.RTPENGINE_AGENT_INTERFACE ? { caller: e.RTPENGINE_CALLER_INTERFACE, agent: e.RTPENGINE_AGENT_INTERFACE } : null,
    },
    dtmfListen: dtmf ? { host: dtmf[1], port: Number(dtmf[2]) } : null,
    rtpengineRecordingDir: e.RTPENGINE_RECORDING_DIR ?? null,
    inviteLimit: { perSecond: e.SIP_INVITE_RATE, burst: e.SIP_INVITE_BURST, exempt: e.SIP_TRUSTED_SOURCES.split(',').map((x) => x.trim()).filter(Boolean) },
    mediaFork: {
      address: e.RTPENGINE_FORK_ADDRESS ?? e.TELEPHONY_PUBLIC_ADDRESS ?? null,
      listen: e.RTPENGINE_FORK_LISTEN,
      ports: { min: Number(e.RTPENGINE_FORK_PORTS.split('-')[0]), max: Number(e.RTPENGINE_FORK_PORTS.split('-')[1]) },
    },
  };
}

/** Defaults for tests and embedded use, overridable field by field. */
export function testConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  const attachmentsDir = join(tmpdir(), `hotline-test-attachments-${process.pid}`);
  // No event-loop limit in tests: a CI machine shared by many runs is slow in bursts, and a test
  // must not get a 503 for it (tests/api/admission-control.test.ts sets it on purpose).
  return { ...loadConfig({ LOG_LEVEL: 'silent', LOAD_CITY_ON_START: 'false', ATTACHMENTS_DIR: attachmentsDir, SMS_LOG_FILE: '', REPORTS_SCHEDULE: 'false', TELEPHONY_EDGE: 'off', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' } as NodeJS.ProcessEnv), ...overrides };
}
