/**
 * The GeoReport v2 endpoints under `/open311/v2`: every resource answers JSON or XML by its
 * suffix (`services.json`, `requests/2025….xml`; none: JSON), and every error is the spec's list of
 * `{code, description}` in the same format. Requests take an API key with the `open311` scope:
 * `X-API-Key` (or `Authorization: Bearer`), or `api_key` in a POST body as the spec has it — never
 * in a URL, where access logs would keep it. POST bodies are form-encoded (the spec) or JSON.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { XMLBuilder } from 'fast-xml-parser';
import { z } from 'zod';
import { isAppError, parseIsoWithZone } from '../core';
import { GEOREPORT_SPECIFICATION, type Open311Error, type Open311Request } from './domain/georeport';
import type { Open311Client, Open311NewRequest, Open311RequestsService } from './open311.service';

export interface Open311RoutesOptions {
  open311: Open311RequestsService;
  /** When this API's definition last changed (discovery's `changeset`). */
  changeset: string;
  /** Who runs the service (discovery's `contact`). */
  contact: string;
}

type Format = 'json' | 'xml';
const xml = new XMLBuilder({ format: false, ignoreAttributes: true });

/** `requests.xml` → requests, xml; `requests` → requests, json; `requests.csv` → an unsupported format. */
function splitFormat(file: string): { name: string; format: Format } {
  const m = /^(.+)\.([A-Za-z0-9]+)$/.exec(file);
  if (!m) return { name: file, format: 'json' };
  const ext = m[2].toLowerCase();
  if (ext !== 'json' && ext !== 'xml') throw new Open311Problem(400, [{ code: 400, description: `FORMAT_UNSUPPORTED: format .${m[2]} is not supported; use .json or .xml (仅支持 .json 或 .xml)` }]);
  return { name: m[1], format: ext };
}
const formatOfUrl = (url: string): Format => (/\.xml(?:$|\?)/i.test(url.split('#')[0]) ? 'xml' : 'json');

/** An answer of the spec's error list, with its HTTP status. */
class Open311Problem extends Error {
  constructor(readonly status: number, readonly errors: Open311Error[]) {
    super(errors.map((e) => e.description).join('; '));
  }
}

/** Empty values read as empty elements in XML (the spec's examples), and as null in JSON. */
const forXml = (v: unknown): unknown => {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(forXml);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, forXml(x)]));
  return v;
};

function send(reply: FastifyReply, format: Format, json: unknown, xmlRoot: Record<string, unknown>, status = 200) {
  reply.code(status).header('cache-control', 'no-store');
  if (format === 'xml') {
    return reply.type('text/xml; charset=utf-8').send(`<?xml version="1.0" encoding="utf-8"?>${xml.build(forXml(xmlRoot))}`);
  }
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(json));
}

