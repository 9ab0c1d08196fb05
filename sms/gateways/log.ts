/**
 * The embedded default: texts are written as JSON lines to a file (or only to the log), never sent.
 * Each text is "delivered" at once, so the rest of the product behaves as with a real gateway; the
 * console says plainly that no SMS leaves this installation.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DeliveryReceipt, GatewayConfig, InboundSms, OutboundSms, SmsGateway, SubmitResult } from '../ports';
import { planSegments } from '../domain/segments';
import { maskPhone } from '../../core';
import type { GatewayLogger } from './index';

export function createLogGateway(cfg: Extract<GatewayConfig, { kind: 'log' }>, opts: { logger?: GatewayLogger } = {}): SmsGateway {
  const receiptHandlers: ((r: DeliveryReceipt) => Promise<void>)[] = [];
  let seq = 0;
  return {
    name: cfg.name,
    idempotent: true,
    async start() {
      if (cfg.file) await mkdir(dirname(cfg.file), { recursive: true });
    },
    async submit(msg: OutboundSms): Promise<SubmitResult> {
      const plan = planSegments(msg.text);
      const providerMessageId = `log-${msg.id}`;
      if (cfg.file) await appendFile(cfg.file, JSON.stringify({ id: msg.id, to: msg.to, from: msg.from, text: msg.text, parts: plan.parts, at: new Date().toISOString() }) + '\n');
      opts.logger?.info({ sms: { id: msg.id, to: maskPhone(msg.to), parts: plan.parts, seq: ++seq } }, 'sms (log gateway): not sent, written to the log');
      if (msg.wantReceipt !== false) {
        const receipt: DeliveryReceipt = { gateway: cfg.name, providerMessageId, state: 'delivered', detail: 'log gateway', at: new Date() };
        // After the caller recorded the submit (a receipt for an id not yet stored would be dropped).
        setTimeout(() => { for (const h of receiptHandlers) void h(receipt).catch(() => {}); }, 50).unref();
      }
      return { providerMessageIds: [providerMessageId], parts: plan.parts, gateway: cfg.name };
    },
    onReceipt(h) { receiptHandlers.push(h); },
    onInbound(_h: (m: InboundSms) => Promise<void>) { /* nothing arrives through a log */ },
    health() { return { up: true, detail: cfg.file ? `log: ${cfg.file}` : 'log only' }; },
    async close() {},
  };
}
