/**
 * Fifty calls held at once through the built-in edge (sipp -sn uac, -l 50, each call held 4 s before
 * its BYE): every one is answered while the others are up, each gets its own RTP port, and all end
 * cleanly with their recordings — no port or call left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createBuiltinSipEdge, type EdgeEvent, type SipEdge } from '../../telephony';
import { freeRtpRange, runSipp, sipPeersMissing } from '../helpers/sip-peers';
import { until } from '../helpers/until';

const CALLS = 50;

describe.skipIf(sipPeersMissing())('built-in SIP edge holding 50 concurrent calls', () => {
  let edge: SipEdge & { sipPort: number };
  let dir: string;
  const events: EdgeEvent[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edge-50-'));
    edge = createBuiltinSipEdge({
      host: '127.0.0.1', port: 0, logger: pino({ level: 'warn' }), credentials: { ha1: async () => null }, recordingsDir: join(dir, 'rec'),
      rtpPorts: await freeRtpRange(400), mediaTimeoutMs: 0, inviteRatePerSecond: 200, inviteBurst: 200,
    }) as never;
    await edge.start((e) => {
      events.push(e);
      if (e.type === 'call.offered') void edge.answer(e.call.callId);
    });
  });

  afterAll(async () => {
    await edge?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers all 50 while they overlap and ends each exactly once', async () => {
    const sipp = runSipp({ scenario: { builtin: 'uac' }, target: `127.0.0.1:${edge.sipPort}`, calls: CALLS, rate: CALLS, limit: CALLS, args: ['-d', '4000'], timeoutSeconds: 60 });
    await until(async () => (await edge.health()).activeCalls === CALLS, `${CALLS} calls up at once`, 20_000);
    const r = await sipp.done;
    expect(r.successful, r.output.slice(-1500)).toBe(CALLS);
    await until(() => events.filter((e) => e.type === 'call.ended').length === CALLS, 'every call ended');
    const offered = events.filter((e) => e.type === 'call.offered').map((e) => (e as { call: { callId: string } }).call.callId);
    expect(new Set(offered).size).toBe(CALLS);
    for (const id of offered) expect(events.filter((e) => e.type === 'call.ended' && e.callId === id)).toHaveLength(1);
    await until(() => events.filter((e) => e.type === 'recording.ready').length === CALLS, 'every recording');
    expect(readdirSync(join(dir, 'rec'))).toHaveLength(CALLS);
    const health = await edge.health();
    expect(health.activeCalls).toBe(0);
    expect(health.detail).toContain('rtp ports in use 0');
  });
});
