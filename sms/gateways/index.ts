/**
 * The gateways behind the SMS port, and the two wrappers every configuration gets: a rate limit per
 * gateway and failover down the configured list.
 */
import type { GatewayConfig, SmsGateway } from '../ports';
import { createLogGateway } from './log';
import { createSmppGateway } from './smpp';
import { createKannelGateway } from './kannel';
import { createWebhookGateway } from './webhook';

export { createLogGateway } from './log';
export { createSmppGateway } from './smpp';
export { createKannelGateway } from './kannel';
export { createWebhookGateway } from './webhook';
export { withRateLimit, createFailoverGateway } from './failover';

export interface GatewayLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** One gateway from its configuration (not yet started). */
export function createGateway(cfg: GatewayConfig, opts: { logger?: GatewayLogger } = {}): SmsGateway {
  switch (cfg.kind) {
    case 'log': return createLogGateway(cfg, opts);
    case 'smpp': return createSmppGateway(cfg, opts);
    case 'kannel': return createKannelGateway(cfg, opts);
    case 'webhook': return createWebhookGateway(cfg, opts);
  }
}
