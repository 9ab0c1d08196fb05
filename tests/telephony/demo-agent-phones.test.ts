import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SIP_PASSWORD, seedDemoAgentPhones } from '../../app/telephony-demo';
import { computeHa1, createSipEndpointsService, DEFAULT_SIP_REALM } from '../../telephony';
import { startTestApp, type TestApp } from '../helpers/app';
import { systemActor } from '../../core';

describe('demo city agent phones', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('gives every demo seat a SIP account named like its user, once, linked to the user', async () => {
    const city = (await t.ctx.directory.listCities())[0];
    const created = await seedDemoAgentPhones(t.ctx, city.id);
    expect(created).toBeGreaterThanOrEqual(2);
    expect(await seedDemoAgentPhones(t.ctx, city.id)).toBe(0);
    const phones = createSipEndpointsService({ db: t.ctx.database.db });
    const agent1 = (await t.ctx.identity.listUsers(city.id)).find((u) => u.username === 'agent1')!;
    expect((await phones.list(city.id)).find((p) => p.username === 'agent1')).toMatchObject({ userId: agent1.id, realm: DEFAULT_SIP_REALM });
    expect(await phones.credentials.ha1('agent1', DEFAULT_SIP_REALM)).toBe(computeHa1('agent1', DEFAULT_SIP_REALM, DEMO_SIP_PASSWORD));
    expect(await phones.credentials.ha1('admin', DEFAULT_SIP_REALM)).toBeNull(); // not a seat
    // The ACD knows the phone and gives the seat every queue.
    const acd = await t.ctx.telephony.service.listAgents(systemActor(city.id));
    expect(acd.find((a) => a.userId === agent1.id)).toMatchObject({ phoneUsername: 'agent1', skills: ['general', 'business_environment', 'dialect_foreign'] });
  });
});
