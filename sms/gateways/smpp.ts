/**
 * SMPP 3.4 gateway (短信网关 over an SMSC link): one bind_transceiver session that submits texts
 * and receives receipts (状态报告) and inbound texts (上行短信) as deliver_sm.
 *
 * - At most `windowSize` submit_sm wait for their resp; further parts queue in order.
 * - enquire_link every `enquireLinkMs`; one left unanswered for `submitTimeoutMs` means a dead link.
 * - After a drop, a refused bind or an SMSC unbind: reconnect after 1 s, 2 s, 4 s … 60 s at most.
 * - A submit in flight when the link goes down rejects (retryable SMPP_LINK_DOWN), never hangs.
 * - A deliver_sm is answered only after its handler finished; a handler that throws gets
 *   ESME_RX_T_APPN so the SMSC delivers it again (nothing lost).
 * - SMPP has no de-duplication of submits: `idempotent` is false.
 */
import { createHash } from 'node:crypto';
import smpp, { type PDU, type Session, type DecodedMessage } from 'smpp';
import { GatewayError, type DeliveryReceipt, type GatewayConfig, type InboundSms, type OutboundSms, type SmsGateway, type SubmitResult } from '../ports';
import { encodingOf, splitText } from '../domain/segments';
import { maskPhone } from '../../core';
import type { GatewayLogger } from './index';
import {
  DATA_CODING_GSM, DATA_CODING_UCS2, ESM_CLASS_RECEIPT, ESM_CLASS_UDHI, ESME, concatUdh, decodeUcs2, encodeGsm7, encodeUcs2,
  findConcat, gsmDecodedToAscii, hexStatus, parseReceipt, submitError,
} from './smpp-codec';

export interface SmppGatewayOptions {
  logger?: GatewayLogger;
  /** Reconnect backoff: the first wait and the ceiling (1 s and 60 s by default). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /**
   * How long the parts of a long inbound text wait for the missing ones (10 min by default). After
   * that the parts that came are handed on, the gaps marked with "…", rather than lost.
   */
  moReassemblyMs?: number;
}

type SmppConfig = Extract<GatewayConfig, { kind: 'smpp' }>;

interface Pending {
  fail(err: GatewayError): void;
}

interface MoParts {
  parts: Map<number, string>;
  total: number;
  from: string;
  to: string;
  /** The deliver_sm sequence number of the first part that came: keeps the id stable across redeliveries. */
  firstSequence: number;
  firstAt: Date;
  timer: NodeJS.Timeout;
}

const TON_UNKNOWN = 0;
const NPI_ISDN = 1;
/** Requests we answer; anything else the SMSC sends gets generic_nack / ESME_RINVCMDID (alert_notification takes no answer). */
const HANDLED_REQUESTS = new Set(['deliver_sm', 'enquire_link', 'unbind', 'alert_notification']);

