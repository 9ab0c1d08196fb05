import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { monoWav } from '../../telephony/edges/builtin/wav';
import type { TestApp } from '../helpers/app';
import { freeRtpRange, freeUdpPort, startBaresip, type Baresip } from '../helpers/sip-peers';
import { until } from '../helpers/until';
import { demoIds, listen, LiveClient, type DemoIds } from '../live/live-client';

/**
 * agent1 ready for calls on a test app with the built-in edge: a phone account set by the admin, a
 * real baresip phone registered with it (auto-answering, playing a 440 Hz tone from `dir`), the
 * console connected and the seat available, the ACD told. The caller of it stops `phone` and `agent`.
 */
export async function agent1OnPhone(t: TestApp, dir: string): Promise<{ ids: DemoIds; sipPort: number; phone: Baresip; agent: LiveClient }> {
  const api = async (method: 'GET' | 'PUT', url: string, user: string, payload?: object) =>
    t.app.inject({ method, url: `/api/v1${url}`, headers: { cookie: await t.login(user) }, payload });
  const sipPort = (t.ctx.telephony.edge as unknown as { sipPort: number }).sipPort;
  const ids = await demoIds(t, ['agent1']);
  expect((await api('PUT', `/telephony/agents/${ids.user.agent1}`, 'admin', { phoneUsername: 'agent1', skills: ['general'] })).statusCode).toBe(200);
  expect((await api('PUT', `/telephony/agents/${ids.user.agent1}/phone-password`, 'admin', { password: 'agent1-phone-secret' })).statusCode).toBe(204);
  const tone = Int16Array.from({ length: 8000 * 30 }, (_, i) => Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
  writeFileSync(join(dir, 'agent-voice.wav'), monoWav(tone));
  const phone = startBaresip({
    username: 'agent1', password: 'agent1-phone-secret', registrar: `127.0.0.1:${sipPort}`, wavFile: join(dir, 'agent-voice.wav'),
    sipPort: await freeUdpPort(), rtpRange: await freeRtpRange(40),
  });
  await until(async () => (await api('GET', '/telephony/agents', 'admin')).json().find((a: any) => a.userId === ids.user.agent1)?.registered, 'agent1 phone registered', 15_000);
  const agent = await LiveClient.ready(await listen(t.app), { cookie: await t.login('agent1') });
  agent.ws.send(JSON.stringify({ type: 'presence', status: 'available' }));
  await until(async () => (await api('GET', '/live/presence', 'supervisor1')).json().find((p: any) => p.userId === ids.user.agent1)?.status === 'available', 'agent1 available');
  await t.ctx.telephony.service.refreshAgents();
  return { ids, sipPort, phone, agent };
}
