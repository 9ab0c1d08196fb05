/**
 * Bad input, refused cleanly: each case checks the status, the stable error code, that the details
 * name the offending field, that there is a Chinese message, and that nothing was written (row
 * counts of tickets, citizens, audit events, users, ... before and after).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCityFromDir } from '../../app/city-preset';
import { systemActor } from '../../core';
import { rowCounts, startTestApp, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { SIX } from '../helpers/matrix';

// ---------------------------------------------------------------------------------------------
// Apps and fixtures

let t: TestApp;
/** The same server with a 2 KiB body limit and a route that throws, to provoke a 500. */
let small: TestApp;

const SECRET = 'ECONNREFUSED 10.9.8.7:3306 user=hotline password=hunter2';
const SMALL_LIMIT = 2048;


const ids = {
  waterUnit: '',
  grid: '',
  category: '',
  other: { unit: '', territory: '', category: '' },
};
/** Tickets in known states: accepted (complete), bare (no elements), dispatched, acknowledged. */
const tk = {} as Record<'accepted' | 'bare' | 'dispatched' | 'acknowledged', { id: string; version: number }>;

/** A second city, 别市, with one territory, unit and category: ids that exist, but not in demo. */
async function importOtherCity(app: TestApp) {
  const dir = await mkdtemp(join(tmpdir(), 'hotline-other-city-'));
  const files: Record<string, string> = {
    'city.json': JSON.stringify({
      id: 'other', name: '别市', isDemo: true,
      settings: { officeHours: { seasons: [{ from: '01-01', to: '12-31', periods: [['09:00', '17:00']] }] }, timeLimitPreset: 'zhucheng', returnWindowHours: 24 },
    }),
    'territory.csv': 'code,name,level,parent_code\n880101,别区,district,\n',
    'units.csv': 'code,name,kind,parent_code,territory_code,sms_phone,duty_person,duty_phone\nother-dept,别市某局,department,,,,,\n',
    'users.csv': 'username,display_name,role,unit_code,territory_code,phone,password\n',
    'categories.csv': 'code,name,level,parent_code,keywords,default_type,default_urgency,policy_code,utility\n01,别类,1,,,,,,0\n',
    'time-limit-policies.json': '[]',
    'hotline-lines.csv': 'number,name,merged_on\n',
  };
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    await importCityFromDir(app.ctx, dir, { actor: systemActor('other', 'test') });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  ids.other.unit = (await app.ctx.directory.findUnitByCode('other', 'other-dept'))!.id;
  ids.other.territory = (await app.ctx.directory.findTerritoryByCode('other', '880101'))!.id;
  ids.other.category = (await app.ctx.database.db.selectFrom('categories').select('id').where('city_id', '=', 'other').executeTakeFirstOrThrow()).id;
}

async function inject(app: TestApp, username: string | null, opts: InjectOptions): Promise<LightMyRequestResponse> {
  const headers = { ...(username ? { cookie: await app.login(username) } : {}), ...(opts.headers ?? {}) };
  return app.app.inject({ ...opts, headers });
}

async function created(username: string, payload: Record<string, unknown>) {
  const res = await inject(t, username, { method: 'POST', url: '/api/v1/tickets', payload });
  if (res.statusCode !== 201) throw new Error(`setup: ${res.statusCode} ${res.body}`);
  return res.json() as { id: string; version: number; number: string };
}

/** Moves a ticket to a state by writing the row, as the transition would (status, version + 1). */
async function forceStatus(id: string, status: string, version: number) {
  await t.ctx.database.db.updateTable('tickets').set({ status, version: version + 1 }).where('id', '=', id).execute();
  return { id, version: version + 1 };
}

