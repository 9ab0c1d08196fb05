import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../audit';
import { systemActor } from '../../core';
import { computeHa1, createSipEndpointsService, type SipEndpointsService } from '../../telephony';
import { freshDatabase, type TestDatabase } from '../helpers/db';

describe('agent phone accounts (sip_endpoints)', () => {
  let database: TestDatabase;
  let service: SipEndpointsService;
  const ctx = { actor: systemActor('city-a') };

  beforeAll(async () => {
    database = await freshDatabase();
    service = createSipEndpointsService({ db: database.db });
  });
  afterAll(() => database?.dispose());

  it('stores only the HA1 of the password, and the registrar finds it for its realm only', async () => {
    const view = await service.setPassword(ctx, { cityId: 'city-a', username: 'seat-07', password: 'long-enough', realm: 'hotline', userId: 'user-7' });
    expect(view).toMatchObject({ username: 'seat-07', userId: 'user-7', realm: 'hotline' });
    const row = await database.db.selectFrom('sip_endpoints').selectAll().where('username', '=', 'seat-07').executeTakeFirstOrThrow();
    expect(row.ha1).toBe(computeHa1('seat-07', 'hotline', 'long-enough'));
    expect(JSON.stringify(row)).not.toContain('long-enough');
    expect(await service.credentials.ha1('seat-07', 'hotline')).toBe(row.ha1);
    expect(await service.credentials.ha1('seat-07', 'other-realm')).toBeNull();
    expect(await service.credentials.ha1('nobody', 'hotline')).toBeNull();
  });

  it('replaces the password in place, keeps the linked user, and audits without the secret', async () => {
    const first = (await service.list('city-a')).find((e) => e.username === 'seat-07')!;
    await service.setPassword(ctx, { cityId: 'city-a', username: 'seat-07', password: 'another-secret', realm: 'hotline' });
    const rows = await service.list('city-a');
    expect(rows.filter((e) => e.username === 'seat-07')).toEqual([expect.objectContaining({ id: first.id, userId: 'user-7' })]);
    expect(await service.credentials.ha1('seat-07', 'hotline')).toBe(computeHa1('seat-07', 'hotline', 'another-secret'));
    const trail = await listAudit(database.db, 'sip_endpoint', first.id);
    expect(trail.map((a) => a.action)).toEqual(['sip_endpoint.created', 'sip_endpoint.password_set']);
    expect(JSON.stringify(trail)).not.toMatch(/another-secret|long-enough|[0-9a-f]{32}/);
  });

  it('refuses bad usernames, short passwords and a username of another city', async () => {
    await expect(service.setPassword(ctx, { cityId: 'city-a', username: 'a b', password: 'long-enough', realm: 'hotline' })).rejects.toMatchObject({ code: 'SIP_USERNAME_INVALID' });
    await expect(service.setPassword(ctx, { cityId: 'city-a', username: 'seat-08', password: 'short', realm: 'hotline' })).rejects.toMatchObject({ code: 'SIP_PASSWORD_TOO_SHORT' });
    await expect(service.setPassword({ actor: systemActor('city-b') }, { cityId: 'city-b', username: 'seat-07', password: 'long-enough', realm: 'hotline' }))
      .rejects.toMatchObject({ code: 'SIP_USERNAME_TAKEN', status: 409 });
  });

  it('removes an account of its own city only', async () => {
    await expect(service.remove({ actor: systemActor('city-b') }, 'city-b', 'seat-07')).rejects.toMatchObject({ code: 'SIP_ENDPOINT_NOT_FOUND' });
    await service.remove(ctx, 'city-a', 'seat-07');
    expect(await service.credentials.ha1('seat-07', 'hotline')).toBeNull();
  });
});
