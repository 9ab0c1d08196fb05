/**
 * Segments the console recognised, on their way to the server (POST /calls/:callId/transcript/segments):
 * batched (a partial superseded before it left is not sent), one batch in flight per call so they
 * arrive in order, each batch with its own Idempotency-Key and retried with that key (the server
 * stores a batch once; it is also idempotent per callId, party, seq, final). A batch refused for
 * its content (4xx other than 408/429) is dropped and reported: retrying cannot fix it.
 */
import { ApiError, idempotencyKey } from '../api/http';
import { speechApi, type SegmentPost } from '../api/speech';

export interface OutboxOptions {
  post?: (callId: string, segments: SegmentPost[], key: string) => Promise<unknown>;
  /** How long segments gather before a batch leaves; default 300 ms. */
  batchMs?: number;
  /** Retry delays after a failed batch; default 0.5 s, 1 s, 2 s, 4 s, 8 s, then 15 s each. */
  retryMs?: number[];
  onDropped?: (callId: string, err: unknown) => void;
}

interface Batch {
  key: string;
  segments: SegmentPost[];
  attempts: number;
}

interface CallQueue {
  pending: SegmentPost[];
  inFlight: Batch | null;
  timer: ReturnType<typeof setTimeout> | null;
}

const retriable = (e: unknown) => !(e instanceof ApiError) || e.status === 0 || e.status === 408 || e.status === 429 || e.status >= 500;

export function createSegmentOutbox(opts: OutboxOptions = {}) {
  const post = opts.post ?? speechApi.postSegments;
  const batchMs = opts.batchMs ?? 300;
  const retryMs = opts.retryMs ?? [500, 1000, 2000, 4000, 8000, 15000];
  const calls = new Map<string, CallQueue>();

  const queueOf = (callId: string) => {
    let q = calls.get(callId);
    if (!q) calls.set(callId, (q = { pending: [], inFlight: null, timer: null }));
    return q;
  };

  function schedule(callId: string, q: CallQueue, ms: number) {
    if (q.timer) return;
    q.timer = setTimeout(() => {
      q.timer = null;
      void send(callId, q);
    }, ms);
  }

  async function send(callId: string, q: CallQueue) {
    if (q.inFlight) return;
    if (!q.pending.length) {
      calls.delete(callId);
      return;
    }
    const batch: Batch = { key: idempotencyKey(), segments: q.pending.splice(0, 50), attempts: 0 };
    q.inFlight = batch;
    for (;;) {
      try {
        await post(callId, batch.segments, batch.key);
        break;
      } catch (e) {
        if (!retriable(e) || batch.attempts >= 30) {
          opts.onDropped?.(callId, e);
          break;
        }
        await new Promise((r) => setTimeout(r, retryMs[Math.min(batch.attempts, retryMs.length - 1)]));
        batch.attempts++;
      }
    }
    q.inFlight = null;
    if (q.pending.length) schedule(callId, q, 0);
    else calls.delete(callId);
  }

  return {
    /** Queues a segment; a partial replaces the queued partial of the same party and number. */
    add(callId: string, s: SegmentPost) {
      const q = queueOf(callId);
      const same = q.pending.findIndex((p) => p.party === s.party && p.seq === s.seq && !p.final);
      if (same >= 0 && !s.final) q.pending[same] = s;
      else if (same >= 0 && s.final) q.pending.splice(same, 1, s);
      else q.pending.push(s);
      if (s.final || q.pending.length >= 20) {
        if (q.timer) clearTimeout(q.timer);
        q.timer = null;
        schedule(callId, q, s.final ? 50 : 0);
      } else schedule(callId, q, batchMs);
    },
    /** Segments not yet acknowledged (tests, and a warning before logout). */
    get backlog() {
      let n = 0;
      for (const q of calls.values()) n += q.pending.length + (q.inFlight?.segments.length ?? 0);
      return n;
    },
  };
}