export function createSmppGateway(cfg: SmppConfig, opts: SmppGatewayOptions = {}): SmsGateway {
  const log = opts.logger;
  const target = parseTarget(cfg.url);
  const where = `${target.host}:${target.port}`;
  const initialBackoff = opts.reconnect?.initialMs ?? 1000;
  const maxBackoff = opts.reconnect?.maxMs ?? 60_000;
  const moReassemblyMs = opts.moReassemblyMs ?? 10 * 60_000;

  const receiptHandlers: ((r: DeliveryReceipt) => Promise<void>)[] = [];
  const inboundHandlers: ((m: InboundSms) => Promise<void>)[] = [];

  let session: Session | null = null;
  let bound = false;
  let started = false;
  let closing = false;
  let detail = 'not started';
  let backoff = initialBackoff;
  let reconnectTimer: NodeJS.Timeout | null = null;
  /** Resolved at the first bind or the first failure to bind (start() does not wait for ever). */
  let startWaiters: (() => void)[] = [];
  /** Link-down hook of the current session (close() uses it). */
  let dropCurrent: ((reason: string, graceful: boolean) => void) | null = null;

  // The submit window: `outstanding` submit_sm without resp; waiters in arrival order.
  let outstanding = 0;
  const windowWaiters: { resolve: () => void; reject: (e: GatewayError) => void }[] = [];
  const inflight = new Set<Pending>();
  let udhRef = Math.floor(Math.random() * 256);

  const moParts = new Map<string, MoParts>();

  function notifyStart() {
    const w = startWaiters;
    startWaiters = [];
    for (const f of w) f();
  }

  function connect() {
    if (closing) return;
    const s = smpp.connect({ host: target.host, port: target.port, tls: target.tls });
    session = s;
    let down = false;
    let enquireTimer: NodeJS.Timeout | null = null;
    let enquireDeadline: NodeJS.Timeout | null = null;
    // Covers the TCP connect and the bind_resp.
    const bindTimer = setTimeout(() => linkDown(`no bind_resp within ${cfg.submitTimeoutMs} ms`, false), cfg.submitTimeoutMs);

    function linkDown(reason: string, graceful: boolean) {
      if (down) return;
      down = true;
      const wasBound = bound;
      if (session === s) {
        session = null;
        bound = false;
        dropCurrent = null;
      }
      clearTimeout(bindTimer);
      if (enquireTimer) clearInterval(enquireTimer);
      if (enquireDeadline) clearTimeout(enquireDeadline);
      detail = `not bound: ${reason}`;
      failAll(new GatewayError(`SMPP link to ${where} down (${reason})`, closing ? 'SMPP_CLOSED' : 'SMPP_LINK_DOWN', true));
      if (graceful) {
        s.close();
        setTimeout(() => s.destroy(), 2000).unref();
      } else {
        s.destroy();
      }
      if (!closing) {
        (wasBound ? log?.warn : log?.info)?.call(log, { smpp: { gateway: cfg.name, where, reason } }, 'smpp: link down, reconnecting');
        scheduleReconnect();
      }
      notifyStart();
    }
    dropCurrent = linkDown;

    s.on('connect', () => {
      s.bind_transceiver({ system_id: cfg.systemId, password: cfg.password, system_type: cfg.systemType, interface_version: 0x34 }, (resp) => {
        clearTimeout(bindTimer);
        if (down) return;
        if (resp.command_status !== 0) {
          log?.error({ smpp: { gateway: cfg.name, where, status: `0x${hexStatus(resp.command_status)}` } }, 'smpp: bind refused');
          linkDown(`bind refused (0x${hexStatus(resp.command_status)})`, true);
          return;
        }
        bound = true;
        backoff = initialBackoff;
        detail = `bound to ${where} as ${cfg.systemId}`;
        log?.info({ smpp: { gateway: cfg.name, where } }, 'smpp: bound (bind_transceiver)');
        enquireTimer = setInterval(() => {
          if (enquireDeadline) return; // the previous one is still waiting: its deadline decides
          enquireDeadline = setTimeout(() => linkDown(`no enquire_link_resp within ${cfg.submitTimeoutMs} ms`, false), cfg.submitTimeoutMs);
          const sent = s.enquire_link({}, () => {
            if (enquireDeadline) clearTimeout(enquireDeadline);
            enquireDeadline = null;
          });
          if (!sent) linkDown('socket not writable', false);
        }, cfg.enquireLinkMs);
        enquireTimer.unref();
        notifyStart();
      });
    });
    s.on('error', (e: Error) => linkDown(`error: ${e.message}`, false));
    s.on('close', () => linkDown('connection closed', false));
    s.on('unbind', (pdu: PDU) => {
      s.send(pdu.response());
      linkDown('the SMSC unbound', true);
    });
    s.on('enquire_link', (pdu: PDU) => {
      s.send(pdu.response());
    });
    s.on('deliver_sm', (pdu: PDU) => {
      void onDeliver(s, pdu);
    });
    s.on('pdu', (pdu: PDU) => {
      if (!pdu.isResponse() && !HANDLED_REQUESTS.has(pdu.command)) s.send(pdu.response({ command_status: ESME.RINVCMDID }));
    });
  }

  function scheduleReconnect() {
    if (closing || reconnectTimer) return;
    const wait = backoff;
    backoff = Math.min(backoff * 2, maxBackoff);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, wait);
    reconnectTimer.unref();
  }

  function failAll(err: GatewayError) {
    // Waiters first: the slots freed by the failing submits must not wake them.
    for (const w of windowWaiters.splice(0)) w.reject(err);
    for (const p of [...inflight]) p.fail(err);
  }

  function acquireSlot(): Promise<void> {
    if (outstanding < cfg.windowSize) {
      outstanding++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => windowWaiters.push({ resolve, reject }));
  }

  function releaseSlot() {
    const next = windowWaiters.shift();
    if (next) next.resolve(); // the slot passes on: `outstanding` stays
    else outstanding--;
  }

  /** One submit_sm on session `s`, holding a window slot until its resp, its timeout or the link's end. */
  function submitPart(s: Session, params: Record<string, unknown>): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let done = false;
      const settle = (err: GatewayError | null, id?: string) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        inflight.delete(pending);
        releaseSlot();
        if (err) reject(err);
        else resolve(id!);
      };
      const pending: Pending = { fail: (err) => settle(err) };
      const timer = setTimeout(
        () => settle(new GatewayError(`no submit_sm_resp from ${where} within ${cfg.submitTimeoutMs} ms`, 'SMPP_TIMEOUT', true)),
        cfg.submitTimeoutMs,
      );
      inflight.add(pending);
      const sent = s.submit_sm(params, (resp) => {
        if (resp.command_status === 0) settle(null, String(resp.message_id ?? ''));
        else settle(submitError(resp.command_status, resp.command));
      });
      if (!sent) settle(new GatewayError(`SMPP link to ${where} not writable`, 'SMPP_LINK_DOWN', true));
    });
  }

  async function submit(msg: OutboundSms): Promise<SubmitResult> {
    if (closing) throw new GatewayError('SMPP gateway closed', 'SMPP_CLOSED', true);
    const s = session;
    if (!bound || !s) throw new GatewayError(`SMPP ${detail}`, 'SMPP_NOT_BOUND', true);
    const encoding = encodingOf(msg.text);
    const parts = splitText(msg.text, encoding);
    const ref = parts.length > 1 ? (udhRef = (udhRef + 1) & 0xff) : null;
    const base = {
      source_addr_ton: TON_UNKNOWN, source_addr_npi: NPI_ISDN, source_addr: msg.from ?? cfg.sourceAddr ?? '',
      dest_addr_ton: TON_UNKNOWN, dest_addr_npi: NPI_ISDN, destination_addr: msg.to,
      esm_class: ref === null ? 0 : ESM_CLASS_UDHI,
      registered_delivery: msg.wantReceipt === false ? 0 : 1,
      data_coding: encoding === 'ucs2' ? DATA_CODING_UCS2 : DATA_CODING_GSM,
    };
    const sends: Promise<string>[] = [];
    try {
      for (let i = 0; i < parts.length; i++) {
        const body = encoding === 'ucs2' ? encodeUcs2(parts[i]!) : encodeGsm7(parts[i]!);
        const short_message = ref === null ? body : Buffer.concat([concatUdh(ref, parts.length, i + 1), body]);
        await acquireSlot();
        if (session !== s || !bound) {
          releaseSlot();
          throw new GatewayError(`SMPP link to ${where} down before part ${i + 1} of ${parts.length}`, 'SMPP_LINK_DOWN', true);
        }
        sends.push(submitPart(s, { ...base, short_message }));
      }
    } catch (e) {
      await Promise.allSettled(sends);
      throw e;
    }
    const settled = await Promise.allSettled(sends);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const providerMessageIds = settled.map((r) => (r as PromiseFulfilledResult<string>).value);
    return { providerMessageIds, parts: parts.length, gateway: cfg.name };
  }

  /** Answers every deliver_sm, after its handler: OK, or ESME_RX_T_APPN so that the SMSC delivers it again. */
  async function onDeliver(s: Session, pdu: PDU) {
    let status: number = ESME.ROK;
    try {
      if ((pdu.esm_class ?? 0) & ESM_CLASS_RECEIPT) await onReceiptPdu(pdu);
      else await onMoPdu(pdu);
    } catch (e) {
      status = ESME.RX_T_APPN;
      log?.warn({ smpp: { gateway: cfg.name, sequence: pdu.sequence_number }, err: e }, 'smpp: deliver_sm not taken, the SMSC will deliver it again');
    }
    s.send(pdu.response({ command_status: status }));
  }

  async function onReceiptPdu(pdu: PDU) {
    const decoded = (pdu.message_payload ?? pdu.short_message) as DecodedMessage | undefined;
    const raw = decoded?.message ?? '';
    const text = typeof raw === 'string' ? (pdu.data_coding & 0x0f) === DATA_CODING_UCS2 ? raw : gsmDecodedToAscii(raw) : raw.toString('latin1');
    const parsed = parseReceipt(text, { receiptedMessageId: pdu.receipted_message_id ?? null, messageState: pdu.message_state ?? null });
    if (!parsed) {
      log?.warn({ smpp: { gateway: cfg.name, text: text.slice(0, 120) } }, 'smpp: receipt without a message id, ignored');
      return;
    }
    if (parsed.state === null) return; // intermediate (ENROUTE/ACCEPTD): only final states count
    if (receiptHandlers.length === 0) throw new Error('no receipt handler registered');
    const receipt: DeliveryReceipt = {
      gateway: cfg.name, providerMessageId: parsed.id, state: parsed.state,
      detail: `stat:${parsed.stat}${parsed.err ? ` err:${parsed.err}` : ''}`, at: parsed.doneAt ?? new Date(),
    };
    for (const h of receiptHandlers) await h(receipt);
  }

  async function onMoPdu(pdu: PDU) {
    const decoded = (pdu.message_payload ?? pdu.short_message) as DecodedMessage | undefined;
    const text = moText(pdu.data_coding ?? 0, decoded?.message ?? '');
    const from = String(pdu.source_addr ?? '');
    const to = String(pdu.destination_addr ?? '');
    const concat = findConcat(decoded?.udh);
    if (!concat || concat.total <= 1) {
      await deliverInbound({ from, to, text, sequence: pdu.sequence_number, receivedAt: new Date(), receiptedId: pdu.receipted_message_id });
      return;
    }
    const key = `${from}|${to}|${concat.ref}|${concat.total}`;
    let entry = moParts.get(key);
    if (!entry) {
      const created: MoParts = {
        parts: new Map(), total: concat.total, from, to, firstSequence: pdu.sequence_number, firstAt: new Date(),
        timer: setTimeout(() => void expireMo(key), moReassemblyMs),
      };
      created.timer.unref();
      moParts.set(key, created);
      entry = created;
    }
    entry.parts.set(concat.seq, text);
    if (entry.parts.size < entry.total) return; // this part is held; answered OK
    const whole = [...Array(entry.total).keys()].map((i) => entry!.parts.get(i + 1) ?? '').join('');
    // A throw keeps the parts: the SMSC's redelivery of this last part completes the text again.
    await deliverInbound({ from, to, text: whole, sequence: entry.firstSequence, receivedAt: entry.firstAt });
    clearTimeout(entry.timer);
    moParts.delete(key);
  }

  async function expireMo(key: string) {
    const entry = moParts.get(key);
    if (!entry) return;
    moParts.delete(key);
    const text = [...Array(entry.total).keys()].map((i) => entry.parts.get(i + 1) ?? '…').join('');
    log?.warn({ smpp: { gateway: cfg.name, from: maskPhone(entry.from), parts: entry.parts.size, total: entry.total } }, 'smpp: long inbound text incomplete, handed on with gaps');
    try {
      await deliverInbound({ from: entry.from, to: entry.to, text, sequence: entry.firstSequence, receivedAt: entry.firstAt });
    } catch (e) {
      log?.error({ smpp: { gateway: cfg.name, from: maskPhone(entry.from) }, err: e }, 'smpp: incomplete inbound text not taken');
    }
  }

  async function deliverInbound(m: { from: string; to: string; text: string; sequence: number; receivedAt: Date; receiptedId?: string }) {
    if (inboundHandlers.length === 0) throw new Error('no inbound handler registered');
    const sms: InboundSms = {
      gateway: cfg.name, providerMessageId: m.receiptedId ? `smpp-${m.receiptedId}` : moId(m.from, m.to, m.sequence, m.receivedAt, m.text),
      from: m.from, to: m.to, text: m.text, receivedAt: m.receivedAt,
    };
    for (const h of inboundHandlers) await h(sms);
  }

  return {
    name: cfg.name,
    idempotent: false,
    async start() {
      if (started) return;
      started = true;
      closing = false;
      detail = `binding to ${where}`;
      const first = new Promise<void>((resolve) => startWaiters.push(resolve));
      connect();
      await first;
      if (!bound) log?.warn({ smpp: { gateway: cfg.name, where, detail } }, 'smpp: first bind failed, retrying in the background');
    },
    submit,
    onReceipt(h) { receiptHandlers.push(h); },
    onInbound(h) { inboundHandlers.push(h); },
    health() { return { up: bound, detail }; },
    async close() {
      if (closing) return;
      closing = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = null;
      for (const entry of moParts.values()) clearTimeout(entry.timer);
      const s = session;
      const drop = dropCurrent;
      if (s && bound) {
        // Let the submits in flight get their resp (each ends by its own timeout at worst), then unbind.
        const closedErr = new GatewayError('SMPP gateway closing', 'SMPP_CLOSED', true);
        for (const w of windowWaiters.splice(0)) w.reject(closedErr);
        const deadline = Date.now() + cfg.submitTimeoutMs;
        while (inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(cfg.submitTimeoutMs, 2000));
          if (!s.unbind({}, () => { clearTimeout(t); resolve(); })) { clearTimeout(t); resolve(); }
        });
      }
      drop?.('closed by us', true);
      detail = 'closed';
      if (s) await new Promise<void>((resolve) => {
        if (s.socket.destroyed) return resolve();
        const t = setTimeout(() => { s.destroy(); resolve(); }, 2000);
        s.socket.once('close', () => { clearTimeout(t); resolve(); });
      });
    },
  };
}

