/**
 * Contact-center metrics (话务指标, GB/T 33358-2016 《呼叫中心服务质量要求》): per queue and per China
 * hour. The standard's service level is the share of calls answered by an agent within 15 s of
 * entering the agent queue (15 秒人工接通率); the others are the usual ones.
 *
 * - `offered`: calls that reached the hotline in the hour (by offer time), `answered` those an agent took.
 * - `answeredWithin15s` and `serviceLevel` = answeredWithin15s / offered.
 * - `abandoned` (the caller hung up before an agent answered) and `abandonRate` = abandoned / offered.
 * - `averageSpeedOfAnswerSeconds` (ASA): mean wait from queue entry to answer of the answered calls.
 * - `averageHandleSeconds` (AHT): mean talk time, answer to end, of the answered calls that ended
 *   (after-call work is not a call fact; the console's 话后处理 time is not in it).
 * - `longestWaitSeconds`: the longest wait in queue of any call (answered or not).
 * Rates are null when nothing was offered; averages null when nothing was answered.
 */

export const SERVICE_LEVEL_SECONDS = 15;

export interface MetricsCall {
  queue: string;
  offeredAt: Date;
  queuedAt: Date | null;
  answeredAt: Date | null;
  endedAt: Date | null;
  outcome: string | null;
}

export interface QueueHourMetrics {
  queue: string;
  /** The hour's start, China time (ISO 8601 with +08:00); null in the period totals. */
  hour: string | null;
  offered: number;
  answered: number;
  answeredWithin15s: number;
  serviceLevel: number | null;
  abandoned: number;
  abandonRate: number | null;
  averageSpeedOfAnswerSeconds: number | null;
  averageHandleSeconds: number | null;
  longestWaitSeconds: number;
}

const CHINA_MS = 8 * 3_600_000;

/** The China-time hour a moment falls in, as `YYYY-MM-DDTHH:00:00+08:00`. */
export function chinaHourOf(d: Date): string {
  const china = new Date(Math.floor((d.getTime() + CHINA_MS) / 3_600_000) * 3_600_000);
  return `${china.toISOString().slice(0, 13)}:00:00+08:00`;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

function summarise(queue: string, hour: string | null, calls: MetricsCall[]): QueueHourMetrics {
  let answered = 0, within = 0, abandoned = 0, waitSum = 0, talkSum = 0, talkN = 0, longest = 0;
  for (const c of calls) {
    const start = (c.queuedAt ?? c.offeredAt).getTime();
    if (c.answeredAt) {
      answered++;
      const wait = (c.answeredAt.getTime() - start) / 1000;
      waitSum += wait;
      if (wait <= SERVICE_LEVEL_SECONDS) within++;
      longest = Math.max(longest, wait);
      if (c.endedAt) {
        talkSum += (c.endedAt.getTime() - c.answeredAt.getTime()) / 1000;
        talkN++;
      }
    } else {
      if (c.outcome === 'abandoned') abandoned++;
      if (c.queuedAt && c.endedAt) longest = Math.max(longest, (c.endedAt.getTime() - c.queuedAt.getTime()) / 1000);
    }
  }
  const offered = calls.length;
  return {
    queue, hour, offered, answered, answeredWithin15s: within,
    serviceLevel: offered ? round(within / offered, 4) : null,
    abandoned,
    abandonRate: offered ? round(abandoned / offered, 4) : null,
    averageSpeedOfAnswerSeconds: answered ? round(waitSum / answered, 1) : null,
    averageHandleSeconds: talkN ? round(talkSum / talkN, 1) : null,
    longestWaitSeconds: round(longest, 1),
  };
}

/** Per queue and hour (hours with calls only, in order), and per queue over the whole period. */
export function computeMetrics(calls: MetricsCall[]): { hours: QueueHourMetrics[]; totals: QueueHourMetrics[] } {
  const byHour = new Map<string, MetricsCall[]>();
  const byQueue = new Map<string, MetricsCall[]>();
  for (const c of calls) {
    const k = `${c.queue}|${chinaHourOf(c.offeredAt)}`;
    (byHour.get(k) ?? byHour.set(k, []).get(k)!).push(c);
    (byQueue.get(c.queue) ?? byQueue.set(c.queue, []).get(c.queue)!).push(c);
  }
  const hours = [...byHour.entries()]
    .map(([k, cs]) => { const [queue, hour] = k.split('|') as [string, string]; return summarise(queue, hour, cs); })
    .sort((a, b) => a.hour!.localeCompare(b.hour!) || a.queue.localeCompare(b.queue));
  const totals = [...byQueue.entries()].map(([q, cs]) => summarise(q, null, cs)).sort((a, b) => a.queue.localeCompare(b.queue));
  return { hours, totals };
}

/** The period's counts over every queue, as the reports take them (their KPIs divide these themselves). */
export function callCountsOf(calls: MetricsCall[]) {
  let answered = 0, answeredWithin15s = 0, abandoned = 0, waitSecondsAnswered = 0;
  for (const c of calls) {
    if (c.answeredAt) {
      const wait = (c.answeredAt.getTime() - (c.queuedAt ?? c.offeredAt).getTime()) / 1000;
      answered++;
      waitSecondsAnswered += wait;
      if (wait <= SERVICE_LEVEL_SECONDS) answeredWithin15s++;
    } else if (c.outcome === 'abandoned') abandoned++;
  }
  return { offered: calls.length, answered, answeredWithin15s, abandoned, waitSecondsAnswered };
}
