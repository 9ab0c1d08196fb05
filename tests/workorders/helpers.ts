/** Shared fixtures of the work-order scenarios: a demo-city app on a controlled clock, and request helpers. */
import { expect } from 'vitest';
import { FixedClock, systemActor } from '../../core';
import { listCategories } from '../../routing';
import { startTestApp, json, DEMO_PASSWORD, type TestApp } from '../helpers/app';

/** Thursday 2025-10-09 10:00 in China: a working day, inside office hours. */
export const THURSDAY_10AM = new Date('2025-10-09T02:00:00Z');

export const SIX = {
  occurredAt: '2025-10-08T09:00:00+08:00',
  addressText: '滨江路1号',
  parties: '滨江路1号居民',
  situation: '楼下商铺每天晚上用大喇叭招揽顾客，噪音很大',
  demand: '请责令商铺停止使用喇叭',
};

export interface Scenario {
  t: TestApp;
  clock: FixedClock;
  api(user: string, method: 'GET' | 'POST' | 'PATCH' | 'PUT', url: string, payload?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  ok(user: string, method: 'GET' | 'POST' | 'PATCH' | 'PUT', url: string, payload?: unknown, headers?: Record<string, string>): Promise<any>;
  unitId(code: string): Promise<string>;
  categoryId(code: string): Promise<string>;
  /** A complete ticket, registered by agent1. */
  newTicket(extra?: Record<string, unknown>): Promise<any>;
  /** Registers and dispatches to a unit (by code), optionally with co-handlers; returns the ticket and its work orders. */
  dispatched(unitCode: string, opts?: { coUnitCodes?: string[]; extra?: Record<string, unknown> }): Promise<{ ticket: any; lead: any; co: any[] }>;
  workOrdersOf(ticketId: string): Promise<any[]>;
  /** Moves the clock and runs the sweep (as the job would). */
  at(iso: string): Promise<{ fired: number; callbacks: number; delivered: number }>;
  notices(filter: { ticketId?: string; workOrderId?: string; event?: string }): Promise<any[]>;
}

export async function startScenario(at: Date = THURSDAY_10AM, config?: NonNullable<Parameters<typeof startTestApp>[0]>['config']): Promise<Scenario> {
  const clock = new FixedClock(at);
  const t = await startTestApp({ clock, config });
  const units = new Map<string, string>();
  // Sessions expire as the clock moves on (days, in these scenarios): log in again when told to.
  const cookies = new Map<string, string>();
  const login = async (user: string, fresh = false) => {
    if (!fresh && cookies.has(user)) return cookies.get(user)!;
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: user, password: DEMO_PASSWORD } });
    if (res.statusCode !== 200) throw new Error(`login ${user}: ${res.statusCode} ${res.body}`);
    const cookie = res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    cookies.set(user, cookie);
    return cookie;
  };
  const categories = new Map((await listCategories(t.ctx.database.db, 'demo')).map((c) => [c.code, c.id]));
  const api: Scenario['api'] = async (user, method, url, payload, headers) => {
    const send = async (fresh: boolean) => t.app.inject({ method, url: `/api/v1${url}`, payload: payload as any, headers: { cookie: await login(user, fresh), ...headers } });
    let res = await send(false);
    if (res.statusCode === 401) res = await send(true);
    return { status: res.statusCode, body: res.body ? safeJson(res.body) : null };
  };
  const ok: Scenario['ok'] = async (user, method, url, payload, headers) => {
    const r = await api(user, method, url, payload, headers);
    if (r.status >= 300) throw new Error(`${user} ${method} ${url} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const s: Scenario = {
    t, clock, api, ok,
    async unitId(code) {
      if (!units.has(code)) {
        const r = await ok('admin', 'GET', `/units?q=${encodeURIComponent(code)}&pageSize=200`);
        for (const u of r.items) units.set(u.code, u.id);
      }
      const id = units.get(code);
      if (!id) throw new Error(`no unit ${code}`);
      return id;
    },
    async categoryId(code) {
      const id = categories.get(code);
      if (!id) throw new Error(`no category ${code}`);
      return id;
    },
    async newTicket(extra = {}) {
      const occurredAt = new Date(clock.now().getTime() - 3_600_000).toISOString();
      return ok('agent1', 'POST', '/tickets', { channel: 'phone', type: 'complaint', callerPhone: '13912345678', citizenName: '王先生', categoryId: await s.categoryId('04020302'), ...SIX, occurredAt, ...extra });
    },
    async dispatched(unitCode, opts = {}) {
      const created = await s.newTicket(opts.extra);
      const unit = await s.unitId(unitCode);
      const co = await Promise.all((opts.coUnitCodes ?? []).map((c) => s.unitId(c)));
      // Through the service, as routing's dispatch does, so the plan's co-handlers come along.
      await t.ctx.intake.transition({ actor: { ...systemActor('demo'), kind: 'user', id: 'dispatcher-test', role: 'dispatcher', name: 'dispatcher' } }, created.id, created.version, {
        action: 'dispatch', handlingUnitId: unit, routing: { rule: 'function', responsibilityVersionId: null, plannedUnitId: unit, coUnitIds: co },
      });
      const ticket = await ok('dispatcher1', 'GET', `/tickets/${created.id}`);
      const all = await s.workOrdersOf(created.id);
      return { ticket, lead: all.find((w) => w.role === 'lead'), co: all.filter((w) => w.role === 'co') };
    },
    async workOrdersOf(ticketId) {
      return (await ok('dispatcher1', 'GET', `/work-orders?queue=all&ticketId=${ticketId}`)).items;
    },
    async at(iso) {
      clock.set(new Date(iso));
      return t.ctx.workOrders.sweep();
    },
    notices: (f) => t.ctx.workOrders.notifications(f),
  };
  return s;
}

function safeJson(body: string) {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

export function expectError(r: { status: number; body: any }, status: number, code: string) {
  expect({ status: r.status, code: r.body?.code }).toEqual({ status, code });
  expect(r.body.message_zh).toBeTruthy();
  expect(r.body.message).toBeTruthy();
}

export { json };