/** The spec's error list from anything thrown: our codes and both languages in `description`, no internals. */
function problemOf(err: unknown, request: FastifyRequest): Open311Problem {
  if (err instanceof Open311Problem) return err;
  if (isAppError(err)) {
    const problems = (err.details as { problems?: { field: string; message: string }[] } | undefined)?.problems;
    if (problems?.length) return new Open311Problem(err.status, problems.map((p) => ({ code: err.status, description: `${err.code}: ${p.field} ${p.message} (${err.messageZh})` })));
    return new Open311Problem(err.status, [{ code: err.status, description: `${err.code}: ${err.message} (${err.messageZh})` }]);
  }
  const e = err as FastifyError;
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new Open311Problem(413, [{ code: 413, description: 'BODY_TOO_LARGE: request body too large (请求内容过大)' }]);
  if (e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new Open311Problem(415, [{ code: 415, description: 'UNSUPPORTED_MEDIA_TYPE: send application/x-www-form-urlencoded or application/json (不支持的内容类型)' }]);
  if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new Open311Problem(e.statusCode, [{ code: e.statusCode, description: 'BAD_REQUEST: the request could not be read (请求不正确)' }]);
  request.log.error({ err }, 'open311: unhandled error');
  return new Open311Problem(500, [{ code: 500, description: 'INTERNAL_ERROR: internal error (系统内部错误，请稍后重试)' }]);
}

function sendProblem(reply: FastifyReply, request: FastifyRequest, err: unknown) {
  const p = problemOf(err, request);
  const format = formatOfUrl(request.url);
  return send(reply, format, p.errors, { errors: { error: p.errors } }, p.status);
}

/** A flat form or JSON body, or a query: strings (arrays for repeated keys); '' reads as absent. */
type Flat = Record<string, unknown>;
const blankToUndefined = (v: unknown) => (v === '' || v === null ? undefined : v);
const opt = <T extends z.ZodTypeAny>(s: T) => z.preprocess(blankToUndefined, s.optional());
const text = (max: number) => opt(z.string().trim().max(max));

const PostBody = z.object({
  jurisdiction_id: text(64),
  api_key: text(200),
  service_code: z.preprocess(blankToUndefined, z.string({ error: 'is required' }).trim().min(1).max(64)),
  lat: opt(z.coerce.number().min(-90).max(90)),
  long: opt(z.coerce.number().min(-180).max(180)),
  address_string: text(500),
  address_id: text(64),
  email: opt(z.email().max(254)),
  device_id: text(128),
  account_id: text(128),
  first_name: text(32),
  last_name: text(32),
  phone: text(32),
  description: text(4000),
  media_url: opt(z.url({ protocol: /^https?$/ }).max(1000)),
});

const ListQuery = z.object({
  jurisdiction_id: text(64),
  service_request_id: text(2000),
  service_code: text(64),
  start_date: text(40),
  end_date: text(40),
  status: opt(z.enum(['open', 'closed'])),
});

function parse<T extends z.ZodTypeAny>(schema: T, input: unknown): z.output<T> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  throw new Open311Problem(400, r.error.issues.map((i) => ({
    code: 400,
    description: `VALIDATION_FAILED: ${i.path.join('.') || 'request'} ${i.message} (请求参数不正确：${i.path.join('.') || '请求'})`,
  })));
}

/** `attribute[code]=v` and `attribute[code][]=v` (form), or `attribute: {code: v}` (JSON). */
function attributesOf(body: Flat): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (code: string, v: unknown) => {
    const values = (Array.isArray(v) ? v : [v]).map((x) => String(x)).filter((x) => x !== '');
    if (values.length) out[code] = [...(out[code] ?? []), ...values].slice(0, 50);
  };
  for (const [k, v] of Object.entries(body)) {
    const m = /^attribute\[([^\]]{1,64})\](?:\[\])?$/.exec(k);
    if (m) add(m[1], v);
  }
  const nested = body.attribute;
  if (nested && typeof nested === 'object' && !Array.isArray(nested)) for (const [k, v] of Object.entries(nested)) add(k.slice(0, 64), v);
  return out;
}

function dateOf(s: string | undefined, field: string): Date | undefined {
  if (!s) return undefined;
  const d = parseIsoWithZone(s);
  if (!d) throw new Open311Problem(400, [{ code: 400, description: `VALIDATION_FAILED: ${field} must be ISO 8601 with a time zone, e.g. 2025-10-01T09:00:00+08:00 (时间格式不正确)` }]);
  return d;
}

const headerKey = (request: FastifyRequest): string | undefined => {
  const h = request.headers['x-api-key'];
  if (typeof h === 'string' && h) return h;
  return request.headers.authorization?.match(/^Bearer\s+(\S+)$/)?.[1];
};

const requestXml = (r: Open311Request) => ({ request: r });

