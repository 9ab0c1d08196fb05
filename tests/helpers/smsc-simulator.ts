/**
 * A small SMSC (短信中心) for the SMPP gateway's tests and the benchmark, on the smpp package's
 * server, listening on 127.0.0.1 (port 0). It checks the bind's password, answers submit_sm with
 * ids, records every submitted text (decoded by the smpp package, long texts joined from their UDH
 * parts), sends delivery receipts and inbound texts as deliver_sm (delivered again while the ESME
 * answers an error), and has fault modes: throttling, silence, a drop with a full window, refused
 * binds, an unbind of its own.
 */
import smpp, { type PDU, type Session, type DecodedMessage } from 'smpp';
import { encodingOf, splitText } from '../../sms/domain/segments';

export interface SubmittedPart {
  session: number;
  messageId: string;
  from: string;
  to: string;
  dataCoding: number;
  esmClass: number;
  registeredDelivery: number;
  /** UDH elements as [IEI, length, ...data], empty without a UDH. */
  udh: number[][];
  concat: { ref: number; total: number; seq: number } | null;
  text: string;
  /** The command_status it was answered with; null while not answered (or never: held, dropped). */
  answered: number | null;
}

export interface SubmittedMessage {
  session: number;
  from: string;
  to: string;
  /** The whole text: the parts' texts joined in UDH order. */
  text: string;
  dataCoding: number;
  parts: SubmittedPart[];
  messageIds: string[];
  /** Every part was answered ESME_ROK. */
  readonly acknowledged: boolean;
}

export type ReceiptMode = 'delivered' | 'failed' | 'expired' | 'none';

export interface SmscMode {
  /** What the receipts say (per part, when registered_delivery asks); 'none': no receipts. */
  receipts: ReceiptMode;
  receiptDelayMs: number;
  /** Also send receipted_message_id and message_state TLVs with receipts. */
  receiptTlvs: boolean;
  /** Answer each submit_sm after this delay (lets the window fill). */
  submitDelayMs: number;
  /** Answer the next N submit_sm with ESME_RTHROTTLED. */
  throttle: number;
  /** Destination → command_status to answer (e.g. 0x0B invalid destination). */
  rejectDestinations: Record<string, number>;
  /** false: hold every submit_sm unanswered (for timeouts). */
  answerSubmits: boolean;
  answerEnquireLink: boolean;
  /** Hold submit_sm answers and, once this many wait on one session, drop its connection (one shot). */
  dropWhenOutstanding: number | null;
  /** Refuse the next N binds (ESME_RBINDFAIL). */
  refuseBinds: number;
  /** Wait before delivering again a deliver_sm the ESME answered with an error (or did not answer). */
  redeliverMs: number;
}

export interface DeliveryAttempt {
  kind: 'receipt' | 'mo';
  sequence: number;
  /** The deliver_sm_resp status; null: no answer (the link went away). */
  status: number | null;
}

export interface SmscSimulator {
  port: number;
  url: string;
  systemId: string;
  password: string;
  /** Every submitted text, in the order its last part arrived. */
  messages: SubmittedMessage[];
  /** Every submit_sm part, in arrival order. */
  parts: SubmittedPart[];
  /** deliver_sm sent and how each was answered. */
  deliveries: DeliveryAttempt[];
  stats: { bindAttempts: number; binds: number; unbinds: number; enquireLinks: number; submits: number; maxOutstanding: number; drops: number };
  mode: SmscMode;
  setMode(patch: Partial<SmscMode>): void;
  boundSessions(): number;
  /** An inbound text (上行短信) from `from` to `to`; resolves once the ESME answered ESME_ROK (redelivering meanwhile). */
  sendMo(from: string, to: string, text: string, opts?: { skipParts?: number[] }): Promise<DeliveryAttempt[]>;
  /** The SMSC unbinds every bound session itself. */
  unbindAll(): void;
  /** Cuts every connection without a word. */
  dropAll(): void;
  close(): Promise<void>;
}

const ESME_ROK = 0x00;
const ESME_RINVPASWD = 0x0e;
const ESME_RBINDFAIL = 0x0d;
const ESME_RTHROTTLED = 0x58;

const RECEIPT_STAT: Record<Exclude<ReceiptMode, 'none'>, { stat: string; err: string; state: number }> = {
  delivered: { stat: 'DELIVRD', err: '000', state: 2 },
  failed: { stat: 'UNDELIV', err: '001', state: 5 },
  expired: { stat: 'EXPIRED', err: '000', state: 3 },
};

