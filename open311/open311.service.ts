import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { recordAudit } from '../audit';
import {
  ApiKeyScope, badRequest, forbidden, newId, notFound, systemClock, toDbTime, unauthorized,
  type Actor, type Clock, type TicketType,
} from '../core';
import { Open311Repository, type Open311RequestRow } from './open311.repository';
import {
  REQUEST_TYPE_ATTRIBUTE, isTicketType, requestStatusOf, serviceAttributes, servicesOf, ticketStatusesOf,
  type Open311Created, type Open311Request, type Open311Service, type Open311ServiceDefinition, type RequestStatus,
} from './domain/georeport';
import type { Open311Ports, Open311Ticket } from './ports';

/** A civic app, known by its API key (接入方): the key's role and unit decide what it may read. */
export interface Open311Client {
  actor: Actor;
  apiKeyId: string;
  name: string;
}

/** A request as a client posts it (GeoReport v2 `POST requests`), already typed. */
export interface Open311NewRequest {
  serviceCode: string;
  lat?: number | null;
  long?: number | null;
  addressString?: string | null;
  /** A building's code (楼栋码, as on the QR plates): the place exactly. */
  addressId?: string | null;
  attributes: Record<string, string[]>;
  email?: string | null;
  deviceId?: string | null;
  accountId?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  phone?: string | null;
  description?: string | null;
  mediaUrl?: string | null;
}

export interface Open311ListQuery {
  serviceRequestIds?: string[];
  serviceCode?: string;
  /** ISO 8601 with a zone, already checked. */
  startDate?: Date;
  endDate?: Date;
  status?: RequestStatus;
}

export interface Open311Deps {
  db: Kysely<DB>;
  ports: Open311Ports;
  clock?: Clock;
}

/** Without dates a list covers the last 90 days (the spec's suggestion), at most this many requests. */
const DEFAULT_DAYS = 90;
export const MAX_LISTED = 1000;
/** The longest `service_request_id` list one call may ask for. */
export const MAX_IDS = 100;

const SERVICE_NOTICE = '您的诉求已受理，12345热线将按时限转办并答复。Your request was registered by the 12345 hotline.';

/** What the request being registered carries to intake's `ticket.created` (inside its transaction). */
interface Pending {
  client: Open311Client;
  token: string;
  input: Open311NewRequest;
  serviceCode: string;
}

