/**
 * A real SIP call pops on the agent's console: a sipp caller dials a merged line through the built-in
 * edge, the ACD offers it to agent1 (console 示闲, baresip phone registered), and chromium shows the
 * caller, the line, the queue and the wait; the supervisor's wallboard counts the seat. The caller's
 * real G.711 speech (sipp `uac_pcap`) is transcribed live by the `aws` engine (the real SDK against
 * a local endpoint speaking AWS's event-stream format) and the segments appear in the transcript panel.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { testConfig } from '../../app/config';
import { monoWav } from '../../telephony/edges/builtin/wav';
import { freeRtpRange, freeUdpPort, runSipp, sipPeersMissing, startBaresip, type Baresip } from '../helpers/sip-peers';
import { until } from '../helpers/until';
import { createAwsSpeechEngine } from '../../speech';
import { startTranscribeEndpoint, type TranscribeEndpoint } from '../speech/transcribe-endpoint';
import { browserSkipReason, launchBrowser, login, openConsole, screenshot, startConsoleServer, type ConsoleServer } from './browser';

const skip = browserSkipReason() ?? sipPeersMissing();
if (skip) console.log(`[agent-console sip pop] ${skip}`);

describe.skipIf(!!skip)('the call pop for a real SIP call (browser)', () => {
  let s: ConsoleServer;
  let browser: Browser;
  let phone: Baresip | null = null;
  let dir: string;
  let sipPort: number;
  let endpoint: TranscribeEndpoint | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sip-pop-'));
    endpoint = await startTranscribeEndpoint();
    const base = testConfig();
    const aws = { region: 'cn-north-1', endpoint: endpoint.url, credentials: { accessKeyId: 'AKIDSPEECHTEST0001', secretAccessKey: 'speech-test-secret-key' } };
    s = await startConsoleServer({
      speechEngine: createAwsSpeechEngine(aws),
      config: {
        telephony: {
          ...base.telephony, edge: 'builtin', sipHost: '127.0.0.1', sipPort: 0, publicAddress: '127.0.0.1', rtpPorts: await freeRtpRange(200), rtpLatch: true,
          recordingsDir: join(dir, 'recordings'), promptsDir: null,
        },
        speech: { ...base.speech, engine: 'aws', aws },
      },
    });
    sipPort = (s.t.ctx.telephony.edge as unknown as { sipPort: number }).sipPort;
    const agent1 = (await s.t.ctx.identity.listUsers('demo')).find((u) => u.username === 'agent1')!;
    const put = async (url: string, payload: object) => s.t.app.inject({ method: 'PUT', url, headers: { cookie: await s.t.login('admin') }, payload });
    expect((await put(`/api/v1/telephony/agents/${agent1.id}`, { phoneUsername: 'agent1', skills: ['general'] })).statusCode).toBe(200);
    expect((await put(`/api/v1/telephony/agents/${agent1.id}/phone-password`, { password: 'agent1-phone-secret' })).statusCode).toBe(204);
    writeFileSync(join(dir, 'voice.wav'), monoWav(Int16Array.from({ length: 8000 * 20 }, (_, i) => Math.round(5000 * Math.sin((2 * Math.PI * 440 * i) / 8000)))));
    phone = startBaresip({ username: 'agent1', password: 'agent1-phone-secret', registrar: `127.0.0.1:${sipPort}`, wavFile: join(dir, 'voice.wav'), sipPort: await freeUdpPort(), rtpRange: await freeRtpRange(40) });
    await until(async () => (await s.t.ctx.telephony.edge!.registrations()).length === 1, 'the phone registered', 15_000);
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await phone?.stop();
    await s?.close();
    await endpoint?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('shows the caller, the merged line, the queue, the wait and the live transcript on the agent console', async () => {
    const agent = await openConsole(browser, s.baseUrl);
    await login(agent.page, 'agent1');
    await agent.page.waitForURL('**/agent');
    await expect.poll(() => agent.page.getByTestId('live-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    await agent.page.getByTestId('presence-select').click();
    await agent.page.getByRole('option', { name: '示闲' }).click();
    const agent1 = (await s.t.ctx.identity.listUsers('demo')).find((u) => u.username === 'agent1')!;
    await until(async () => (await s.api('supervisor1', 'GET', '/api/v1/live/presence')).body.find((p: any) => p.userId === agent1.id)?.status === 'available', 'agent1 示闲', 15_000);
    await s.t.ctx.telephony.service.refreshAgents();

    const sup = await openConsole(browser, s.baseUrl);
    await login(sup.page, 'supervisor1');
    await sup.page.waitForURL('**/supervise');
    await expect.poll(() => sup.page.getByTestId('wallboard').innerText(), { timeout: 15_000 }).toContain('综合');

    const call = runSipp({ scenario: { builtin: 'uac_pcap' }, target: `127.0.0.1:${sipPort}`, args: ['-s', '12319'], timeoutSeconds: 40 });
    await expect.poll(() => agent.page.getByTestId('caller-number').innerText(), { timeout: 15_000 }).toContain('sipp');
    expect(await agent.page.getByTestId('call-line').innerText()).toContain('12319');
    expect(await agent.page.getByTestId('call-line').innerText()).toContain('城建服务热线');
    await expect.poll(() => agent.page.getByTestId('call-queue').innerText()).toMatch(/综合 · 等待 \d+ 秒/);
    // What the caller says arrives while the call goes on (the endpoint answers 第N段 per stretch of audio).
    await expect.poll(() => agent.page.getByTestId('transcript-lines').innerText(), { timeout: 30_000 }).toContain('第1段');
    await screenshot(agent.page, 'agent-sip-call-pop');
    const r = await call.done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    expect(agent.errors).toEqual([]);
    expect(sup.errors).toEqual([]);
    await agent.context.close();
    await sup.context.close();
  }, 120_000);
});
