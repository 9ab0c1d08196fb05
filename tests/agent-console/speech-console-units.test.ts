/**
 * The console's speech pieces without a browser: the segment outbox (batched, partials collapsed,
 * retried with the same Idempotency-Key, a refused batch dropped and reported, one batch in flight
 * per call so segments arrive in order), the time read from a spoken phrase, click-to-insert into
 * the draft, and the binary audio frame read exactly as the server writes it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeAudioFrame } from '../../speech/engines/browser';

const SRC = '../../agent-console/src';
const load = (path: string): Promise<any> => import(/* @vite-ignore */ `${SRC}/${path}`);

const seg = (seq: number, text: string, final: boolean, party = 'caller') => ({ party, seq, text, final, startMs: seq * 1000, endMs: seq * 1000 + 900, confidence: final ? 0.9 : null });

describe('the segment outbox', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('batches, sends the newest partial only, and a final in place of its partial', async () => {
    const { createSegmentOutbox } = await load('speech/segmentOutbox.ts');
    const posts: { callId: string; segments: any[]; key: string }[] = [];
    const box = createSegmentOutbox({ post: async (callId: string, segments: any[], key: string) => void posts.push({ callId, segments, key }) });
    box.add('c1', seg(0, '我家', false));
    box.add('c1', seg(0, '我家停', false));
    box.add('c1', seg(0, '我家停水', false));
    expect(posts).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(300);
    expect(posts.map((p) => p.segments.map((s) => s.text))).toEqual([['我家停水']]);
    box.add('c1', seg(1, '三天', false));
    box.add('c1', seg(1, '三天了', true));
    await vi.advanceTimersByTimeAsync(60);
    expect(posts[1].segments).toEqual([seg(1, '三天了', true)]);
    expect(new Set(posts.map((p) => p.key)).size).toBe(2);
    expect(box.backlog).toBe(0);
  });

  it('retries a failed batch with the same key, keeps later segments behind it, and drops a refused one', async () => {
    const { createSegmentOutbox } = await load('speech/segmentOutbox.ts');
    const { ApiError } = await load('api/http.ts');
    const calls: { texts: string[]; key: string }[] = [];
    let failures = 2;
    const dropped: unknown[] = [];
    const box = createSegmentOutbox({
      retryMs: [100],
      onDropped: (_c: string, e: unknown) => dropped.push(e),
      post: async (_callId: string, segments: any[], key: string) => {
        calls.push({ texts: segments.map((s) => s.text), key });
        if (segments.some((s) => s.text === 'bad')) throw new ApiError(400, 'BODY_INVALID', 'bad', '格式不正确');
        if (failures-- > 0) throw new ApiError(503, 'UNAVAILABLE', 'down', '暂不可用');
      },
    });
    box.add('c1', seg(0, '第一句', true));
    await vi.advanceTimersByTimeAsync(60);
    box.add('c1', seg(1, '第二句', true));
    await vi.advanceTimersByTimeAsync(400);
    expect(calls.map((c) => c.texts)).toEqual([['第一句'], ['第一句'], ['第一句'], ['第二句']]);
    expect(new Set(calls.slice(0, 3).map((c) => c.key)).size).toBe(1);
    box.add('c1', seg(2, 'bad', true));
    await vi.advanceTimersByTimeAsync(400);
    expect(calls).toHaveLength(5);
    expect(dropped).toHaveLength(1);
    expect(box.backlog).toBe(0);
  });
});

describe('the time a caller says', () => {
  // 2025-10-09 10:00 China time.
  const now = new Date('2025-10-09T02:00:00Z');
  const china = (d: Date | null) => (d ? new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 16) : null);

  it('reads day words, periods, Chinese numerals, 半 and minutes', async () => {
    const { parseSpokenTime, chineseNumber } = await load('speech/spokenTime.ts');
    expect([chineseNumber('十'), chineseNumber('十二'), chineseNumber('二十三'), chineseNumber('两'), chineseNumber('9')]).toEqual([10, 12, 23, 2, 9]);
    expect(china(parseSpokenTime('昨天晚上八点半开始一直停水', now))).toBe('2025-10-08T20:30');
    expect(china(parseSpokenTime('今天下午3点20分', now))).toBe('2025-10-09T15:20');
    expect(china(parseSpokenTime('前天早上七点', now))).toBe('2025-10-07T07:00');
    expect(china(parseSpokenTime('三天前 9:15', now))).toBe('2025-10-06T09:15');
    expect(china(parseSpokenTime('早上八点多', now))).toBe('2025-10-09T08:00');
    // Said at 10:00 with no day word: last night's eleven, not tonight's.
    expect(china(parseSpokenTime('晚上十一点', now))).toBe('2025-10-08T23:00');
    expect(parseSpokenTime('昨天停的水', now)).toBeNull();
    expect(parseSpokenTime('二十五点', now)).toBeNull();
  });

  it('inserts into the draft: appended to text, the place replaced, the time read or noted', async () => {
    const { insertIntoDraft } = await load('speech/insert.ts');
    const f = { occurredAt: null as string | null, addressText: '旧地址', territoryId: 't1', parties: '', situation: '家里停水。', demand: '恢复供水', title: '' };
    const opts = { now, timeNote: '时间：' };
    expect(insertIntoDraft(f, 'place', '滨江路1号', opts)).toEqual({ focus: 'addressText', timeUnparsed: false });
    expect(f.addressText).toBe('滨江路1号');
    insertIntoDraft(f, 'demand', '尽快', opts);
    expect(f.demand).toBe('恢复供水，尽快');
    insertIntoDraft(f, 'situation', '已经三天', opts);
    expect(f.situation).toBe('家里停水。已经三天');
    expect(insertIntoDraft(f, 'occurredAt', '昨天晚上八点半', opts)).toEqual({ focus: 'occurredAt', timeUnparsed: false });
    expect(f.occurredAt).toBe('2025-10-08T20:30:00+08:00');
    expect(insertIntoDraft(f, 'occurredAt', '上个月', opts)).toEqual({ focus: 'occurredAt', timeUnparsed: true });
    expect(f.situation).toBe('家里停水。已经三天，时间：上个月');
    expect(f.occurredAt).toBe('2025-10-08T20:30:00+08:00');
  });
});

describe('the audio frame in the console', () => {
  it('reads what the server writes: call, party, first sample, PCM in place', async () => {
    const { decodeAudioFrame, toFloat } = await load('speech/audioFrame.ts');
    for (const callId of ['c', 'sip-0001', '通话-7']) {
      const pcm = Int16Array.from([0, 1, -1, 32767, -32768]);
      const bytes = encodeAudioFrame(callId, 'agent', 480, pcm);
      const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      const f = decodeAudioFrame(buf);
      expect({ ...f, pcm: Array.from(f.pcm) }).toEqual({ callId, party: 'agent', firstSample: 480, pcm: Array.from(pcm) });
      expect(Array.from(toFloat(f.pcm))).toEqual([0, 1 / 32768, -1 / 32768, 32767 / 32768, -1]);
    }
    expect(decodeAudioFrame(new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0]).buffer)).toBeNull();
  });
});
