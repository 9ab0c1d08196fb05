/**
 * End to end through the real built-in edge and the whole app: a sipp caller dials a merged line,
 * waits in the queue, is offered to agent1's baresip phone (registered with the password the admin
 * set, auto-answering with a tone WAV), bridged; the call record says answered, the recording is
 * stored with the attachments and plays (caller on the left: not silence). With nobody logged in the
 * caller is offered a callback and presses 1. Fifty calls at once all get a complete call record.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../app/config';
import { systemClock } from '../../core';
import { readStereoWav, rms } from '../../telephony/edges/builtin/wav';
import { startTestApp, type TestApp } from '../helpers/app';
import { freeRtpRange, runSipp, sipPeersMissing, type Baresip } from '../helpers/sip-peers';
import { until } from '../helpers/until';
import { agent1OnPhone } from './agent-on-phone';
import type { DemoIds, LiveClient } from '../live/live-client';

const missing = sipPeersMissing();
const SCENARIOS = join(__dirname, 'scenarios');

describe.skipIf(missing)('calls through the built-in edge, the ACD and an agent phone', () => {
  let t: TestApp;
  let ids: DemoIds;
  let dir: string;
  let sipPort: number;
  let phone: Baresip | null = null;
  let agent: LiveClient | null = null;
  const api = async (method: 'GET' | 'PUT', url: string, user: string, payload?: object) =>
    t.app.inject({ method, url: `/api/v1${url}`, headers: { cookie: await t.login(user) }, payload });
  const records = () => t.ctx.database.db.selectFrom('telephony_call_records').selectAll().orderBy('created_at').execute();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'acd-e2e-'));
    const base = testConfig();
    t = await startTestApp({
      clock: systemClock,
      config: {
        telephony: {
          ...base.telephony, edge: 'builtin', sipHost: '127.0.0.1', sipPort: 0, publicAddress: '127.0.0.1', rtpPorts: await freeRtpRange(600), rtpLatch: true,
          recordingsDir: join(dir, 'recordings'), promptsDir: null, nodeId: 'e2e-node',
        },
      },
    });
    ({ ids, sipPort, phone, agent } = await agent1OnPhone(t, dir));
  }, 60_000);

  afterAll(async () => {
    await agent?.close();
    await phone?.stop();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a caller on a merged line is bridged to the agent phone: pop on the console, record answered, recording stored and playable', async () => {
    const r = await runSipp({ scenario: { builtin: 'uac_pcap' }, target: `127.0.0.1:${sipPort}`, args: ['-s', '12319'], timeoutSeconds: 40 }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    const pop = await agent!.waitFor((m) => m.type === 'call.offered', 'the pop');
    expect(pop.data).toMatchObject({ lineName: '城建服务热线', queue: { skill: 'general' }, agentUserId: ids.user.agent1 });
    const rec = await until(async () => (await records()).find((x) => x.ended_at), 'the ended record', 20_000);
    expect(rec).toMatchObject({ outcome: 'answered', agent_user_id: ids.user.agent1, line_number: '12319', end_cause: 'caller_hangup', node_id: 'e2e-node' });
    expect(rec.answered_at).not.toBeNull();
    await until(async () => t.ctx.database.db.selectFrom('telephony_recordings').select('id').where('call_record_id', '=', rec.id).executeTakeFirst(), 'recording stored', 20_000);
    const audio = await api('GET', `/telephony/calls/${rec.edge_call_id}/recording`, 'supervisor1');
    expect(audio.statusCode).toBe(200);
    const wav = readStereoWav(audio.rawPayload);
    expect(rms(wav.left)).toBeGreaterThan(300); // the caller's speech from the pcap
    expect(rms(wav.right)).toBeGreaterThan(300); // the agent phone's tone
  }, 60_000);

  it('with nobody logged in, the caller waits, hears the callback offer, presses 1 and becomes a callback request', async () => {
    await agent!.close();
    agent = null;
    await until(async () => (await api('GET', '/live/presence', 'supervisor1')).json().find((p: any) => p.userId === ids.user.agent1)?.status === 'offline', 'agent1 offline');
    await t.ctx.telephony.service.refreshAgents();
    expect((await api('PUT', '/telephony/queues/general', 'admin', { noAgentMaxWaitSeconds: 2 })).statusCode).toBe(200);
    const r = await runSipp({ scenario: { file: join(SCENARIOS, 'callback-dtmf.xml') }, target: `127.0.0.1:${sipPort}`, args: ['-s', '12345'], timeoutSeconds: 40 }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    const rec = await until(async () => (await records()).find((x) => x.outcome === 'callback'), 'the callback record', 20_000);
    expect(rec).toMatchObject({ end_cause: 'system_hangup', agent_user_id: null });
    const list = (await api('GET', '/telephony/callbacks', 'supervisor1')).json();
    expect(list.find((c: any) => c.callRecordId === rec.id)).toMatchObject({ status: 'open', callerNumber: '13800138000' });
  }, 60_000);

  it('fifty callers at once all get a complete call record', async () => {
    expect((await api('PUT', '/telephony/queues/general', 'admin', { noAgentMaxWaitSeconds: 120 })).statusCode).toBe(200);
    const before = (await records()).length;
    // 10 new calls a second (the edge's per-source flood limit), each held 6 s: 50 at once at the peak.
    const r = await runSipp({ scenario: { builtin: 'uac' }, target: `127.0.0.1:${sipPort}`, calls: 50, rate: 10, limit: 50, args: ['-s', '12345', '-d', '6000'], timeoutSeconds: 60 }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(50);
    const done = await until(async () => {
      const rows = (await records()).slice(before);
      return rows.length === 50 && rows.every((x) => x.ended_at) ? rows : null;
    }, '50 complete records', 30_000);
    expect(done.every((x) => x.outcome === 'abandoned' && x.abandon_point === 'queue' && x.end_cause === 'caller_hangup')).toBe(true);
    expect(new Set(done.map((x) => x.edge_call_id)).size).toBe(50);
    expect((await t.ctx.telephony.edge!.health()).activeCalls).toBe(0);
  }, 90_000);
});
