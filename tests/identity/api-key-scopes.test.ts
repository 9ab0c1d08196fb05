/**
 * API keys (接口密钥) with scopes, expiry, revocation and last use. The telephony gateway's key
 * posts call events and nothing else; an expired or revoked key is refused; a unit-role key needs a
 * unit; each admin action leaves an audit row; the list never shows a secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, json, rowCounts, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import type { FixedClock } from '../../core';

let t: TestApp;
let admin: string;
let waterUnitId: string;

const issue = async (payload: Record<string, unknown>) =>
  t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: { cookie: admin }, payload });
const asKey = (key: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
  t.app.inject({ method, url: `/api/v1${url}`, headers: { 'x-api-key': key }, payload: payload as never });
const auditOf = (entityId: string) =>
  t.ctx.database.db.selectFrom('audit_events').select(['action', 'actor_id']).where('entity_id', '=', entityId).orderBy('at').execute();

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login('admin');
  waterUnitId = (await t.ctx.directory.findUnitByCode('demo', 'util-water'))!.id;
});
afterAll(async () => t?.close());

describe(`API key scopes on ${testDialect}`, () => {
  let gateway: string;

  beforeAll(async () => {
    const res = await issue({ name: 'telephony gateway', role: 'agent', scopes: ['calls:write'] });
    expect(res.statusCode).toBe(201);
    gateway = json(res).key;
  });

  it('a calls:write key posts call events', async () => {
    const res = await asKey(gateway, 'POST', '/calls/events', { type: 'offered', callId: 'scoped-1', callerPhone: '13811112222', dialledNumber: '12345' });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('a calls:write key is refused 403 API_KEY_SCOPE on users, keys, calendar import and ticket reads, writing nothing', async () => {
    const before = await rowCounts(t);
    const refused = [
      await asKey(gateway, 'POST', '/users', { username: 'evil-admin', displayName: '坏人', role: 'admin', password: 'evil12345' }),
      await asKey(gateway, 'POST', '/api-keys', { name: 'another', role: 'admin', scopes: ['admin'] }),
      await asKey(gateway, 'GET', '/api-keys'),
      await asKey(gateway, 'POST', '/calendar/years', { year: 2027, holidays: [], workdays: [] }),
      await asKey(gateway, 'GET', '/tickets'),
      await asKey(gateway, 'GET', '/tickets/any-id'),
      await asKey(gateway, 'GET', '/citizens/lookup?phone=13811112222'),
      await asKey(gateway, 'GET', '/work-orders'),
    ];
    for (const res of refused) {
      expect(res.statusCode, res.body).toBe(403);
      expect(json(res)).toMatchObject({ code: 'API_KEY_SCOPE', message_zh: expect.stringContaining('无权') });
    }
    expect(await rowCounts(t)).toEqual(before);
  });

  it('a tickets:read key reads tickets (its role decides what it sees) but may not post call events or register tickets', async () => {
    const reader = json(await issue({ name: 'report export', role: 'supervisor', scopes: ['tickets:read'] })).key;
    expect((await asKey(reader, 'GET', '/tickets')).statusCode).toBe(200);
    expect(json(await asKey(reader, 'POST', '/calls/events', { type: 'offered', callId: 'scoped-2', callerPhone: '13811112222', dialledNumber: '12345' })).code).toBe('API_KEY_SCOPE');
    expect(json(await asKey(reader, 'POST', '/tickets', { channel: 'phone', type: 'help' })).code).toBe('API_KEY_SCOPE');
  });

  it('an admin key with the admin scope may manage keys; the admin scope needs the admin role', async () => {
    const tool = json(await issue({ name: 'provisioning', role: 'admin', scopes: ['admin'] })).key;
    expect((await asKey(tool, 'GET', '/api-keys')).statusCode).toBe(200);
    const res = await issue({ name: 'sneaky', role: 'agent', scopes: ['admin'] });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ code: 'API_KEY_FIELDS_INVALID', details: { field: 'scopes' } });
  });

  it('refuses a unit-role key without a unit, and a grid-role key without a territory (400), writing nothing', async () => {
    const before = await rowCounts(t);
    const unit = await issue({ name: 'unit app', role: 'unit_handler', scopes: ['tickets:read'] });
    expect(unit.statusCode).toBe(400);
    expect(json(unit)).toMatchObject({ code: 'API_KEY_FIELDS_INVALID', details: { field: 'unitId' }, message_zh: expect.stringContaining('必须指定单位') });
    const grid = await issue({ name: 'grid app', role: 'grid_member', scopes: ['tickets:read'] });
    expect(json(grid)).toMatchObject({ code: 'API_KEY_FIELDS_INVALID', details: { field: 'territoryId' } });
    expect(await rowCounts(t)).toEqual(before);
    const ok = await issue({ name: 'unit app', role: 'unit_handler', unitId: waterUnitId, scopes: ['tickets:read'] });
    expect(ok.statusCode).toBe(201);
  });

  it('a key without scopes, or with an unknown one, is refused', async () => {
    expect(json(await issue({ name: 'none', role: 'agent', scopes: [] })).code).toBe('VALIDATION_FAILED');
    expect(json(await issue({ name: 'odd', role: 'agent', scopes: ['everything'] })).code).toBe('VALIDATION_FAILED');
    expect(json(await issue({ name: 'old style', role: 'agent' })).code).toBe('VALIDATION_FAILED');
  });
});

describe(`API key life on ${testDialect}`, () => {
  it('an expired key gets 401 API_KEY_EXPIRED; an expiry in the past is refused at issue', async () => {
    const clock = t.ctx.clock as FixedClock;
    const start = clock.now();
    const res = await issue({ name: 'short', role: 'agent', scopes: ['tickets:read'], expiresAt: new Date(start.getTime() + 3_600_000).toISOString() });
    expect(res.statusCode, res.body).toBe(201);
    const { key, apiKey } = json(res);
    expect(apiKey.expiresAt).toBe(new Date(start.getTime() + 3_600_000).toISOString());
    expect((await asKey(key, 'GET', '/tickets')).statusCode).toBe(200);
    clock.set(new Date(start.getTime() + 3_600_000));
    try {
      const late = await asKey(key, 'GET', '/tickets');
      expect(late.statusCode).toBe(401);
      expect(json(late)).toMatchObject({ code: 'API_KEY_EXPIRED', message_zh: 'API 密钥已过期' });
    } finally {
      clock.set(start);
    }
    const past = await issue({ name: 'past', role: 'agent', scopes: ['tickets:read'], expiresAt: new Date(start.getTime() - 1000).toISOString() });
    expect(json(past)).toMatchObject({ code: 'API_KEY_FIELDS_INVALID', details: { field: 'expiresAt' } });
  });

  it('a revoked key gets 401; revocation is audited, idempotent, and shown in the list', async () => {
    const created = json(await issue({ name: 'to revoke', role: 'agent', scopes: ['tickets:read'] }));
    expect((await asKey(created.key, 'GET', '/tickets')).statusCode).toBe(200);
    const revoked = await t.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${created.id}`, headers: { cookie: admin } });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(json(revoked).revokedAt).toEqual(expect.any(String));
    const res = await asKey(created.key, 'GET', '/tickets');
    expect(res.statusCode).toBe(401);
    expect(json(res).code).toBe('API_KEY_INVALID');
    const again = await t.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${created.id}`, headers: { cookie: admin } });
    expect(again.statusCode).toBe(200);
    const adminId = json(await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: admin } })).id;
    expect(await auditOf(created.id)).toEqual([
      { action: 'api_key.created', actor_id: adminId },
      { action: 'api_key.revoked', actor_id: adminId },
    ]);
    const missing = await t.app.inject({ method: 'DELETE', url: '/api/v1/api-keys/nope', headers: { cookie: admin } });
    expect(json(missing).code).toBe('API_KEY_NOT_FOUND');
  });

  it('records the last use, written at most once a minute', async () => {
    const clock = t.ctx.clock as FixedClock;
    const created = json(await issue({ name: 'last use', role: 'agent', scopes: ['tickets:read'] }));
    const lastUsed = async () => json(await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: { cookie: admin } })).find((k: any) => k.id === created.id).lastUsedAt;
    expect(await lastUsed()).toBeNull();
    const start = clock.now();
    await asKey(created.key, 'GET', '/tickets');
    expect(await lastUsed()).toBe(start.toISOString());
    try {
      clock.set(new Date(start.getTime() + 30_000));
      await asKey(created.key, 'GET', '/tickets');
      expect(await lastUsed()).toBe(start.toISOString());
      clock.set(new Date(start.getTime() + 61_000));
      await asKey(created.key, 'GET', '/tickets');
      expect(await lastUsed()).toBe(new Date(start.getTime() + 61_000).toISOString());
    } finally {
      clock.set(start);
    }
  });

  it('lists the keys with scopes, expiry, last use and revocation, never a secret or hash', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: { cookie: admin } });
    expect(res.statusCode).toBe(200);
    const list = json(res);
    expect(list.length).toBeGreaterThan(3);
    const gw = list.find((k: any) => k.name === 'telephony gateway');
    expect(gw).toMatchObject({ role: 'agent', scopes: ['calls:write'], expiresAt: null, revokedAt: null, lastUsedAt: expect.any(String) });
    expect(res.body).not.toMatch(/hk_/);
    expect(res.body).not.toMatch(/key_hash|keyHash/);
  });
});
