/**
 * The `aws` engine end to end: a sipp caller plays real G.711 speech (uac_pcap) into the built-in
 * edge, waits in the queue, is bridged to agent1's baresip phone (a tone); the edge's media tap
 * forks both parties' audio to the speech service, the real @aws-sdk/client-transcribe-streaming
 * streams it over HTTP/2 to a local endpoint speaking AWS's event-stream format, and the results
 * come back as segments: pushed live to agent1's console (`call.transcript`, partial and final, with
 * party and timing) and the finals stored with the call.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../app/config';
import { systemClock } from '../../core';
import { createAwsSpeechEngine } from '../../speech';
import { startTestApp, type TestApp } from '../helpers/app';
import { freeRtpRange, runSipp, sipPeersMissing, type Baresip } from '../helpers/sip-peers';
import { until } from '../helpers/until';
import { agent1OnPhone } from '../telephony/agent-on-phone';
import type { DemoIds, LiveClient } from '../live/live-client';
import { startTranscribeEndpoint, type TranscribeEndpoint } from './transcribe-endpoint';

const missing = sipPeersMissing();

describe.skipIf(missing)('AWS Transcribe engine fed by sipp RTP through the built-in edge', () => {
  let t: TestApp;
  let ids: DemoIds;
  let dir: string;
  let sipPort: number;
  let endpoint: TranscribeEndpoint;
  let phone: Baresip | null = null;
  let agent: LiveClient | null = null;
  const api = async (method: 'GET' | 'PUT', url: string, user: string, payload?: object) =>
    t.app.inject({ method, url: `/api/v1${url}`, headers: { cookie: await t.login(user) }, payload });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'speech-e2e-'));
    endpoint = await startTranscribeEndpoint();
    const base = testConfig();
    t = await startTestApp({
      clock: systemClock,
      config: {
        telephony: {
          ...base.telephony, edge: 'builtin', sipHost: '127.0.0.1', sipPort: 0, publicAddress: '127.0.0.1', rtpPorts: await freeRtpRange(200), rtpLatch: true,
          recordingsDir: join(dir, 'recordings'), promptsDir: null, nodeId: 'speech-e2e',
        },
        speech: { ...base.speech, engine: 'aws', aws: { region: 'cn-north-1', endpoint: endpoint.url, credentials: { accessKeyId: 'AKIDSPEECHTEST0001', secretAccessKey: 'speech-test-secret-key' } } },
      },
      speechEngine: createAwsSpeechEngine({ region: 'cn-north-1', endpoint: endpoint.url, credentials: { accessKeyId: 'AKIDSPEECHTEST0001', secretAccessKey: 'speech-test-secret-key' } }),
    });
    ({ ids, sipPort, phone, agent } = await agent1OnPhone(t, dir));
  }, 180_000);

  afterAll(async () => {
    await agent?.close();
    await phone?.stop();
    await t?.close();
    await endpoint?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('transcribes both parties live: signed zh-CN audio up, partial and final segments to the agent console, finals stored with timing', async () => {
    const r = await runSipp({ scenario: { builtin: 'uac_pcap' }, target: `127.0.0.1:${sipPort}`, args: ['-s', '12345'], timeoutSeconds: 40 }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    const pop = await agent!.waitFor((m) => m.type === 'call.offered', 'the pop');
    const callId: string = pop.data.call.callId;

    // The local endpoint got the call's audio through the real SDK: one signed stream per party.
    await until(() => endpoint.requests.length >= 2, 'two Transcribe streams', 20_000);
    for (const req of endpoint.requests) {
      expect(req.headers['x-amzn-transcribe-language-code']).toBe('zh-CN');
      expect(req.headers['x-amzn-transcribe-sample-rate']).toBe('8000');
      expect(req.headers['x-amzn-transcribe-media-encoding']).toBe('pcm');
      expect(String(req.headers.authorization)).toContain('AKIDSPEECHTEST0001');
      expect(req.signed).toBe(true);
    }
    // The caller's stream carries the pcap's speech (not silence).
    expect(Math.max(...endpoint.requests.flatMap((q) => q.secondsRms))).toBeGreaterThan(300);

    const final = await agent!.waitFor((m) => m.type === 'call.transcript' && m.data.callId === callId && m.data.final, 'a final segment on the console', 30_000);
    expect(final.data).toMatchObject({ party: expect.stringMatching(/^(caller|agent)$/), text: expect.stringMatching(/^第\d+段$/), confidence: 0.8 });
    expect(final.data.endMs).toBeGreaterThan(final.data.startMs);
    await agent!.waitFor((m) => m.type === 'call.transcript' && m.data.callId === callId && !m.data.final, 'a partial segment on the console', 30_000);

    // When the call is over, the finals are stored with the call, both parties, on one time axis.
    const stored = await until(async () => {
      const c = (await api('GET', `/calls/${callId}`, 'agent1')).json();
      return c.endedAt && c.segments.some((s: any) => s.speaker === 'caller') ? c : null;
    }, "the caller's segments stored", 30_000);
    for (const s of stored.segments) {
      expect(s.text).toMatch(/^第\d+段$/);
      expect(s.endMs).toBeGreaterThan(s.startMs);
    }
    // The agent joined after the queue: their first segment starts later on the call's axis than the caller's.
    // (How much the agent's tone overlaps the caller's 8 s of speech depends on how fast the ACD bridges.)
    const firstOf = (p: string) => Math.min(...stored.segments.filter((s: any) => s.speaker === p).map((s: any) => s.startMs));
    if (stored.segments.some((s: any) => s.speaker === 'agent')) expect(firstOf('agent')).toBeGreaterThan(firstOf('caller'));
    expect(stored.transcript).toContain('来电人：第1段');
    const status = (await api('GET', '/speech/status', 'agent1')).json();
    expect(status).toMatchObject({ engine: 'aws', ok: true });
    expect(status.stats.segmentsFinal).toBeGreaterThanOrEqual(2);
    expect(status.stats.framesDropped).toBe(0);
  }, 90_000);
});