/** Open311 GeoReport v2 over intake: services from the category tree, requests as tickets. */
export function createOpen311Service(deps: Open311Deps) {
  const clock = deps.clock ?? systemClock;
  const repo = new Open311Repository(deps.db);
  const pending = new AsyncLocalStorage<Pending>();
  const { ports } = deps;

  async function serviceList(cityId: string) {
    return servicesOf(await ports.categories(cityId));
  }

  async function serviceByCode(cityId: string, code: string) {
    const s = (await serviceList(cityId)).find((x) => x.service_code === code);
    if (!s) throw notFound('SERVICE_NOT_FOUND', `service_code ${code} not found`, `服务类别 ${code} 不存在`, { field: 'service_code' });
    return s;
  }

  async function toRequest(t: Open311Ticket, rows: Map<string, Open311RequestRow>, categories: Map<string, { code: string; name: string }>, units: Map<string, Promise<string | null>>): Promise<Open311Request> {
    const category = t.categoryId ? categories.get(t.categoryId) : undefined;
    const row = rows.get(t.id);
    // One lookup per unit, not per request: a list of 1,000 names a few dozen units.
    if (t.handlingUnitId && !units.has(t.handlingUnitId)) units.set(t.handlingUnitId, ports.unitName(t.handlingUnitId));
    return {
      service_request_id: t.number,
      status: requestStatusOf(t.status),
      status_notes: t.statusZh,
      service_name: category?.name ?? null,
      service_code: category?.code ?? null,
      description: t.situation,
      agency_responsible: t.handlingUnitId ? await units.get(t.handlingUnitId)! : null,
      service_notice: row ? SERVICE_NOTICE : null,
      requested_datetime: t.createdAt,
      updated_datetime: t.updatedAt,
      expected_datetime: null,
      address: t.addressText,
      address_id: null,
      zipcode: null,
      lat: t.lat,
      long: t.lng,
      media_url: row?.media_url ?? null,
    };
  }

  async function toRequests(cityId: string, tickets: Open311Ticket[]): Promise<Open311Request[]> {
    const rows = new Map((await repo.byTickets(tickets.map((t) => t.id))).map((r) => [r.ticket_id, r]));
    const categories = new Map((await ports.categories(cityId)).map((c) => [c.id, { code: c.code, name: c.name }]));
    const units = new Map<string, Promise<string | null>>();
    const out: Open311Request[] = [];
    for (const t of tickets) out.push(await toRequest(t, rows, categories, units));
    return out;
  }

  return {
    /**
     * The client behind an API key with the `open311` scope. Without a key: null when `required` is
     * false (discovery and services are public), 401 otherwise.
     */
    async authenticate(key: string | undefined, required: boolean): Promise<Open311Client | null> {
      if (!key) {
        if (required) throw unauthorized('API_KEY_REQUIRED', 'an api_key with the open311 scope is required', '需要具有 open311 权限的 API 密钥');
        return null;
      }
      const c = await ports.apiKey(key);
      if ('refused' in c) {
        if (c.refused === 'expired') throw unauthorized('API_KEY_EXPIRED', 'this API key has expired', 'API 密钥已过期');
        throw unauthorized('API_KEY_INVALID', 'invalid or revoked API key', 'API 密钥无效或已吊销');
      }
      if (!c.scopes.includes(ApiKeyScope.open311)) {
        throw forbidden('API_KEY_SCOPE', 'this API key may not use Open311 (needs open311)', '该 API 密钥无权访问开放接口（需要 open311）', { needs: [ApiKeyScope.open311] });
      }
      return { actor: c.actor, apiKeyId: c.apiKeyId, name: c.actor.name };
    },

    /** The city a call is about: the client's own, or `jurisdiction_id`, or the only one there is. */
    async jurisdiction(jurisdictionId: string | undefined, client: Open311Client | null): Promise<string> {
      if (client) {
        if (jurisdictionId && jurisdictionId !== client.actor.cityId) {
          throw badRequest('JURISDICTION_MISMATCH', `this API key belongs to jurisdiction ${client.actor.cityId}`, `该 API 密钥属于 ${client.actor.cityId}`, { field: 'jurisdiction_id' });
        }
        return client.actor.cityId;
      }
      const cities = await ports.cities();
      if (jurisdictionId) {
        if (!cities.some((c) => c.id === jurisdictionId)) throw notFound('JURISDICTION_NOT_FOUND', `jurisdiction ${jurisdictionId} not found`, `辖区 ${jurisdictionId} 不存在`, { field: 'jurisdiction_id' });
        return jurisdictionId;
      }
      if (cities.length === 1) return cities[0].id;
      throw badRequest('JURISDICTION_REQUIRED', 'jurisdiction_id is required: this server serves several cities', '本服务承载多个城市，须提供 jurisdiction_id', { field: 'jurisdiction_id' });
    },

    async services(cityId: string): Promise<Open311Service[]> {
      return (await serviceList(cityId)).map(({ categoryId: _c, ...s }) => s);
    },

    async serviceDefinition(cityId: string, code: string): Promise<Open311ServiceDefinition> {
      const s = await serviceByCode(cityId, code);
      return { service_code: s.service_code, attributes: serviceAttributes() };
    },

    /**
     * Registers a request as a ticket through intake (channel `open311`, the key as its registrar):
     * the same place resolution, routing queue, confidentiality and audit as any ticket. The
     * request's own row (token, client, email) is written in the ticket's transaction; an
     * `Idempotency-Key` retry returns the first request.
     */
    async createRequest(client: Open311Client, input: Open311NewRequest, opts: { requestId?: string; idempotencyKey?: string } = {}): Promise<Open311Created> {
      const cityId = client.actor.cityId;
      const categories = await ports.categories(cityId);
      const service = await serviceByCode(cityId, input.serviceCode);
      const category = categories.find((c) => c.id === service.categoryId)!;
      const hasPoint = input.lat != null || input.long != null;
      if (hasPoint && (input.lat == null || input.long == null)) throw badRequest('COORDINATES_INCOMPLETE', 'lat and long go together', '经纬度须同时提供', { field: 'lat' });
      if (!hasPoint && !input.addressString?.trim() && !input.addressId?.trim()) {
        throw badRequest('LOCATION_REQUIRED', 'a location is required: lat and long, address_string or address_id', '须提供位置：经纬度、地址或楼栋码', { field: 'address_string' });
      }
      const known = new Set(serviceAttributes().map((a) => a.code));
      for (const code of Object.keys(input.attributes)) {
        if (!known.has(code)) throw badRequest('ATTRIBUTE_UNKNOWN', `attribute ${code} is not defined for this service`, `该服务没有属性 ${code}`, { field: `attribute[${code}]` });
      }
      const asked = input.attributes[REQUEST_TYPE_ATTRIBUTE];
      if (asked && (asked.length !== 1 || !isTicketType(asked[0]))) {
        throw badRequest('ATTRIBUTE_INVALID', `attribute[${REQUEST_TYPE_ATTRIBUTE}] must be one of its keys`, `属性 ${REQUEST_TYPE_ATTRIBUTE} 的取值不正确`, { field: `attribute[${REQUEST_TYPE_ATTRIBUTE}]` });
      }
      const type: TicketType = (asked?.[0] as TicketType | undefined) ?? category.defaultType ?? 'help';
      const name = [input.lastName, input.firstName].map((s) => s?.trim()).filter(Boolean).join('') || null;
      const state: Pending = { client, token: newId(), input, serviceCode: service.service_code };
      const ticket = await pending.run(state, () => ports.tickets.create(
        { actor: client.actor, requestId: opts.requestId, idempotencyKey: opts.idempotencyKey },
        {
          type, categoryId: category.id, title: service.service_name, situation: input.description?.trim() || null,
          addressText: input.addressString?.trim() || null, lat: input.lat ?? null, lng: input.long ?? null,
          buildingCode: input.addressId?.trim() || null, callerPhone: input.phone?.trim() || null, citizenName: name,
        },
      ));
      // The committed row answers: this request's, or on a replay (same Idempotency-Key) the first one's.
      const row = await repo.byTicket(ticket.id);
      return { service_request_id: ticket.number, token: row?.token ?? state.token, service_notice: SERVICE_NOTICE, account_id: input.accountId ?? null };
    },

    /**
     * Intake's `ticket.created`, inside the ticket's transaction: the Open311 request being
     * registered in this async context gets its row and an audit entry (nothing for other tickets).
     */
    async ticketCreatedWithin(trx: Kysely<DB>, ticket: { id: string; city_id: string; channel: string }) {
      // Every attempt writes its row: a transaction retried after a deadlock runs this again, and
      // the rolled-back attempt's row went with it.
      const p = pending.getStore();
      if (!p || ticket.channel !== 'open311') return;
      const now = clock.now();
      const i = p.input;
      const row: Open311RequestRow = {
        token: p.token, city_id: ticket.city_id, ticket_id: ticket.id, api_key_id: p.client.apiKeyId, client_name: p.client.name.slice(0, 64),
        service_code: p.serviceCode, email: i.email?.trim() || null, device_id: i.deviceId?.trim() || null, account_id: i.accountId?.trim() || null,
        media_url: i.mediaUrl?.trim() || null, attributes: Object.keys(i.attributes).length ? JSON.stringify(i.attributes) : null, created_at: toDbTime(now),
      };
      await new Open311Repository(trx).insert(row);
      await recordAudit(trx, { actor: p.client.actor }, {
        entityType: 'open311_request', entityId: row.token, action: 'open311.request_created', cityId: ticket.city_id,
        // The citizen's email stays out of the trail (it is not the hotline's to spread).
        after: { ticketId: ticket.id, client: row.client_name, apiKeyId: row.api_key_id, serviceCode: row.service_code, mediaUrl: row.media_url, hasEmail: row.email !== null },
      }, now);
    },

    /** `tokens/{id}`: the request id behind a token this client was given (404 for another client's). */
    async token(client: Open311Client, token: string): Promise<{ service_request_id: string | null; token: string }> {
      const row = await repo.byToken(client.actor.cityId, token);
      if (!row || row.api_key_id !== client.apiKeyId) throw notFound('TOKEN_NOT_FOUND', `token ${token} not found`, `令牌 ${token} 不存在`);
      const ticket = await ports.tickets.byId(client.actor, row.ticket_id);
      return { service_request_id: ticket?.number ?? null, token };
    },

    /** `requests/{id}`: one request in the client's data scope; confidential ones do not exist here. */
    async getRequest(client: Open311Client, id: string): Promise<Open311Request> {
      const t = await ports.tickets.byNumber(client.actor, id);
      if (!t || t.confidential) throw notFound('REQUEST_NOT_FOUND', `service request ${id} not found`, `诉求 ${id} 不存在`);
      return (await toRequests(client.actor.cityId, [t]))[0];
    },

    /** `requests`: newest first, the last 90 days unless dates are given, at most {@link MAX_LISTED}. */
    async listRequests(client: Open311Client, q: Open311ListQuery): Promise<Open311Request[]> {
      const cityId = client.actor.cityId;
      if (q.serviceRequestIds?.length) {
        const found: Open311Ticket[] = [];
        for (const id of q.serviceRequestIds.slice(0, MAX_IDS)) {
          const t = await ports.tickets.byNumber(client.actor, id);
          if (t && !t.confidential) found.push(t);
        }
        return toRequests(cityId, found);
      }
      const end = q.endDate ?? clock.now();
      const start = q.startDate ?? new Date(end.getTime() - DEFAULT_DAYS * 86_400_000);
      if (start.getTime() > end.getTime()) throw badRequest('DATE_RANGE_INVALID', 'start_date is after end_date', '开始时间晚于结束时间', { field: 'start_date' });
      // end_date is inclusive; without it, nothing newer is left out (a request posted this second included).
      const categoryId = q.serviceCode ? (await serviceByCode(cityId, q.serviceCode)).categoryId : undefined;
      const tickets = await ports.tickets.list(client.actor, {
        createdFrom: toDbTime(start), createdTo: q.endDate ? toDbTime(new Date(q.endDate.getTime() + 1)) : undefined, categoryId,
        statuses: q.status ? ticketStatusesOf(q.status, ports.tickets.statuses) : undefined,
      }, MAX_LISTED);
      return toRequests(cityId, tickets);
    },
  };
}

export type Open311RequestsService = ReturnType<typeof createOpen311Service>;
