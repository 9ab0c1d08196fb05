/**
 * The two wrappers every configuration gets: a rate limit per gateway (operators cap the submits
 * per second of an account) and failover down the configured list (主备网关).
 */
import { GatewayError, type OutboundSms, type SmsGateway, type SubmitResult } from '../ports';
import { planSegments } from '../domain/segments';

/**
 * Holds submits to `ratePerSecond` parts (a token bucket that holds one second's worth): a long
 * text takes one token per part, the bucket may go into debt for it, and submits leave in the order
 * they came. Everything else passes through to the gateway.
 */
export function withRateLimit(gateway: SmsGateway, ratePerSecond: number): SmsGateway {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) return gateway;
  const capacity = Math.max(1, ratePerSecond);
  let tokens = capacity;
  let last = Date.now();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const queue: { cost: number; resolve: () => void; reject: (e: GatewayError) => void }[] = [];

  function refill() {
    const now = Date.now();
    tokens = Math.min(capacity, tokens + ((now - last) / 1000) * ratePerSecond);
    last = now;
  }

  function pump() {
    timer = null;
    refill();
    while (queue.length > 0 && tokens >= 1) {
      const head = queue.shift()!;
      tokens -= head.cost;
      head.resolve();
    }
    if (queue.length > 0) {
      timer = setTimeout(pump, Math.max(1, Math.ceil(((1 - tokens) / ratePerSecond) * 1000)));
    }
  }

  function take(cost: number): Promise<void> {
    if (closed) return Promise.reject(new GatewayError(`${gateway.name}: closed`, 'SMS_GATEWAY_CLOSED', true));
    return new Promise((resolve, reject) => {
      queue.push({ cost, resolve, reject });
      if (!timer) pump();
    });
  }

  const limited: SmsGateway = {
    name: gateway.name,
    idempotent: gateway.idempotent,
    start: () => {
      closed = false;
      return gateway.start();
    },
    async submit(msg: OutboundSms): Promise<SubmitResult> {
      await take(Math.max(1, planSegments(msg.text).parts));
      return gateway.submit(msg);
    },
    onReceipt: (h) => gateway.onReceipt(h),
    onInbound: (h) => gateway.onInbound(h),
    health: () => gateway.health(),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const err = new GatewayError(`${gateway.name}: closed`, 'SMS_GATEWAY_CLOSED', true);
      for (const w of queue.splice(0)) w.reject(err);
      await gateway.close();
    },
  };
  if (gateway.parseCallback) limited.parseCallback = gateway.parseCallback.bind(gateway);
  return limited;
}

export interface FailoverGateway extends SmsGateway {
  /** The gateways in order, for routing an HTTP callback to the one it belongs to. */
  readonly members: readonly SmsGateway[];
}

/**
 * Tries the gateways in order. A retryable failure, or a gateway whose health is down, moves to the
 * next; a non-retryable failure (the operator refused this message) is thrown at once, as another
 * gateway would refuse it too. The result's `gateway` names the one that took it.
 */
export function createFailoverGateway(gateways: SmsGateway[]): FailoverGateway {
  if (gateways.length === 0) throw new Error('createFailoverGateway: no gateway');
  const name = gateways.map((g) => g.name).join(',');
  return {
    name,
    idempotent: gateways.every((g) => g.idempotent),
    members: gateways,
    async start() {
      await Promise.all(gateways.map((g) => g.start()));
    },
    async submit(msg: OutboundSms): Promise<SubmitResult> {
      const reasons: string[] = [];
      let last: GatewayError | null = null;
      for (const g of gateways) {
        const h = g.health();
        if (!h.up) {
          reasons.push(`${g.name}: down${h.detail ? ` (${h.detail})` : ''}`);
          last ??= new GatewayError(`${g.name} is down`, 'SMS_GATEWAY_DOWN', true);
          continue;
        }
        try {
          const r = await g.submit(msg);
          return { ...r, gateway: g.name };
        } catch (e) {
          if (!(e instanceof GatewayError) || !e.retryable) throw e;
          reasons.push(`${g.name}: ${e.code}`);
          last = e;
        }
      }
      if (gateways.length === 1 && last) throw last;
      throw new GatewayError(`no gateway took the text (${reasons.join('; ')})`, last?.code ?? 'SMS_GATEWAY_DOWN', true);
    },
    onReceipt(h) { for (const g of gateways) g.onReceipt(h); },
    onInbound(h) { for (const g of gateways) g.onInbound(h); },
    health() {
      const states = gateways.map((g) => ({ g, h: g.health() }));
      return { up: states.some((s) => s.h.up), detail: states.map((s) => `${s.g.name}: ${s.h.up ? 'up' : 'down'}${s.h.detail ? ` (${s.h.detail})` : ''}`).join('; ') };
    },
    async close() {
      await Promise.allSettled(gateways.map((g) => g.close()));
    },
  };
}
