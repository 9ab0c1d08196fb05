/**
 * The console's one live connection (实时连接) to GET /api/v1/live, authenticated by the same-origin
 * session cookie (protocol: live/live.protocol.ts). Events are `{seq, type, at, data}`; the hub
 * greets with `{type:'hello', lastSeq, gap, heartbeatMs}`, says `{type:'synced', lastSeq}` after the
 * catch-up, and pings every `heartbeatMs`.
 *
 * - The last seq seen is kept; a reconnect asks for `?after=<lastSeq>` so the hub replays what was
 *   missed, and seqs at or below it are ignored (a replay may overlap what already arrived).
 * - Reconnects back off (1 s, 2 s, 4 s … 30 s, with jitter) and restart at once when the browser
 *   comes back online. The browser going offline drops the link at once (重连中 in the header within
 *   a second, not after the heartbeat): a socket over a dead network is not closed by the browser.
 * - A silent link is probed: after `probeMs` (the hub's heartbeat, at most 5 s) without a frame the
 *   client pings, and with no frame for two probe periods the link is taken as dead and redialled —
 *   ~11 s, where waiting for two of the hub's 25 s heartbeats took almost a minute.
 * - After every reconnect `onResync` runs so that views refetch (Chatwoot's ReconnectService):
 *   nothing is lost even if the hub could not replay (`gap`).
 * - Close 4401 (session ended) asks `onAuthLost`; 4403 (origin refused) stops retrying.
 */
import { ref, type Ref } from 'vue';

export type LiveState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface LiveMessage {
  seq?: number;
  type: string;
  at?: string;
  data?: unknown;
  lastSeq?: number;
  [k: string]: unknown;
}

export interface LiveConnectionOptions {
  url?: (after: number | null) => string;
  onMessage: (msg: LiveMessage) => void;
  /** A binary frame (a direct message such as call audio for the browser speech engine). */
  onBinary?: (data: ArrayBuffer) => void;
  onHello?: (hello: LiveMessage, reconnect: boolean) => void;
  onResync?: () => void;
  /** Called after a few failed attempts in a row: the session may have ended. */
  onRepeatedFailure?: () => void;
  /** The hub closed with 4401: the session ended. */
  onAuthLost?: () => void;
  WebSocketImpl?: typeof WebSocket;
}

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
const CLOSE_AUTH = 4401;
const CLOSE_ORIGIN = 4403;
/** The longest silence before the client pings the hub itself (its pong is a frame). */
const PROBE_MS = 5000;
/** After this many failed attempts in a row the header says 已断开 (still retrying). */
const FAILURES_BEFORE_DISCONNECTED = 4;

