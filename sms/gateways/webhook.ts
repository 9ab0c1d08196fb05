/** Placeholder: the webhook gateway is being built (issue #10). */
import type { GatewayConfig, SmsGateway } from '../ports';
import type { GatewayLogger } from './index';

export function createWebhookGateway(cfg: Extract<GatewayConfig, { kind: 'webhook' }>, _opts: { logger?: GatewayLogger } = {}): SmsGateway {
  throw new Error(`the ${cfg.kind} gateway is not built yet`);
}
