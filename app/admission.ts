import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** When this node stops admitting new requests (0 turns a limit off). See OVERLOAD_* in app/config.ts. */
export interface AdmissionLimits {
  /** Mean event-loop delay over the last sample window, in ms. */
  maxEventLoopDelayMs: number;
  /** Requests being handled at once (WebSocket links and health checks are not counted). */
  maxInFlight: number;
  retryAfterSeconds: number;
  sampleIntervalMs: number;
}

export type OverloadReason = 'event_loop_delay' | 'in_flight';

export interface AdmissionState {
  eventLoopDelayMs: number;
  inFlight: number;
  overloaded: OverloadReason | null;
}

/** The node's admission state; `sample()` reads the event-loop delay now (the timer does it every window). */
export interface AdmissionControl {
  state(): AdmissionState;
  sample(): AdmissionState;
}

declare module 'fastify' {
  interface FastifyInstance {
    admission: AdmissionControl;
  }
}

/** The histogram's own timer period: its samples are at least this late even when idle. */
const RESOLUTION_MS = 10;

/** Answers that must go on when the node is busy: health checks (the balancer's probe) and the live feed's WebSocket. */
const isExempt = (request: FastifyRequest) => {
  const path = request.url.split('?')[0];
  return path === '/healthz' || request.headers.upgrade?.toLowerCase() === 'websocket';
};

/**
 * Admission control (过载保护): when this node is overloaded — the event loop runs late, or too
 * many requests are in hand — a new request is answered at once with 503, `Retry-After` and a
 * zh+en body (SERVER_OVERLOADED), before authentication or any database work, instead of queueing
 * behind the backlog until its client gives up. A balancer sends the retry to another node.
 * Health checks and the live feed's WebSocket (its upgrade and its heartbeats, which are frames,
 * not requests) are let through: a busy node must not look dead, nor drop its consoles.
 *
 * Written here because @fastify/under-pressure is not among the dependencies; the event-loop
 * delay comes from node:perf_hooks monitorEventLoopDelay, like that plugin's.
 */
export function registerAdmissionControl(app: FastifyInstance, limits: AdmissionLimits): AdmissionControl {
  let inFlight = 0;
  let eventLoopDelayMs = 0;
  let reported: OverloadReason | null = null;
  const histogram = limits.maxEventLoopDelayMs > 0 ? monitorEventLoopDelay({ resolution: RESOLUTION_MS }) : null;
  histogram?.enable();

  const overloaded = (): OverloadReason | null => {
    if (limits.maxEventLoopDelayMs > 0 && eventLoopDelayMs > limits.maxEventLoopDelayMs) return 'event_loop_delay';
    if (limits.maxInFlight > 0 && inFlight >= limits.maxInFlight) return 'in_flight';
    return null;
  };
  const state = (): AdmissionState => ({ eventLoopDelayMs, inFlight, overloaded: overloaded() });
  const sample = (): AdmissionState => {
    if (histogram) {
      // No sample yet in this window (the loop was blocked the whole time) reads as NaN.
      const mean = histogram.count > 0 ? histogram.mean / 1e6 : 0;
      eventLoopDelayMs = Math.max(0, mean - RESOLUTION_MS);
      // (A reset also forgets the histogram's last tick: the first period of the next window is not measured.)
      histogram.reset();
    }
    return state();
  };
  const timer = histogram ? setInterval(sample, limits.sampleIntervalMs) : null;
  timer?.unref();
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer);
    histogram?.disable();
  });

  const admitted = new WeakSet<FastifyRequest>();
  app.addHook('onRequest', async (request, reply) => {
    if (isExempt(request)) return;
    const reason = overloaded();
    // Said once per overload, not once per refused request: a flood must not flood the log too.
    if (reason !== reported) {
      if (reason) app.log.warn({ reason, eventLoopDelayMs, inFlight }, 'overloaded: refusing new requests with 503');
      else app.log.info('load back under the limits: admitting requests');
      reported = reason;
    }
    if (reason) {
      const s = limits.retryAfterSeconds;
      return reply.code(503).header('retry-after', String(s)).send({
        code: 'SERVER_OVERLOADED',
        message: `the server is busy; retry in ${s} s`,
        message_zh: `系统繁忙，请${s}秒后重试`,
        details: { reason, retryAfterSeconds: s },
        request_id: String(request.id),
      });
    }
    inFlight++;
    admitted.add(request);
  });
  // A request leaves the count once: when answered, or when its client went away first.
  const leave = async (request: FastifyRequest) => {
    if (admitted.delete(request)) inFlight--;
  };
  app.addHook('onResponse', leave);
  app.addHook('onRequestAbort', leave);

  const control: AdmissionControl = { state, sample };
  app.decorate('admission', control);
  return control;
}