function defaultUrl(after: number | null) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/api/v1/live${after !== null ? `?after=${after}` : ''}`;
}

export class LiveConnection {
  readonly state: Ref<LiveState> = ref('disconnected');
  /** The highest seq applied; null before the first hello. */
  lastSeq: number | null = null;
  private ws: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private wanted = false;
  private everConnected = false;
  private greeted = false;
  private outbox: string[] = [];
  private heartbeatMs = 0;
  private lastFrameAt = 0;
  private probedAt = 0;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private readonly online = () => {
    if (this.wanted && this.state.value !== 'connected') this.connectNow();
  };
  private readonly offline = () => {
    if (!this.wanted) return;
    // No network: whatever the socket says, nothing will arrive. Say so now and wait for `online`
    // (the retries keep running, in case the browser's idea of the network is wrong).
    this.dropSocket();
    this.stopWatchdog();
    this.scheduleRetry();
  };

  constructor(private readonly opts: LiveConnectionOptions) {}

  start() {
    if (this.wanted) return;
    this.wanted = true;
    this.failures = 0;
    window.addEventListener('online', this.online);
    window.addEventListener('offline', this.offline);
    this.open();
  }

  stop() {
    this.wanted = false;
    window.removeEventListener('online', this.online);
    window.removeEventListener('offline', this.offline);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000, 'logout');
      } catch {
        /* already closed */
      }
    }
    this.stopWatchdog();
    this.state.value = 'disconnected';
    this.lastSeq = null;
    this.everConnected = false;
    this.outbox = [];
  }

  /** Sends a message now, or as soon as the hub has greeted us. */
  send(msg: Record<string, unknown>) {
    const text = JSON.stringify(msg);
    if (this.ws && this.greeted && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
    else this.outbox.push(text);
  }

  /** Drops the connection and reconnects at once (e.g. from a "reconnect" button). */
  connectNow() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.dropSocket();
    this.open();
  }

  private dropSocket() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.greeted = false;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close();
    } catch {
      /* ignore */
    }
  }

  private open() {
    if (!this.wanted) return;
    const Impl = this.opts.WebSocketImpl ?? WebSocket;
    this.state.value = this.everConnected || this.failures > 0 ? (this.failures >= FAILURES_BEFORE_DISCONNECTED ? 'disconnected' : 'reconnecting') : 'connecting';
    this.greeted = false;
    let ws: WebSocket;
    try {
      ws = new Impl((this.opts.url ?? defaultUrl)(this.lastSeq));
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.greeted = false;
      this.stopWatchdog();
      if (!this.wanted) return;
      if (ev.code === CLOSE_ORIGIN) {
        this.state.value = 'disconnected';
        return;
      }
      if (ev.code === CLOSE_AUTH) this.opts.onAuthLost?.();
      this.scheduleRetry();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private scheduleRetry() {
    this.failures++;
    this.state.value = this.failures >= FAILURES_BEFORE_DISCONNECTED ? 'disconnected' : 'reconnecting';
    if (this.failures % FAILURES_BEFORE_DISCONNECTED === 0) this.opts.onRepeatedFailure?.();
    const base = BACKOFF_MS[Math.min(this.failures - 1, BACKOFF_MS.length - 1)];
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.open();
    }, delay);
  }

  private startWatchdog() {
    this.stopWatchdog();
    if (!this.heartbeatMs) return;
    const probeMs = Math.min(this.heartbeatMs, PROBE_MS);
    this.watchdog = setInterval(() => {
      if (!this.ws) return;
      const silence = Date.now() - this.lastFrameAt;
      if (silence > 2 * probeMs + 1000) {
        // The link died without a close (a sleeping laptop, a dropped NAT entry, a pulled cable): redial.
        this.connectNow();
        return;
      }
      if (silence > probeMs && this.probedAt < this.lastFrameAt && this.ws.readyState === WebSocket.OPEN) {
        // Ask for a frame (the hub answers a ping with a pong) rather than wait for its heartbeat.
        this.probedAt = Date.now();
        this.ws.send(JSON.stringify({ type: 'ping' }));
      }
    }, Math.max(250, Math.min(1000, Math.floor(probeMs / 2))));
  }

  private stopWatchdog() {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  private receive(raw: unknown) {
    this.lastFrameAt = Date.now();
    if (raw instanceof ArrayBuffer) return this.opts.onBinary?.(raw);
    if (typeof raw !== 'string') return;
    let msg: LiveMessage;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (!msg || typeof msg.type !== 'string') return;
    if (msg.type === 'hello') {
      const reconnect = this.everConnected;
      const hubLast = typeof msg.lastSeq === 'number' ? msg.lastSeq : null;
      // First contact starts from the hub's present; a hub that restarted (its seq went back) starts over.
      if (this.lastSeq === null || (hubLast !== null && hubLast < this.lastSeq)) this.lastSeq = hubLast;
      this.greeted = true;
      this.everConnected = true;
      this.failures = 0;
      this.state.value = 'connected';
      this.heartbeatMs = typeof msg.heartbeatMs === 'number' && msg.heartbeatMs > 0 ? msg.heartbeatMs : 0;
      this.startWatchdog();
      this.opts.onHello?.(msg, reconnect);
      for (const text of this.outbox.splice(0)) this.ws?.send(text);
      if (reconnect || msg.gap === true) this.opts.onResync?.();
      return;
    }
    if (msg.type === 'synced') {
      // Events this user may not see still take numbers: resume after the hub's high-water mark.
      if (typeof msg.lastSeq === 'number' && (this.lastSeq === null || msg.lastSeq > this.lastSeq)) this.lastSeq = msg.lastSeq;
      return;
    }
    if (msg.type === 'ping') {
      this.ws?.send(JSON.stringify({ type: 'pong' }));
      return;
    }
    if (msg.type === 'pong' || msg.type === 'error') return;
    if (typeof msg.seq === 'number') {
      if (this.lastSeq !== null && msg.seq <= this.lastSeq) return; // already seen
      this.lastSeq = msg.seq;
    }
    this.opts.onMessage(msg);
  }
}