export async function startSmscSimulator(opts: { systemId?: string; password?: string; mode?: Partial<SmscMode> } = {}): Promise<SmscSimulator> {
  const systemId = opts.systemId ?? 'hotline';
  const password = opts.password ?? 'secret';
  const mode: SmscMode = {
    receipts: 'delivered', receiptDelayMs: 0, receiptTlvs: false, submitDelayMs: 0, throttle: 0, rejectDestinations: {},
    answerSubmits: true, answerEnquireLink: true, dropWhenOutstanding: null, refuseBinds: 0, redeliverMs: 50,
    ...opts.mode,
  };
  const messages: SubmittedMessage[] = [];
  const parts: SubmittedPart[] = [];
  const deliveries: DeliveryAttempt[] = [];
  const stats = { bindAttempts: 0, binds: 0, unbinds: 0, enquireLinks: 0, submits: 0, maxOutstanding: 0, drops: 0 };
  const bound = new Map<Session, number>(); // session → its number
  const joining = new Map<string, SubmittedPart[]>();
  const timers = new Set<NodeJS.Timeout>();
  let sessionNo = 0;
  let idNo = 0;
  let closed = false;

  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!closed) f();
    }, ms);
    timers.add(t);
  };

  function record(part: SubmittedPart) {
    parts.push(part);
    if (!part.concat || part.concat.total <= 1) {
      pushMessage([part]);
      return;
    }
    const key = `${part.session}|${part.from}|${part.to}|${part.concat.ref}|${part.concat.total}`;
    const list = joining.get(key) ?? [];
    list.push(part);
    joining.set(key, list);
    if (list.length === part.concat.total) {
      joining.delete(key);
      pushMessage([...list].sort((a, b) => a.concat!.seq - b.concat!.seq));
    }
  }

  function pushMessage(ps: SubmittedPart[]) {
    messages.push({
      session: ps[0]!.session, from: ps[0]!.from, to: ps[0]!.to, dataCoding: ps[0]!.dataCoding, parts: ps,
      text: ps.map((p) => p.text).join(''),
      messageIds: ps.map((p) => p.messageId),
      get acknowledged() { return ps.every((p) => p.answered === ESME_ROK); },
    });
  }

  function currentSession(): Session | null {
    let last: Session | null = null;
    for (const s of bound.keys()) if (!s.socket.destroyed) last = s;
    return last;
  }

  /** Sends a deliver_sm until it is answered ESME_ROK (a new sequence number each time, as SMSCs do). */
  function deliver(kind: 'receipt' | 'mo', params: Record<string, unknown>): Promise<DeliveryAttempt[]> {
    const attempts: DeliveryAttempt[] = [];
    return new Promise((resolve, reject) => {
      const attempt = (n: number) => {
        if (closed) return reject(new Error('SMSC simulator closed'));
        if (n > 20) return reject(new Error(`deliver_sm (${kind}) not taken after 20 attempts`));
        const s = currentSession();
        if (!s) return later(mode.redeliverMs, () => attempt(n + 1));
        let answered = false;
        const a: DeliveryAttempt = { kind, sequence: 0, status: null };
        const noAnswer = setTimeout(() => {
          if (!answered) later(0, () => attempt(n + 1));
        }, 3000);
        noAnswer.unref();
        s.deliver_sm({ ...params }, (resp) => {
          answered = true;
          clearTimeout(noAnswer);
          a.status = resp.command_status;
          if (resp.command_status === ESME_ROK) resolve(attempts);
          else later(mode.redeliverMs, () => attempt(n + 1));
        });
        a.sequence = (s as unknown as { sequence: number }).sequence;
        attempts.push(a);
        deliveries.push(a);
      };
      attempt(1);
    });
  }

  function sendReceipt(part: SubmittedPart) {
    if (mode.receipts === 'none' || !(part.registeredDelivery & 1)) return;
    const r = RECEIPT_STAT[mode.receipts];
    const now = new Date();
    const fmt = (d: Date) => {
      const t = new Date(d.getTime() + 8 * 3600_000).toISOString(); // China time, YYMMDDhhmm
      return t.slice(2, 4) + t.slice(5, 7) + t.slice(8, 10) + t.slice(11, 13) + t.slice(14, 16);
    };
    const text = `id:${part.messageId} sub:001 dlvrd:${r.stat === 'DELIVRD' ? '001' : '000'} submit date:${fmt(now)} done date:${fmt(now)} stat:${r.stat} err:${r.err} text:`;
    const params: Record<string, unknown> = {
      source_addr: part.to, destination_addr: part.from, esm_class: 0x04, data_coding: 0, short_message: Buffer.from(text, 'ascii'),
    };
    if (mode.receiptTlvs) {
      params.receipted_message_id = part.messageId;
      params.message_state = r.state;
    }
    later(mode.receiptDelayMs, () => void deliver('receipt', params).catch(() => {}));
  }

  const server = smpp.createServer((session: Session) => {
    let no = 0;
    let outstanding = 0;
    session.on('error', () => {});
    session.socket.on('close', () => bound.delete(session));
    session.on('bind_transceiver', (pdu: PDU) => {
      stats.bindAttempts++;
      if (mode.refuseBinds > 0) {
        mode.refuseBinds--;
        session.send(pdu.response({ command_status: ESME_RBINDFAIL }));
        return;
      }
      if (pdu.system_id !== systemId || pdu.password !== password) {
        session.send(pdu.response({ command_status: ESME_RINVPASWD }));
        return;
      }
      no = ++sessionNo;
      bound.set(session, no);
      stats.binds++;
      session.send(pdu.response({ system_id: 'SIMSMSC' }));
    });
    session.on('enquire_link', (pdu: PDU) => {
      stats.enquireLinks++;
      if (mode.answerEnquireLink) session.send(pdu.response());
    });
    session.on('unbind', (pdu: PDU) => {
      stats.unbinds++;
      bound.delete(session);
      session.send(pdu.response());
      session.close();
    });
    session.on('submit_sm', (pdu: PDU) => {
      stats.submits++;
      if (!bound.has(session)) {
        session.send(pdu.response({ command_status: 0x04 })); // ESME_RINVBNDSTS
        return;
      }
      const sm = pdu.short_message as DecodedMessage;
      const udh = (sm.udh ?? []).map((b) => [...b]);
      const c = udh.find((e) => e[0] === 0x00 && e[1] === 3);
      const part: SubmittedPart = {
        session: no, messageId: (++idNo).toString(16).padStart(8, '0'), from: pdu.source_addr, to: pdu.destination_addr,
        dataCoding: pdu.data_coding, esmClass: pdu.esm_class, registeredDelivery: pdu.registered_delivery, udh,
        concat: c ? { ref: c[2]!, total: c[3]!, seq: c[4]! } : null,
        text: typeof sm.message === 'string' ? sm.message : sm.message.toString('hex'), answered: null,
      };
      record(part);
      outstanding++;
      stats.maxOutstanding = Math.max(stats.maxOutstanding, outstanding);

      if (mode.dropWhenOutstanding !== null) {
        if (outstanding >= mode.dropWhenOutstanding) {
          mode.dropWhenOutstanding = null;
          stats.drops++;
          session.destroy();
        }
        return; // held: never answered
      }
      if (!mode.answerSubmits) return;
      let status = ESME_ROK;
      if (mode.throttle > 0) {
        mode.throttle--;
        status = ESME_RTHROTTLED;
      } else if (mode.rejectDestinations[part.to] !== undefined) {
        status = mode.rejectDestinations[part.to]!;
      }
      const answer = () => {
        if (session.socket.destroyed) return;
        outstanding--;
        part.answered = status;
        session.send(status === ESME_ROK ? pdu.response({ message_id: part.messageId }) : pdu.response({ command_status: status }));
        if (status === ESME_ROK) sendReceipt(part);
      };
      if (mode.submitDelayMs > 0) later(mode.submitDelayMs, answer);
      else answer();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;

  let moRef = 0;
  return {
    port, url: `smpp://127.0.0.1:${port}`, systemId, password, messages, parts, deliveries, stats, mode,
    setMode(patch) { Object.assign(mode, patch); },
    boundSessions() { return [...bound.keys()].filter((s) => !s.socket.destroyed).length; },
    async sendMo(from, to, text, moOpts = {}) {
      // The smpp package encodes: data_coding 8 as UCS2, 0 with the GSM table; `udh` includes its length byte.
      const ucs2 = encodingOf(text) === 'ucs2';
      const pieces = splitText(text);
      const ref = (moRef = (moRef + 1) & 0xff);
      const all: DeliveryAttempt[] = [];
      for (let i = 0; i < pieces.length; i++) {
        if (moOpts.skipParts?.includes(i + 1)) continue; // a part lost on the way
        const message = pieces.length === 1 ? pieces[i]! : { udh: Buffer.from([0x05, 0x00, 0x03, ref, pieces.length, i + 1]), message: pieces[i]! };
        all.push(...(await deliver('mo', { source_addr: from, destination_addr: to, esm_class: 0, data_coding: ucs2 ? 8 : 0, short_message: message })));
      }
      return all;
    },
    unbindAll() {
      for (const s of bound.keys()) {
        bound.delete(s);
        s.unbind({}, () => s.close());
      }
    },
    dropAll() {
      for (const s of [...server.sessions]) s.destroy();
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      for (const s of [...server.sessions]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
