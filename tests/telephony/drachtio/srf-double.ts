/**
 * A request/response double of drachtio-srf, for the drachtio edge's tests where no drachtio-server
 * runs (it is on neither npm nor Debian). It plays drachtio-server's part: it hands the edge
 * requests, records the responses the edge sends, and stands in for createUAS/createUAC the way
 * drachtio-srf behaves (a locally destroyed dialog emits nothing; a remote BYE emits `destroy`; a
 * cancelled UAC rejects with 487). The media side of these tests is a real rtpengine.
 */
import { EventEmitter } from 'node:events';
import type Srf from 'drachtio-srf';
import type { SrfLike } from '../../../telephony/edges/drachtio/drachtio-edge';

type Handler = (req: Srf.SrfRequest, res: Srf.SrfResponse, next: () => void) => void;

export class FakeRequest extends EventEmitter {
  readonly headers: Record<string, string>;
  cancelled = false;
  constructor(
    readonly method: string,
    readonly uri: string,
    headers: Record<string, string>,
    readonly body = '',
    readonly source_address = '198.51.100.7',
    readonly source_port = '5060',
  ) {
    super();
    this.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  }
  get(name: string): string | undefined { return this.headers[name.toLowerCase()]; }
  has(name: string): boolean { return name.toLowerCase() in this.headers; }
  cancel(cb?: () => void): void { this.cancelled = true; this.emit('cancelled-by-app'); cb?.(); }
}

export class FakeResponse {
  readonly sent: { status: number; headers: Record<string, string>; body?: string }[] = [];
  private finished = false;
  get finalResponseSent(): boolean { return this.finished; }
  send(status: number, opts: { headers?: Record<string, string>; body?: string } = {}): void {
    if (this.finished) return;
    this.sent.push({ status, headers: opts.headers ?? {}, body: opts.body });
    if (status >= 200) this.finished = true;
  }
  get last() { return this.sent[this.sent.length - 1]; }
}

export class FakeDialog extends EventEmitter {
  destroyed = false;
  constructor(readonly local: { sdp: string }, readonly remote: { sdp: string }) { super(); }
  destroy(): void { this.destroyed = true; }
  /** A re-INVITE from the far end, as drachtio-srf hands it over (remote SDP already updated). */
  remoteReinvite(sdp: string): FakeResponse {
    const res = new FakeResponse();
    this.remote.sdp = sdp;
    this.emit('modify', new FakeRequest('INVITE', 'sip:hotline', {}, sdp), res);
    return res;
  }
  /** The far end hangs up (BYE from the network). */
  remoteBye(): void { this.emit('destroy', {}); }
}

export interface PendingUac {
  uri: string;
  opts: Srf.CreateUACOptions;
  req: FakeRequest;
  ring(): void;
  answer(sdp: string): FakeDialog;
  fail(status: number): void;
}

export class FakeSrf extends EventEmitter implements SrfLike {
  readonly handlers = new Map<string, Handler>();
  readonly uacs: PendingUac[] = [];
  /** The caller-side dialogs createUAS made, in order. */
  readonly uasDialogs: FakeDialog[] = [];
  connectedWith: { host: string; port: number; secret: string } | null = null;
  disconnected = false;
  /** What `connect` answers: an error models drachtio-server refusing the secret. */
  constructor(private readonly connectError: Error | null = null) { super(); }

  connect(opts: { host: string; port: number; secret: string }): void {
    this.connectedWith = opts;
    setImmediate(() => this.emit('connect', this.connectError, this.connectError ? undefined : 'udp/127.0.0.1:5060'));
  }
  disconnect(): void { this.disconnected = true; }
  invite(handler: (req: Srf.SrfRequest, res: Srf.SrfResponse) => void): void { this.handlers.set('invite', handler); }
  use(method: string, handler: Handler): void { this.handlers.set(method, handler); }

  /** The network sends a request (as drachtio-server would pass it to the app). */
  deliver(req: FakeRequest): FakeResponse {
    const res = new FakeResponse();
    const h = this.handlers.get(req.method.toLowerCase());
    if (!h) throw new Error(`no handler for ${req.method}`);
    h(req as unknown as Srf.SrfRequest, res as unknown as Srf.SrfResponse, () => {});
    return res;
  }

  async createUAS(_req: Srf.SrfRequest, res: Srf.SrfResponse, opts: Srf.CreateUASOptions): Promise<Srf.Dialog> {
    (res as unknown as FakeResponse).send(200, { body: opts.localSdp });
    const d = new FakeDialog({ sdp: opts.localSdp }, { sdp: (_req as unknown as FakeRequest).body });
    this.uasDialogs.push(d);
    return d as unknown as Srf.Dialog;
  }

  createUAC(uri: string, opts: Srf.CreateUACOptions, progress: { cbRequest?: (req: Srf.SrfRequest) => void; cbProvisional?: (res: Srf.SrfResponse) => void }): Promise<Srf.Dialog> {
    return new Promise((resolve, reject) => {
      const req = new FakeRequest('INVITE', uri, opts.headers ?? {}, opts.localSdp ?? '');
      let done = false;
      // drachtio-server answers our CANCEL and the phone's INVITE transaction ends with 487.
      req.on('cancelled-by-app', () => { if (!done) { done = true; reject(Object.assign(new Error('487'), { status: 487 })); } });
      const pending: PendingUac = {
        uri, opts, req,
        ring: () => progress.cbProvisional?.({ status: 180 } as unknown as Srf.SrfResponse),
        answer: (sdp) => { const d = new FakeDialog({ sdp: opts.localSdp ?? '' }, { sdp }); if (!done) { done = true; resolve(d as unknown as Srf.Dialog); } return d; },
        fail: (status) => { if (!done) { done = true; reject(Object.assign(new Error(String(status)), { status })); } },
      };
      this.uacs.push(pending);
      progress.cbRequest?.(req as unknown as Srf.SrfRequest);
    });
  }
}