function parseTarget(url: string): { host: string; port: number; tls: boolean } {
  const u = new URL(url);
  const tls = u.protocol === 'smpps:';
  return { host: u.hostname, port: u.port ? Number(u.port) : tls ? 3550 : 2775, tls };
}

/** Text of an inbound deliver_sm by data_coding: 8 UCS2, 3 Latin-1, 1 IA5/ASCII, 0 the SMSC default (GSM 03.38). */
function moText(dataCoding: number, message: string | Buffer): string {
  const dc = dataCoding & 0x0f;
  if (Buffer.isBuffer(message)) return dc === DATA_CODING_UCS2 ? decodeUcs2(message) : message.toString('latin1');
  if (dc === 0x01) return gsmDecodedToAscii(message);
  return message;
}

/**
 * An inbound text's providerMessageId. SMPP 3.4 gives MO texts no id of their own: an SMSC that
 * sets receipted_message_id gives us one; otherwise a hash of source, destination, the deliver_sm
 * sequence number (of the first part for a long text), the China-time day and the text. A text
 * redelivered after our error resp keeps its parts' id only for a long text; a genuine repeat
 * ("1" to two surveys) gets a new sequence number and is not mistaken for a duplicate.
 */
function moId(from: string, to: string, sequence: number, at: Date, text: string): string {
  const day = new Date(at.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
  return 'smpp-mo-' + createHash('sha256').update(`${from}\n${to}\n${sequence}\n${day}\n${text}`).digest('hex').slice(0, 24);
}