beforeAll(async () => {
  t = await startTestApp();
  small = await startTestApp({
    config: { bodyLimit: SMALL_LIMIT },
    beforeReady(app) {
      app.get('/api/v1/__test/boom', async () => {
        throw new Error(`${SECRET}\n    at Connection.connect (/srv/hotline/db/connection.ts:42:7)`);
      });
      app.get('/api/v1/__test/boom-coded', async () => {
        throw Object.assign(new Error(`SQLITE_CORRUPT: ${SECRET}`), { code: 'SQLITE_CORRUPT', statusCode: 503 });
      });
      app.get('/api/v1/__test/boom-string', async () => {
        throw SECRET; // not even an Error
      });
    },
  });
  await importOtherCity(t);
  ids.waterUnit = (await t.ctx.directory.findUnitByCode('demo', 'util-water'))!.id;
  ids.grid = (await t.ctx.directory.findTerritoryByCode('demo', '990102001001001'))!.id;
  ids.category = (await t.ctx.database.db.selectFrom('categories').select('id').where('city_id', '=', 'demo').executeTakeFirstOrThrow()).id;

  const complete = { channel: 'phone', type: 'help', ...SIX, territoryId: ids.grid, handlingUnitId: ids.waterUnit, callerPhone: '13800138000' };
  tk.accepted = await created('agent1', complete);
  tk.bare = await created('agent1', { channel: 'phone', type: 'help' });
  const d = await created('agent1', complete);
  tk.dispatched = await forceStatus(d.id, 'dispatched', d.version);
  const a = await created('agent1', complete);
  tk.acknowledged = await forceStatus(a.id, 'acknowledged', (await forceStatus(a.id, 'dispatched', a.version)).version);
});
afterAll(async () => {
  // A hung SQLite transaction (see the last describe) would keep close() waiting: bound it.
  await Promise.race([Promise.all([t?.close(), small?.close()]), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
});

// ---------------------------------------------------------------------------------------------
// The case runner

interface BadCase {
  name: string;
  /** Who sends it; default agent1. null: nobody logged in. */
  as?: string | null;
  /** The app; default the main one. */
  app?: () => TestApp;
  req: () => InjectOptions;
  status: number;
  /** The stable code (or the acceptable codes). */
  code: string | string[];
  /** A field the details must name (exactly, or as the start of a path like status.1). */
  field?: string;
  /** More about the details. */
  details?: (details: any) => void;
}

/** Every field name the details mention: validation fields, a domain error's field, import problems. */
function fieldsOf(details: any): string[] {
  if (!details || typeof details !== 'object') return [];
  return [
    ...(details.fields ?? []).map((f: { field: string }) => f.field),
    ...(typeof details.field === 'string' ? [details.field] : []),
    ...(details.problems ?? []).map((p: { field: string }) => p.field),
  ];
}

async function expectRefused(c: BadCase) {
  const app = c.app?.() ?? t;
  const username = c.as === undefined ? 'agent1' : c.as;
  if (username) await app.login(username); // a first login writes an audit row: not part of the case
  const before = await rowCounts(app);
  const res = await inject(app, username, c.req());
  expect(res.statusCode, res.body.slice(0, 500)).toBe(c.status);
  const body = res.json();
  if (Array.isArray(c.code)) expect(c.code).toContain(body.code);
  else expect(body.code).toBe(c.code);
  expect(typeof body.message).toBe('string');
  expect(body.message_zh, 'message_zh').toMatch(/\S/);
  expect(body.request_id).toBe(res.headers['x-request-id']);
  if (c.field) {
    const fields = fieldsOf(body.details);
    expect(fields.some((f) => f === c.field || f.startsWith(`${c.field}.`)), `details name ${c.field}: ${JSON.stringify(body.details)}`).toBe(true);
  }
  c.details?.(body.details);
  expect(await rowCounts(app), 'nothing was written').toEqual(before);
}

function cases(list: BadCase[]) {
  for (const c of list) {
    const code = Array.isArray(c.code) ? c.code.join('|') : c.code;
    it(`${c.name} → ${c.status} ${code}${c.field ? ` (${c.field})` : ''}`, () => expectRefused(c));
  }
}

// Request shapes used again and again
const createTicket = (payload: unknown, headers: Record<string, string> = {}): InjectOptions => ({ method: 'POST', url: '/api/v1/tickets', payload: payload as never, headers });
const ticketWith = (extra: Record<string, unknown>) => createTicket({ channel: 'phone', type: 'help', ...extra });
const patch = (id: () => string, payload: Record<string, unknown>): InjectOptions => ({ method: 'PATCH', url: `/api/v1/tickets/${id()}`, payload });
const transition = (which: keyof typeof tk, payload: Record<string, unknown>): InjectOptions => ({
  method: 'POST',
  url: `/api/v1/tickets/${tk[which].id}/transitions`,
  payload: { version: tk[which].version, ...payload },
});
const get = (url: string): InjectOptions => ({ method: 'GET', url: `/api/v1${url}` });
const raw = (contentType: string, body: string): InjectOptions => ({ method: 'POST', url: '/api/v1/tickets', payload: body, headers: { 'content-type': contentType } });

// ---------------------------------------------------------------------------------------------

describe(`bad input on ${testDialect}`, () => {
  describe('the body as a whole', () => {
    cases([
      { name: 'a body over the 1 MiB default limit', req: () => ticketWith({ situation: 'x'.repeat(1024 * 1024 + 1) }), status: 413, code: 'BODY_TOO_LARGE' },
      { name: 'a body over the small app\'s configured limit', app: () => small, req: () => ticketWith({ situation: 'x'.repeat(SMALL_LIMIT + 1) }), status: 413, code: 'BODY_TOO_LARGE' },
      { name: 'a calendar year over its own 256 KiB route limit', as: 'admin', req: () => ({ method: 'POST', url: '/api/v1/calendar/years', payload: { year: 2027, source: 'x'.repeat(300 * 1024) } }), status: 413, code: 'BODY_TOO_LARGE' },
      { name: 'an oversized login body, before anyone is logged in', as: null, req: () => ({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'agent1', password: 'x'.repeat(1024 * 1024 + 1) } }), status: 413, code: 'BODY_TOO_LARGE' },
      { name: 'an oversized body without a session is refused for the session first', as: null, req: () => ticketWith({ situation: 'x'.repeat(1024 * 1024 + 1) }), status: 401, code: 'AUTH_REQUIRED' },
      { name: 'a text/plain body (what a cross-site form can send)', req: () => raw('text/plain', JSON.stringify({ channel: 'phone', type: 'help' })), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'a text/plain transition', req: () => ({ ...transition('accepted', { action: 'cancel', reason: 'x' }), payload: JSON.stringify({ action: 'cancel', version: 1, reason: 'x' }), headers: { 'content-type': 'text/plain' } }), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'a form-urlencoded body', req: () => raw('application/x-www-form-urlencoded', 'channel=phone&type=help'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'a multipart body', req: () => raw('multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="channel"\r\n\r\nphone\r\n--x--\r\n'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'malformed JSON', req: () => raw('application/json', '{"channel": "phone", "type": '), status: 400, code: 'BODY_INVALID' },
      { name: 'JSON with a trailing comma', req: () => raw('application/json', '{"channel": "phone", "type": "help",}'), status: 400, code: 'BODY_INVALID' },
      { name: 'an empty JSON body', req: () => raw('application/json', ''), status: 400, code: 'BODY_INVALID' },
      { name: 'a JSON array instead of an object', req: () => raw('application/json', '[]'), status: 400, code: 'VALIDATION_FAILED', field: 'body' },
      { name: 'JSON null instead of an object', req: () => raw('application/json', 'null'), status: 400, code: 'VALIDATION_FAILED', field: 'body' },
    ]);

    it('a body just under the small app\'s limit is accepted (the limit is the configured one)', async () => {
      const res = await inject(small, 'agent1', ticketWith({ situation: 'x'.repeat(SMALL_LIMIT - 200) }));
      expect(res.statusCode).toBe(201);
    });
  });

  describe('unknown fields (strict objects)', () => {
    cases([
      { name: 'POST /tickets with an unknown field', req: () => ticketWith({ foo: 1 }), status: 400, code: 'VALIDATION_FAILED', field: 'foo' },
      { name: 'POST /tickets with two unknown fields', req: () => ticketWith({ foo: 1, bar: 2 }), status: 400, code: 'VALIDATION_FAILED', field: 'bar' },
      { name: 'PATCH /tickets/:id with callerPhone (not editable)', req: () => patch(() => tk.accepted.id, { version: tk.accepted.version, callerPhone: '13800138000' }), status: 400, code: 'VALIDATION_FAILED', field: 'callerPhone' },
      { name: 'a transition with a field of another action', req: () => transition('accepted', { action: 'cancel', reason: '重复', handlingUnitId: 'x' }), status: 400, code: 'VALIDATION_FAILED', field: 'handlingUnitId' },
      { name: 'GET /tickets with an unknown query parameter', req: () => get('/tickets?foo=1'), status: 400, code: 'VALIDATION_FAILED', field: 'foo' },
      { name: 'GET /citizens/lookup with an unknown query parameter', req: () => get('/citizens/lookup?phone=13800138000&name=x'), status: 400, code: 'VALIDATION_FAILED', field: 'name' },
      { name: 'POST /users with an unknown field', as: 'admin', req: () => ({ method: 'POST', url: '/api/v1/users', payload: { username: 'x-unknown', displayName: 'x', role: 'agent', password: 'quiet-harbor-77', isAdmin: true } }), status: 400, code: 'VALIDATION_FAILED', field: 'isAdmin' },
    ]);
  });

  describe('fields of the wrong shape', () => {
    cases([
      { name: 'a missing ticket type', req: () => createTicket({ channel: 'phone' }), status: 400, code: 'VALIDATION_FAILED', field: 'type' },
      { name: 'an unknown channel', req: () => ticketWith({ channel: 'fax' }), status: 400, code: 'VALIDATION_FAILED', field: 'channel' },
      { name: 'confidential as a string', req: () => ticketWith({ confidential: 'yes' }), status: 400, code: 'VALIDATION_FAILED', field: 'confidential' },
      { name: 'a latitude out of range', req: () => ticketWith({ lat: 91, lng: 120 }), status: 400, code: 'VALIDATION_FAILED', field: 'lat' },
      { name: 'a latitude without a longitude', req: () => ticketWith({ lat: 36, lng: null }), status: 400, code: 'COORDINATES_INCOMPLETE', field: 'lat' },
      { name: 'a title over 200 characters', req: () => ticketWith({ title: '长'.repeat(201) }), status: 400, code: 'VALIDATION_FAILED', field: 'title' },
      { name: 'a ticket id over 64 characters', req: () => get(`/tickets/${'x'.repeat(65)}`), status: 400, code: 'VALIDATION_FAILED', field: 'id' },
    ]);
  });

  describe('malformed phone numbers', () => {
    const BAD_PHONES = ['12345abc', '1380013800', '23800138000', '138001380001', '+1 415 555 0100', '13８00138000', '95598-1'];
    cases(BAD_PHONES.map((phone) => ({ name: `callerPhone ${JSON.stringify(phone)}`, req: () => ticketWith({ callerPhone: phone }), status: 400, code: 'PHONE_INVALID', field: 'callerPhone' })));
    cases([
      { name: 'a callerPhone over 32 characters', req: () => ticketWith({ callerPhone: '1'.repeat(33) }), status: 400, code: 'VALIDATION_FAILED', field: 'callerPhone' },
      { name: 'caller lookup of "abcdef"', req: () => get('/citizens/lookup?phone=abcdef'), status: 400, code: 'PHONE_INVALID', field: 'phone' },
      { name: 'caller lookup of "12" (too short)', req: () => get('/citizens/lookup?phone=12'), status: 400, code: 'VALIDATION_FAILED', field: 'phone' },
      { name: 'caller lookup without a phone', req: () => get('/citizens/lookup'), status: 400, code: 'VALIDATION_FAILED', field: 'phone' },
      { name: 'listing by a malformed caller phone', req: () => get('/tickets?callerPhone=138-abc'), status: 400, code: 'PHONE_INVALID', field: 'callerPhone' },
      { name: 'a user with a malformed phone', as: 'admin', req: () => ({ method: 'POST', url: '/api/v1/users', payload: { username: 'x-phone', displayName: 'x', role: 'agent', password: 'quiet-harbor-77', phone: '12ab' } }), status: 400, code: 'USER_INVALID', field: 'phone' },
    ]);
  });

  describe('dates and times', () => {
    const NOT_ISO_WITH_ZONE = ['2025-10-01T09:00:00', '2025-10-01', '2025/10/01 09:00:00+08:00', '2025-10-01 09:00:00+08:00', '1759280400000', '2025-10-01T09:00:00 CST', '明天上午'];
    cases(NOT_ISO_WITH_ZONE.map((s) => ({ name: `occurredAt ${JSON.stringify(s)}`, req: () => ticketWith({ occurredAt: s }), status: 400, code: 'VALIDATION_FAILED', field: 'occurredAt' })));
    cases([
      { name: 'occurredAt in month 13', req: () => ticketWith({ occurredAt: '2025-13-01T09:00:00+08:00' }), status: 400, code: 'VALIDATION_FAILED', field: 'occurredAt' },
      { name: 'occurredAt at 25 o\'clock', req: () => ticketWith({ occurredAt: '2025-10-01T25:00:00+08:00' }), status: 400, code: 'VALIDATION_FAILED', field: 'occurredAt' },
      { name: 'occurredAt on February 30 (no such day)', req: () => ticketWith({ occurredAt: '2025-02-30T09:00:00+08:00' }), status: 400, code: 'VALIDATION_FAILED', field: 'occurredAt' },
      { name: 'occurredAt on April 31 (no such day)', req: () => ticketWith({ occurredAt: '2025-04-31T09:00:00+08:00' }), status: 400, code: 'VALIDATION_FAILED', field: 'occurredAt' },
      { name: 'occurredAt a day in the future', req: () => ticketWith({ occurredAt: '2025-10-10T10:00:00+08:00' }), status: 400, code: 'DATE_IN_FUTURE', field: 'occurredAt' },
      { name: 'occurredAt 11 minutes in the future', req: () => ticketWith({ occurredAt: '2025-10-09T02:11:00Z' }), status: 400, code: 'DATE_IN_FUTURE', field: 'occurredAt' },
      { name: 'PATCH occurredAt into the future', req: () => patch(() => tk.accepted.id, { version: tk.accepted.version, occurredAt: '2026-01-01T00:00:00+08:00' }), status: 400, code: 'DATE_IN_FUTURE', field: 'occurredAt' },
      { name: 'PATCH occurredAt without a zone', req: () => patch(() => tk.accepted.id, { version: tk.accepted.version, occurredAt: '2025-10-01T09:00' }), status: 400, code: 'VALIDATION_FAILED', field: 'occurredAt' },
      { name: 'a proposed extension deadline without a zone', as: 'water1', req: () => transition('acknowledged', { action: 'request_extension', reason: '需协调', proposedDeadline: '2025-10-20T17:00:00' }), status: 400, code: 'VALIDATION_FAILED', field: 'proposedDeadline' },
      { name: 'a proposed extension deadline in the past', as: 'water1', req: () => transition('acknowledged', { action: 'request_extension', reason: '需协调', proposedDeadline: '2025-10-01T17:00:00+08:00' }), status: 400, code: 'DEADLINE_IN_PAST', field: 'proposedDeadline' },
      { name: 'listing from a date without a time', req: () => get('/tickets?createdFrom=2025-10-01'), status: 400, code: 'VALIDATION_FAILED', field: 'createdFrom' },
      { name: 'listing from month 13', req: () => get('/tickets?createdFrom=2025-13-01T00:00:00%2B08:00'), status: 400, code: ['VALIDATION_FAILED', 'DATE_INVALID'], field: 'createdFrom' },
      { name: 'a deadline from a time without a zone', req: () => get('/calendar/deadline?from=2025-10-01T09:00:00&workingDays=1'), status: 400, code: 'VALIDATION_FAILED', field: 'from' },
      { name: 'a deadline without a start', req: () => get('/calendar/deadline?workingDays=1'), status: 400, code: 'VALIDATION_FAILED', field: 'from' },
    ]);

    it('occurredAt 5 minutes ahead (clock skew) is accepted', async () => {
      const res = await inject(t, 'agent1', ticketWith({ occurredAt: '2025-10-09T02:05:00Z' }));
      expect(res.statusCode).toBe(201);
      expect(res.json().occurredAt).toBe('2025-10-09T10:05:00+08:00');
    });
  });

  describe('references that do not exist or belong to another city', () => {
    cases([
      { name: 'a category that does not exist', req: () => ticketWith({ categoryId: 'nope' }), status: 400, code: 'CATEGORY_NOT_FOUND', field: 'categoryId' },
      { name: 'a category of another city', req: () => ticketWith({ categoryId: ids.other.category }), status: 400, code: 'CATEGORY_NOT_FOUND', field: 'categoryId' },
      { name: 'a territory that does not exist', req: () => ticketWith({ territoryId: 'nope' }), status: 400, code: 'TERRITORY_NOT_FOUND', field: 'territoryId' },
      { name: 'a territory of another city', req: () => ticketWith({ territoryId: ids.other.territory }), status: 400, code: 'TERRITORY_NOT_FOUND', field: 'territoryId' },
      { name: 'a unit that does not exist', req: () => ticketWith({ handlingUnitId: 'nope' }), status: 400, code: 'UNIT_NOT_FOUND', field: 'handlingUnitId' },
      { name: 'a unit of another city', req: () => ticketWith({ handlingUnitId: ids.other.unit }), status: 400, code: 'UNIT_NOT_FOUND', field: 'handlingUnitId' },
      { name: 'PATCH to a unit of another city', req: () => patch(() => tk.accepted.id, { version: tk.accepted.version, handlingUnitId: ids.other.unit }), status: 400, code: 'UNIT_NOT_FOUND', field: 'handlingUnitId' },
      { name: 'PATCH to a category of another city', req: () => patch(() => tk.accepted.id, { version: tk.accepted.version, categoryId: ids.other.category }), status: 400, code: 'CATEGORY_NOT_FOUND', field: 'categoryId' },
      { name: 'PATCH to a territory of another city', req: () => patch(() => tk.accepted.id, { version: tk.accepted.version, territoryId: ids.other.territory }), status: 400, code: 'TERRITORY_NOT_FOUND', field: 'territoryId' },
      { name: 'listing by a territory that does not exist', req: () => get('/tickets?territoryId=nope'), status: 400, code: 'TERRITORY_NOT_FOUND', field: 'territoryId' },
      { name: 'listing by a territory of another city', req: () => get(`/tickets?territoryId=${ids.other.territory}`), status: 400, code: 'TERRITORY_NOT_FOUND', field: 'territoryId' },
      { name: 'a unit of another city in the directory', req: () => get(`/units/${ids.other.unit}`), status: 404, code: 'UNIT_NOT_FOUND' },
      { name: 'a territory of another city in the directory', req: () => get(`/territories/${ids.other.territory}`), status: 404, code: 'TERRITORY_NOT_FOUND' },
      { name: 'merging into a ticket that does not exist', req: () => transition('accepted', { action: 'merge', intoTicketId: 'nope' }), status: 400, code: 'TICKET_NOT_FOUND', field: 'intoTicketId' },
      { name: 'linking a ticket that does not exist', req: () => ({ method: 'POST', url: `/api/v1/tickets/${tk.accepted.id}/links`, payload: { ticketId: 'nope', kind: 'related' } }), status: 400, code: 'TICKET_NOT_FOUND', field: 'ticketId' },
      { name: 'linking a ticket to itself', req: () => ({ method: 'POST', url: `/api/v1/tickets/${tk.accepted.id}/links`, payload: { ticketId: tk.accepted.id, kind: 'related' } }), status: 400, code: 'LINK_TO_SELF' },
      { name: 'a citizen that does not exist', req: () => ({ method: 'PUT', url: '/api/v1/citizens/nope/confidential', payload: { confidential: true } }), status: 404, code: 'CITIZEN_NOT_FOUND' },
      { name: 'a unit handler bound to a unit that does not exist', as: 'admin', req: () => ({ method: 'POST', url: '/api/v1/users', payload: { username: 'x-dangling', displayName: 'x', role: 'unit_handler', password: 'quiet-harbor-77', unitId: 'nope' } }), status: 400, code: ['UNIT_NOT_FOUND', 'USER_INVALID'], field: 'unitId' },
      { name: 'a unit handler bound to a unit of another city', as: 'admin', req: () => ({ method: 'POST', url: '/api/v1/users', payload: { username: 'x-foreign', displayName: 'x', role: 'unit_handler', password: 'quiet-harbor-77', unitId: ids.other.unit } }), status: 400, code: ['UNIT_NOT_FOUND', 'USER_INVALID'], field: 'unitId' },
      { name: 'a grid member bound to a territory of another city', as: 'admin', req: () => ({ method: 'POST', url: '/api/v1/users', payload: { username: 'x-foreign-grid', displayName: 'x', role: 'grid_member', password: 'quiet-harbor-77', territoryId: ids.other.territory } }), status: 400, code: ['TERRITORY_NOT_FOUND', 'USER_INVALID'], field: 'territoryId' },
      { name: 'an API key bound to a unit that does not exist', as: 'admin', req: () => ({ method: 'POST', url: '/api/v1/api-keys', payload: { name: 'dangling', role: 'unit_handler', unitId: 'nope', scopes: ['tickets:read'] } }), status: 400, code: 'UNIT_NOT_FOUND', field: 'unitId' },
    ]);
  });

  describe('transitions the state machine refuses', () => {
    cases([
      { name: 'acknowledge an accepted ticket (not dispatched yet)', as: 'water1', req: () => transition('accepted', { action: 'acknowledge' }), status: 409, code: 'TRANSITION_NOT_ALLOWED', details: (d) => expect(d).toEqual({ status: 'accepted', action: 'acknowledge', allowedFrom: ['dispatched'] }) },
      { name: 'dispatch a ticket already dispatched', as: 'dispatcher1', req: () => transition('dispatched', { action: 'dispatch' }), status: 409, code: 'TRANSITION_NOT_ALLOWED', details: (d) => expect(d).toMatchObject({ status: 'dispatched', action: 'dispatch' }) },
      { name: 'reply to a ticket not acknowledged yet', as: 'water1', req: () => transition('dispatched', { action: 'reply', result: '已修复' }), status: 409, code: 'TRANSITION_NOT_ALLOWED' },
      { name: 'approve a reply never given', as: 'dispatcher1', req: () => transition('acknowledged', { action: 'approve_reply' }), status: 409, code: 'TRANSITION_NOT_ALLOWED' },
      { name: 'call back a ticket still at the unit', req: () => transition('acknowledged', { action: 'start_callback' }), status: 409, code: 'TRANSITION_NOT_ALLOWED' },
      { name: 'an agent acknowledges for the unit', req: () => transition('dispatched', { action: 'acknowledge' }), status: 403, code: 'ROLE_FORBIDDEN' },
      { name: 'an agent cancels (dispatchers only)', req: () => transition('accepted', { action: 'cancel', reason: '重复' }), status: 403, code: 'ROLE_FORBIDDEN' },
      { name: 'a unit cancels its ticket', as: 'water1', req: () => transition('dispatched', { action: 'cancel', reason: '不归我们管' }), status: 403, code: 'ROLE_FORBIDDEN' },
      { name: 'a unit approves its own reply', as: 'water1', req: () => transition('acknowledged', { action: 'approve_reply' }), status: 403, code: 'ROLE_FORBIDDEN' },
      { name: 'the supervisor edits a ticket', as: 'supervisor1', req: () => patch(() => tk.accepted.id, { version: tk.accepted.version, title: '改' }), status: 403, code: 'ROLE_FORBIDDEN' },
      { name: 'an unknown action', req: () => transition('accepted', { action: 'teleport' }), status: 400, code: 'VALIDATION_FAILED', field: 'action' },
      { name: 'a return without a reason', as: 'water1', req: () => transition('dispatched', { action: 'return_to_center' }), status: 400, code: 'VALIDATION_FAILED', field: 'reason' },
      { name: 'a return with a blank reason', as: 'water1', req: () => transition('dispatched', { action: 'return_to_center', reason: '   ' }), status: 400, code: 'FIELD_REQUIRED', field: 'reason' },
      { name: 'a merge into itself', req: () => transition('accepted', { action: 'merge', intoTicketId: tk.accepted.id }), status: 400, code: 'MERGE_INTO_SELF' },
      { name: 'an edit of an acknowledged ticket', req: () => patch(() => tk.acknowledged.id, { version: tk.acknowledged.version, title: '改' }), status: 409, code: 'TICKET_NOT_EDITABLE' },
    ]);
  });

  describe('versions (optimistic locking)', () => {
    cases([
      { name: 'a transition with a stale version', as: 'water1', req: () => ({ ...transition('dispatched', { action: 'acknowledge' }), payload: { action: 'acknowledge', version: tk.dispatched.version - 1 } }), status: 409, code: 'VERSION_CONFLICT', details: (d) => expect(d).toEqual({ currentVersion: tk.dispatched.version, currentStatus: 'dispatched' }) },
      { name: 'a transition with a version from the future', as: 'water1', req: () => ({ ...transition('dispatched', { action: 'acknowledge' }), payload: { action: 'acknowledge', version: 99 } }), status: 409, code: 'VERSION_CONFLICT', details: (d) => expect(d.currentVersion).toBe(tk.dispatched.version) },
      { name: 'a PATCH with a stale version', req: () => patch(() => tk.accepted.id, { version: tk.accepted.version + 1, title: '改' }), status: 409, code: 'VERSION_CONFLICT', details: (d) => expect(d).toMatchObject({ currentVersion: tk.accepted.version }) },
      { name: 'a PATCH without a version', req: () => patch(() => tk.accepted.id, { title: '改' }), status: 400, code: 'VALIDATION_FAILED', field: 'version' },
      { name: 'a transition with version 0', req: () => ({ ...transition('accepted', { action: 'cancel' }), payload: { action: 'cancel', version: 0, reason: 'x' } }), status: 400, code: 'VALIDATION_FAILED', field: 'version' },
      { name: 'a transition with the version as a string', req: () => ({ ...transition('accepted', { action: 'cancel' }), payload: { action: 'cancel', version: '1', reason: 'x' } }), status: 400, code: 'VALIDATION_FAILED', field: 'version' },
    ]);
  });

  describe('dispatch needs all six elements (六要素)', () => {
    cases([
      { name: 'dispatch a bare ticket', as: 'dispatcher1', req: () => transition('bare', { action: 'dispatch' }), status: 422, code: 'SIX_ELEMENTS_INCOMPLETE', details: (d) => expect(d.missing).toEqual(['occurredAt', 'place', 'parties', 'situation', 'demand', 'handlingUnit']) },
      { name: 'dispatch a bare ticket naming its unit', as: 'dispatcher1', req: () => transition('bare', { action: 'dispatch', handlingUnitId: ids.waterUnit }), status: 422, code: 'SIX_ELEMENTS_INCOMPLETE', details: (d) => expect(d.missing).toEqual(['occurredAt', 'place', 'parties', 'situation', 'demand']) },
    ]);

    it('blank parties and a missing demand are named, in Chinese too', async () => {
      const partial = await created('agent1', { channel: 'phone', type: 'help', ...SIX, parties: '   ', demand: null, handlingUnitId: ids.waterUnit });
      await expectRefused({
        name: 'partial', as: 'dispatcher1',
        req: () => ({ method: 'POST', url: `/api/v1/tickets/${partial.id}/transitions`, payload: { action: 'dispatch', version: partial.version } }),
        status: 422, code: 'SIX_ELEMENTS_INCOMPLETE',
        details: (d) => expect(d.missing).toEqual(['parties', 'demand']),
      });
      const res = await inject(t, 'dispatcher1', { method: 'POST', url: `/api/v1/tickets/${partial.id}/transitions`, payload: { action: 'dispatch', version: partial.version } });
      expect(res.json().message_zh).toContain('当事人、需求诉求');
    });
  });

  describe('queries', () => {
    cases([
      ...['0', '201', '-1', '1.5', 'abc', ''].map((v): BadCase => ({ name: `pageSize=${v}`, req: () => get(`/tickets?pageSize=${v}`), status: 400, code: 'VALIDATION_FAILED', field: 'pageSize' })),
      ...['0', '-3', 'abc', '100001'].map((v): BadCase => ({ name: `page=${v}`, req: () => get(`/tickets?page=${v}`), status: 400, code: 'VALIDATION_FAILED', field: 'page' })),
      { name: 'a status that does not exist', req: () => get('/tickets?status=accepted,bogus'), status: 400, code: 'VALIDATION_FAILED', field: 'status' },
      { name: 'an urgency that does not exist', req: () => get('/tickets?urgency=asap'), status: 400, code: 'VALIDATION_FAILED', field: 'urgency' },
      { name: 'an empty search', req: () => get('/tickets?q='), status: 400, code: 'VALIDATION_FAILED', field: 'q' },
      { name: 'a ticket number of 21 characters', req: () => get(`/tickets?number=${'1'.repeat(21)}`), status: 400, code: 'VALIDATION_FAILED', field: 'number' },
      { name: 'units pageSize=201', req: () => get('/units?pageSize=201'), status: 400, code: 'VALIDATION_FAILED', field: 'pageSize' },
      { name: 'units of an unknown kind', req: () => get('/units?kind=alien'), status: 400, code: 'VALIDATION_FAILED', field: 'kind' },
      { name: 'territories of an unknown level', req: () => get('/territories?level=province'), status: 400, code: 'VALIDATION_FAILED', field: 'level' },
      { name: 'a deadline with two limits', req: () => get('/calendar/deadline?from=2025-10-01T09:00:00%2B08:00&workingDays=1&hours=2'), status: 400, code: 'LIMIT_REQUIRED' },
      { name: 'a deadline with no limit', req: () => get('/calendar/deadline?from=2025-10-01T09:00:00%2B08:00'), status: 400, code: 'LIMIT_REQUIRED' },
      { name: 'a deadline of -1 working days', req: () => get('/calendar/deadline?from=2025-10-01T09:00:00%2B08:00&workingDays=-1'), status: 400, code: 'VALIDATION_FAILED', field: 'workingDays' },
      { name: 'a deadline of 1.5 working days', req: () => get('/calendar/deadline?from=2025-10-01T09:00:00%2B08:00&workingDays=1.5'), status: 400, code: 'VALIDATION_FAILED', field: 'workingDays' },
      { name: 'a deadline into a year without calendar data', req: () => get('/calendar/deadline?from=2026-12-30T16:00:00%2B08:00&workingDays=3'), status: 422, code: 'CALENDAR_YEAR_MISSING' },
    ]);
  });

  describe('users, API keys and calendar files', () => {
    const user = (extra: Record<string, unknown>): InjectOptions => ({ method: 'POST', url: '/api/v1/users', payload: { username: 'x-user', displayName: '某人', role: 'agent', password: 'quiet-harbor-77', ...extra } });
    cases([
      { name: 'a username already taken', as: 'admin', req: () => user({ username: 'agent1' }), status: 409, code: 'USERNAME_TAKEN' },
      { name: 'a password of 11 characters', as: 'admin', req: () => user({ password: 'abc1234defg' }), status: 400, code: 'PASSWORD_TOO_SHORT', field: 'password' },
      { name: 'a common password', as: 'admin', req: () => user({ password: 'Password1234' }), status: 400, code: 'PASSWORD_TOO_COMMON', field: 'password' },
      { name: 'a password containing the username', as: 'admin', req: () => user({ password: 'my-x-user-secret' }), status: 400, code: 'PASSWORD_CONTAINS_USERNAME', field: 'password' },
      { name: 'an empty password', as: 'admin', req: () => user({ password: '' }), status: 400, code: 'VALIDATION_FAILED', field: 'password' },
      { name: 'a username with capitals and a space', as: 'admin', req: () => user({ username: 'Bad User' }), status: 400, code: 'USER_INVALID', field: 'username' },
      { name: 'a role that does not exist', as: 'admin', req: () => user({ role: 'root' }), status: 400, code: 'VALIDATION_FAILED', field: 'role' },
      { name: 'the system role', as: 'admin', req: () => user({ role: 'system' }), status: 400, code: 'VALIDATION_FAILED', field: 'role' },
      { name: 'a unit handler without a unit', as: 'admin', req: () => user({ role: 'unit_handler' }), status: 400, code: 'USER_INVALID', field: 'unitId' },
      { name: 'a grid member without a territory', as: 'admin', req: () => user({ role: 'grid_member' }), status: 400, code: 'USER_INVALID', field: 'territoryId' },
      { name: 'an API key with the system role', as: 'admin', req: () => ({ method: 'POST', url: '/api/v1/api-keys', payload: { name: 'sys', role: 'system', scopes: ['tickets:read'] } }), status: 400, code: 'VALIDATION_FAILED', field: 'role' },
      { name: 'a calendar year before 2000 with no holidays', as: 'admin', req: () => ({ method: 'POST', url: '/api/v1/calendar/years', payload: { year: 1999, source: 'x', holidays: [] } }), status: 400, code: 'CALENDAR_FILE_INVALID', details: (d) => expect(d.issues.map((i: { path: string }) => i.path)).toEqual(['year', 'holidays']) },
      { name: 'a calendar day that does not exist', as: 'admin', req: () => ({ method: 'POST', url: '/api/v1/calendar/years', payload: { year: 2027, source: 'x', holidays: [{ name: '元旦', days: ['2027-02-30'] }] } }), status: 400, code: 'CALENDAR_FILE_INVALID' },
    ]);
  });

  describe('idempotency keys', () => {
    const body = { channel: 'phone', type: 'help', title: '幂等测试', callerPhone: '13911112222' };

    it('the same Idempotency-Key twice → the same ticket, one row, one citizen, one audit event, one receipt text', async () => {
      const before = await rowCounts(t);
      const first = await inject(t, 'agent1', createTicket(body, { 'idempotency-key': 'idem-create-1' }));
      const second = await inject(t, 'agent1', createTicket(body, { 'idempotency-key': 'idem-create-1' }));
      expect(first.statusCode).toBe(201);
      expect(second.statusCode).toBe(201);
      expect(second.json()).toEqual(first.json());
      const after = await rowCounts(t);
      expect(after).toEqual({ ...before, tickets: before.tickets + 1, citizens: before.citizens + 1, audit_events: before.audit_events + 1, idempotency_records: before.idempotency_records + 1, sms_messages: before.sms_messages + 1 });
    });

    it('the same key with another body → 409 IDEMPOTENCY_KEY_REUSED, nothing written', async () => {
      await expectRefused({ name: 'reuse', req: () => createTicket({ ...body, title: '另一件事' }, { 'idempotency-key': 'idem-create-1' }), status: 409, code: 'IDEMPOTENCY_KEY_REUSED', details: (d) => expect(d.key).toBe('idem-create-1') });
    });

    it('the same key from another user is that user\'s own key: a second ticket', async () => {
      const mine = (await inject(t, 'agent1', createTicket(body, { 'idempotency-key': 'idem-create-2' }))).json();
      const theirs = await inject(t, 'agent2', createTicket(body, { 'idempotency-key': 'idem-create-2' }));
      expect(theirs.statusCode).toBe(201);
      expect(theirs.json().id).not.toBe(mine.id);
    });

    it('a refused request does not use up its key: corrected, the same key goes through', async () => {
      await expectRefused({ name: 'bad phone', req: () => createTicket({ ...body, callerPhone: 'nope' }, { 'idempotency-key': 'idem-create-3' }), status: 400, code: 'PHONE_INVALID', field: 'callerPhone' });
      const ok = await inject(t, 'agent1', createTicket(body, { 'idempotency-key': 'idem-create-3' }));
      expect(ok.statusCode).toBe(201);
    });

    it('a transition retried with its key → the same answer, one version step, one audit event', async () => {
      const fresh = await created('agent1', { channel: 'phone', type: 'help', ...SIX, handlingUnitId: ids.waterUnit });
      const d = await forceStatus(fresh.id, 'dispatched', fresh.version);
      const ack = { method: 'POST' as const, url: `/api/v1/tickets/${d.id}/transitions`, payload: { action: 'acknowledge', version: d.version }, headers: { 'idempotency-key': 'idem-ack-1' } };
      const before = await rowCounts(t);
      const first = await inject(t, 'water1', ack);
      const second = await inject(t, 'water1', ack);
      expect(first.statusCode).toBe(200);
      expect(second.statusCode).toBe(200);
      expect(second.json()).toMatchObject({ status: 'acknowledged', version: d.version + 1 });
      expect(await rowCounts(t)).toEqual({ ...before, audit_events: before.audit_events + 1, idempotency_records: before.idempotency_records + 1 });
      // The same key for another command on the same ticket is refused.
      await expectRefused({
        name: 'reuse', as: 'water1',
        req: () => ({ ...ack, payload: { action: 'start_handling', version: d.version + 1 } }),
        status: 409, code: 'IDEMPOTENCY_KEY_REUSED',
      });
    });
  });

  describe('routes that do not exist', () => {
    cases([
      { name: 'GET /api/v1/nope', req: () => get('/nope'), status: 404, code: 'ROUTE_NOT_FOUND' },
      { name: 'GET /api/v1/nope without a session', as: null, req: () => get('/nope'), status: 404, code: 'ROUTE_NOT_FOUND' },
      { name: 'DELETE /api/v1/tickets/:id (no such method)', req: () => ({ method: 'DELETE', url: `/api/v1/tickets/${tk.accepted.id}` }), status: 404, code: 'ROUTE_NOT_FOUND' },
      { name: 'GET /api/v2/tickets', req: () => ({ method: 'GET', url: '/api/v2/tickets' }), status: 404, code: 'ROUTE_NOT_FOUND' },
      { name: 'POST /api/v1/tickets/:id/transitions/extra', req: () => ({ method: 'POST', url: `/api/v1/tickets/${tk.accepted.id}/transitions/extra`, payload: {} }), status: 404, code: 'ROUTE_NOT_FOUND' },
      { name: 'a ticket id that does not exist', req: () => get('/tickets/01NOPE'), status: 404, code: 'TICKET_NOT_FOUND' },
    ]);
  });

  describe('a 500 never leaks internals', () => {
    const leaks = (res: LightMyRequestResponse) => {
      expect(res.statusCode).toBe(500);
      const body = res.json();
      expect(Object.keys(body).sort()).toEqual(['code', 'message', 'message_zh', 'request_id']);
      expect(body).toMatchObject({ code: 'INTERNAL_ERROR', message: 'internal error', message_zh: '系统内部错误，请稍后重试' });
      expect(body.request_id).toBe(res.headers['x-request-id']);
      for (const secret of ['hunter2', 'ECONNREFUSED', '10.9.8.7', 'SQLITE', 'connection.ts', ' at ']) expect(res.body).not.toContain(secret);
    };
    it('an Error thrown by a route → 500 INTERNAL_ERROR, message and stack withheld', async () => {
      leaks(await inject(small, 'agent1', get('/__test/boom')));
    });
    it('an error with its own code and a 5xx statusCode → the same generic 500', async () => {
      leaks(await inject(small, 'agent1', get('/__test/boom-coded')));
    });
    it('a thrown string → the same generic 500', async () => {
      leaks(await inject(small, 'agent1', get('/__test/boom-string')));
    });
    it('the request id of a 500 is the one the client sent, for the support desk', async () => {
      const res = await inject(small, 'agent1', { ...get('/__test/boom'), headers: { 'x-request-id': 'support-ticket-42' } });
      expect(res.json().request_id).toBe('support-ticket-42');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Last: a dispatch that checked its unit inside its transaction once waited for ever on SQLite's
// single connection and left the database locked; it runs last so that a regression cannot take
// other cases with it.

describe(`dispatch to a unit of another city on ${testDialect}`, () => {
  it('→ 400 UNIT_NOT_FOUND (handlingUnitId), within 5 s, nothing written', async () => {
    const fresh = await created('agent1', { channel: 'phone', type: 'help', ...SIX, handlingUnitId: ids.waterUnit });
    const before = await rowCounts(t);
    const answer = inject(t, 'dispatcher1', { method: 'POST', url: `/api/v1/tickets/${fresh.id}/transitions`, payload: { action: 'dispatch', version: fresh.version, handlingUnitId: ids.other.unit } });
    const res = await Promise.race([answer, new Promise<'hangs'>((resolve) => setTimeout(() => resolve('hangs'), 5000).unref())]);
    expect(res, 'the dispatch never answered').not.toBe('hangs');
    const r = res as LightMyRequestResponse;
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'UNIT_NOT_FOUND', details: { field: 'handlingUnitId' } });
    expect(await rowCounts(t)).toEqual(before);
  });
});