/** The Open311 GeoReport v2 endpoints; mount under `/open311/v2`. */
export async function open311Routes(app: FastifyInstance, opts: Open311RoutesOptions) {
  const { open311 } = opts;
  // The spec's POST is a form; inside this plugin only (the /api scope stays JSON-only, see app/auth.ts on CSRF).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const out: Flat = {};
    for (const [k, v] of new URLSearchParams(body as string)) {
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev as string, v];
    }
    done(null, out);
  });
  app.setErrorHandler((err, request, reply) => sendProblem(reply, request, err));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, new Open311Problem(404, [{ code: 404, description: 'NOT_FOUND: no such Open311 resource (请求的资源不存在)' }])));

  const hidden = { schema: { hide: true } };
  const query = (request: FastifyRequest) => (request.query ?? {}) as Flat;
  const client = async (request: FastifyRequest, required: boolean, bodyKey?: string): Promise<Open311Client | null> =>
    open311.authenticate(headerKey(request) ?? bodyKey, required);

  app.get<{ Params: { resource: string } }>('/:resource', hidden, async (request, reply) => {
    const { name, format } = splitFormat(request.params.resource);
    const q = query(request);
    const jurisdictionId = typeof q.jurisdiction_id === 'string' && q.jurisdiction_id ? q.jurisdiction_id.slice(0, 64) : undefined;
    if (name === 'discovery') {
      const base = `${request.protocol}://${request.host}/open311/v2`;
      const endpoint = { specification: GEOREPORT_SPECIFICATION, url: base, changeset: opts.changeset, type: 'production', formats: ['application/json', 'text/xml'] };
      const doc = {
        changeset: opts.changeset, contact: opts.contact,
        key_service: 'API keys (scope open311) are issued by the hotline administrator: npx hotline apikey add --scopes open311 (接入密钥由热线管理员签发)',
        endpoints: [endpoint],
      };
      return send(reply, format, doc, { discovery: { ...doc, endpoints: { endpoint: [{ ...endpoint, formats: { format: endpoint.formats } }] } } });
    }
    if (name === 'services') {
      const cityId = await open311.jurisdiction(jurisdictionId, await client(request, false));
      const services = await open311.services(cityId);
      return send(reply, format, services, { services: { service: services } });
    }
    if (name === 'requests') {
      const c = (await client(request, true))!;
      await open311.jurisdiction(jurisdictionId, c);
      const p = parse(ListQuery, q);
      const list = await open311.listRequests(c, {
        serviceRequestIds: p.service_request_id?.split(',').map((s) => s.trim()).filter(Boolean),
        serviceCode: p.service_code, status: p.status,
        startDate: dateOf(p.start_date, 'start_date'), endDate: dateOf(p.end_date, 'end_date'),
      });
      return send(reply, format, list, { service_requests: { request: list } });
    }
    throw new Open311Problem(404, [{ code: 404, description: `NOT_FOUND: no Open311 resource ${name.slice(0, 40)} (请求的资源不存在)` }]);
  });

  app.post<{ Params: { resource: string } }>('/:resource', hidden, async (request, reply) => {
    const { name, format } = splitFormat(request.params.resource);
    if (name !== 'requests') throw new Open311Problem(404, [{ code: 404, description: 'NOT_FOUND: only requests may be posted (仅可提交诉求)' }]);
    const body = (request.body && typeof request.body === 'object' && !Array.isArray(request.body) ? request.body : {}) as Flat;
    const bodyKey = typeof body.api_key === 'string' ? body.api_key : undefined;
    const c = (await client(request, true, bodyKey))!;
    const b = parse(PostBody, body);
    await open311.jurisdiction(b.jurisdiction_id, c);
    const input: Open311NewRequest = {
      serviceCode: b.service_code, lat: b.lat, long: b.long, addressString: b.address_string, addressId: b.address_id,
      attributes: attributesOf(body), email: b.email, deviceId: b.device_id, accountId: b.account_id,
      firstName: b.first_name, lastName: b.last_name, phone: b.phone, description: b.description, mediaUrl: b.media_url,
    };
    const key = request.headers['idempotency-key'];
    const created = await open311.createRequest(c, input, { requestId: String(request.id), idempotencyKey: typeof key === 'string' && key ? key.slice(0, 128) : undefined });
    return send(reply, format, [created], { service_requests: { request: [created] } }, 201);
  });

  app.get<{ Params: { file: string } }>('/services/:file', hidden, async (request, reply) => {
    const { name, format } = splitFormat(request.params.file);
    const q = query(request);
    const cityId = await open311.jurisdiction(typeof q.jurisdiction_id === 'string' && q.jurisdiction_id ? q.jurisdiction_id.slice(0, 64) : undefined, await client(request, false));
    const def = await open311.serviceDefinition(cityId, name);
    const xmlDef = { service_definition: { service_code: def.service_code, attributes: { attribute: def.attributes.map((a) => ({ ...a, values: { value: a.values } })) } } };
    return send(reply, format, def, xmlDef);
  });

  app.get<{ Params: { file: string } }>('/requests/:file', hidden, async (request, reply) => {
    const { name, format } = splitFormat(request.params.file);
    const c = (await client(request, true))!;
    const r = await open311.getRequest(c, name);
    return send(reply, format, [r], { service_requests: requestXml(r) });
  });

  app.get<{ Params: { file: string } }>('/tokens/:file', hidden, async (request, reply) => {
    const { name, format } = splitFormat(request.params.file);
    const c = (await client(request, true))!;
    const t = await open311.token(c, name);
    return send(reply, format, [t], { service_requests: { request: [t] } });
  });
}
