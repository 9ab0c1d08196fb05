/** Placeholder: rate limits and failover are being built (issue #10). */
import type { SmsGateway } from '../ports';

/** Holds submits to `ratePerSecond` (a token bucket); the rest of the gateway passes through. */
export function withRateLimit(gateway: SmsGateway, _ratePerSecond: number): SmsGateway {
  return gateway;
}

/** Tries the gateways in order: a retryable failure (or a link that is down) moves to the next. */
export function createFailoverGateway(gateways: SmsGateway[]): SmsGateway {
  return gateways[0]!;
}
