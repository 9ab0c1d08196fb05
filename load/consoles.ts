/**
 * Console clients on the live WebSocket (实时推送): each keeps every event number it got, counts
 * duplicates and gaps, and when its link drops (its node killed) reconnects to the next node with
 * `?after=<last seq>`, as the console does, so the comparison at the end shows whether it caught up.
 */
import WebSocket from 'ws';
import { sleep } from './cluster';

export interface ConsoleUser {
  username: string;
  cookie: string;
  viewer: { id: string; role: string; cityId: string; unitId: string | null; territoryPath: string | null };
}

export class ConsoleClient {
  /** seq → how many times it arrived. */
  readonly got = new Map<number, number>();
  /** Frames that reached this console, for the masking check (units must never see a full phone number). */
  readonly phoneLeaks: string[] = [];
  position = 0;
  /** The position when the client first synced: events after it are what it must get. */
  startPosition: number | null = null;
  reconnects = 0;
  nodesSeen = new Set<number>();
  outOfOrder = 0;
  private ws: WebSocket | null = null;
  private stopped = false;
  private node: number;

  constructor(readonly user: ConsoleUser, readonly wsBases: string[], startNode: number, readonly watchPhones: boolean) {
    this.node = startNode;
  }

  start(): Promise<void> {
    return new Promise((resolve) => this.connect(resolve));
  }

  private connect(onSynced?: () => void) {
    if (this.stopped) return;
    const k = this.node;
    const url = `${this.wsBases[k]}/api/v1/live${this.startPosition !== null ? `?after=${this.position}` : ''}`;
    const ws = new WebSocket(url, { headers: { cookie: this.user.cookie } });
    this.ws = ws;
    let opened = false;
    ws.on('open', () => {
      opened = true;
      this.nodesSeen.add(k);
    });
    ws.on('message', (raw) => {
      const text = raw.toString();
      let m: any;
      try {
        m = JSON.parse(text);
      } catch {
        return;
      }
      if (typeof m.seq === 'number') {
        this.got.set(m.seq, (this.got.get(m.seq) ?? 0) + 1);
        if (m.seq < this.position) this.outOfOrder++;
        this.position = Math.max(this.position, m.seq);
        if (this.watchPhones && /(?<!\d)139\d{8}(?!\d)/.test(text)) this.phoneLeaks.push(text.slice(0, 200));
      }
      if ((m.type === 'hello' || m.type === 'synced') && typeof m.lastSeq === 'number') {
        if (this.startPosition === null) {
          this.startPosition = m.lastSeq;
          this.position = Math.max(this.position, m.lastSeq);
        }
      }
      if (m.type === 'synced' && onSynced) {
        const f = onSynced;
        onSynced = undefined;
        f();
      }
    });
    const retry = () => {
      if (this.stopped || this.ws !== ws) return;
      this.ws = null;
      this.reconnects++;
      this.node = (this.node + 1) % this.wsBases.length; // another node, as a balancer would pick
      void sleep(opened ? 300 : 1000).then(() => this.connect(onSynced));
    };
    ws.on('close', retry);
    ws.on('error', () => {
      /* close follows */
    });
    ws.on('unexpected-response', () => {
      ws.terminate();
    });
  }

  async stop() {
    this.stopped = true;
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState === WebSocket.OPEN) {
      const closed = new Promise((r) => ws.once('close', r));
      ws.close();
      await Promise.race([closed, sleep(2000)]);
    } else ws?.terminate();
  }
}
