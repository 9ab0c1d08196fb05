/**
 * The gateways behind the SMS port, and the two wrappers every configuration gets: a rate limit per
 * gateway and failover down the configured list.
 */
import type { GatewayConfig, SmsGateway } from '../ports';
import { createFailoverGateway, withRateLimit, type FailoverGateway } from './failover';
import { createLogGateway } from './log';
import { createSmppGateway } from './smpp';
import { createKannelGateway } from './kannel';
import { createWebhookGateway } from './webhook';

export { createLogGateway } from './log';
export { createSmppGateway } from './smpp';
export { createKannelGateway } from './kannel';
export { createWebhookGateway } from './webhook';
export { withRateLimit, createFailoverGateway, type FailoverGateway } from './failover';

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

/**
 * The configured gateways (SMS_GATEWAYS, in order), each under its own rate limit, behind one
 * failover wrapper (also with a single gateway: the result then names it). Not yet started.
 */
export function createGatewaysFromConfig(configs: GatewayConfig[], opts: { logger?: GatewayLogger } = {}): FailoverGateway {
  return createFailoverGateway(configs.map((cfg) => withRateLimit(createGateway(cfg, opts), cfg.ratePerSecond)));
}
