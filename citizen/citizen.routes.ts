/**
 * HTTP of the citizen pages. Public (no login): the two mobile pages (`/c/q/<code>` the QR report
 * form, `/c/s` the status page), their script and style, and `/api/public/citizen/...`. Staff (in
 * the authenticated /api/v1 scope): printable codes (PNG, the community's PDF sheet) and the photos
 * citizens sent.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type {} from '@fastify/cookie';
import multipart from '@fastify/multipart';
import { z } from 'zod';
import { AppError, badRequest, notFound } from '../core';
import { actorOf, errorResponses, ErrorBody } from '../core/http';
import type { CitizenService, PhotoIn } from './citizen.service';
import { qrPng, qrSheetHtml } from './print';

const DEVICE_COOKIE = 'citizen_device';
const STATUS_COOKIE = 'citizen_status';
const STATUS_PATH = '/api/public/citizen/status';

const PAGE_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob: data:", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const asset = (name: string) => readFileSync(new URL(`./pages/${name}`, import.meta.url), 'utf8');

export interface CitizenPublicRoutesOptions {
  citizen: CitizenService;
  /** The city a status page without `?city=` is for (a deployment serves one city). */
  defaultCityId: () => Promise<string | null>;
  cookieSecure: boolean;
}

/** The device cookie: made on the first visit; limits count per device (and per address, for those who drop it). */
function deviceOf(request: FastifyRequest, reply: FastifyReply, secure: boolean): string {
  const have = request.cookies[DEVICE_COOKIE];
  if (have && /^[A-Za-z0-9_-]{16,64}$/.test(have)) return have;
  const made = randomBytes(16).toString('base64url');
  reply.setCookie(DEVICE_COOKIE, made, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: 365 * 86_400 });
  request.cookies[DEVICE_COOKIE] = made;
  return made;
}

export async function citizenPublicRoutes(app: FastifyInstance, opts: CitizenPublicRoutesOptions) {
  const { citizen } = opts;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const pages = { report: asset('report.html'), status: asset('status.html'), js: asset('citizen.js'), css: asset('citizen.css') };
  const who = (request: FastifyRequest, reply: FastifyReply) => ({ deviceId: deviceOf(request, reply, opts.cookieSecure), ip: request.ip });
  const cityOf = async (asked?: string) => {
    const id = asked?.trim() || (await opts.defaultCityId());
    if (!id) throw notFound('CITY_NOT_FOUND', 'no city is set up', '系统尚未配置城市');
    return id;
  };

  const page = (html: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    deviceOf(request, reply, opts.cookieSecure);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').header('content-security-policy', PAGE_CSP).send(html);
  };
  app.get('/c/q/:token', { schema: { hide: true } }, page(pages.report));
  app.get('/c/s', { schema: { hide: true } }, page(pages.status));
  app.get('/c/assets/citizen.js', { schema: { hide: true } }, async (_q, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(pages.js));
  app.get('/c/assets/citizen.css', { schema: { hide: true } }, async (_q, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(pages.css));

  const tags = ['citizen (public)'];
  r.get('/api/public/citizen/buildings/:token', {
    schema: { tags, summary: 'The building a QR code names (a forged code: 400 QR_CODE_INVALID)', security: [], params: z.object({ token: z.string().max(400) }), response: { 200: z.object({ code: z.string(), cityId: z.string(), place: z.string(), territoryName: z.string(), types: z.array(z.object({ value: z.string(), label: z.string() })) }), ...errorResponses } },
  }, async (request) => citizen.building(request.params.token));

  await app.register(async (upload) => {
    await upload.register(multipart, { throwFileSizeLimit: false, limits: { fileSize: citizen.limits.maxPhotoBytes, files: citizen.limits.maxPhotos + 1, fields: 8, fieldSize: 8 * 1024, parts: citizen.limits.maxPhotos + 10 } });
    upload.post('/api/public/citizen/reports', {
      schema: { tags, summary: 'A QR report (multipart: token, description, phone?, type?, idempotencyKey, photos ≤ 3 images)', security: [], consumes: ['multipart/form-data'], response: { 201: z.object({ ticketNumber: z.string(), duplicate: z.boolean(), statusPath: z.string(), hasPhone: z.boolean() }), ...errorResponses, 413: ErrorBody, 429: ErrorBody } },
    }, async (request, reply) => {
      if (!request.isMultipart()) throw badRequest('MULTIPART_REQUIRED', 'send the report as multipart/form-data', '请以表单方式提交');
      const fields: Record<string, string> = {};
      const photos: PhotoIn[] = [];
      try {
        for await (const part of request.parts()) {
          if (part.type === 'file') {
            const body = await part.toBuffer();
            if (body.length === 0 && !part.filename) continue; // an empty file input
            photos.push({ fileName: part.filename, body, truncated: part.file.truncated });
          } else fields[part.fieldname] = String(part.value ?? '');
        }
      } catch (err) {
        const e = err as { code?: string; message?: string };
        if (e.code === 'FST_FILES_LIMIT') throw badRequest('TOO_MANY_PHOTOS', `at most ${citizen.limits.maxPhotos} photos`, `最多上传 ${citizen.limits.maxPhotos} 张照片`, { field: 'photos' });
        throw badRequest('MULTIPART_INVALID', `malformed form: ${e.message ?? 'unreadable'}`, '提交内容格式不正确，请重新提交');
      }
      const answer = await citizen.submitReport({
        token: fields.token ?? '', description: fields.description ?? '', phone: fields.phone ?? null, type: fields.type ?? null,
        idempotencyKey: fields.idempotencyKey ?? String(request.headers['idempotency-key'] ?? ''), photos,
      }, who(request, reply));
      return reply.code(201).send(answer);
    });
  });

  const CodeBody = z.object({ ticketNumber: z.string().max(40), phone: z.string().max(20), city: z.string().max(32).optional() });
  r.post('/api/public/citizen/status/code', {
    schema: { tags, summary: 'Send a one-time SMS code to the phone on the ticket (same answer whether or not it matches)', security: [], body: CodeBody, response: { 200: z.object({ sent: z.boolean(), ttlMinutes: z.number(), resendSeconds: z.number() }), ...errorResponses, 429: ErrorBody } },
  }, async (request, reply) => citizen.requestCode(await cityOf(request.body.city), request.body, who(request, reply)));

  const VerifyBody = z.object({ ticketNumber: z.string().max(40), code: z.string().max(12), city: z.string().max(32).optional() });
  r.post('/api/public/citizen/status/verify', {
    schema: { tags, summary: 'Check the code (single use; wrong codes lock the ticket and the device out); sets the status cookie', security: [], body: VerifyBody, response: { 200: z.object({ ticketNumber: z.string(), expiresInMinutes: z.number() }), ...errorResponses, 429: ErrorBody } },
  }, async (request, reply) => {
    const v = await citizen.verifyCode(await cityOf(request.body.city), request.body, who(request, reply));
    reply.setCookie(STATUS_COOKIE, v.token, { path: STATUS_PATH, httpOnly: true, sameSite: 'strict', secure: opts.cookieSecure, maxAge: v.expiresInMinutes * 60 });
    return { ticketNumber: v.ticketNumber, expiresInMinutes: v.expiresInMinutes };
  });

  const StatusView = z.object({
    ticketNumber: z.string(), stage: z.string(), stageZh: z.string(),
    stages: z.array(z.object({ stage: z.string(), label: z.string(), done: z.boolean() })),
    note: z.string().nullable(), typeZh: z.string(), place: z.string().nullable(), description: z.string().nullable(), photos: z.number(),
    phone: z.string().nullable(), registeredAt: z.string(), closedAt: z.string().nullable(), result: z.string().nullable(),
    satisfaction: z.string().nullable(), satisfactionZh: z.string().nullable(), canRate: z.boolean(),
  });
  r.get(STATUS_PATH, {
    schema: { tags, summary: 'The verified ticket as its citizen reads it (no notes, no staff names)', security: [], response: { 200: StatusView, ...errorResponses } },
  }, async (request) => citizen.status(request.cookies[STATUS_COOKIE]));

  r.post(`${STATUS_PATH}/rating`, {
    schema: { tags, summary: 'The citizen rates the result (满意度), as in a callback', security: [], body: z.object({ satisfaction: z.string().max(32), comment: z.string().max(2000).nullish() }), response: { 200: StatusView, ...errorResponses } },
  }, async (request) => {
    const key = request.headers['idempotency-key'];
    return citizen.rate(request.cookies[STATUS_COOKIE], request.body, typeof key === 'string' ? key.slice(0, 100) : undefined);
  });
}

export interface CitizenStaffRoutesOptions {
  citizen: CitizenService;
  /** The public address the QR codes point at (CITIZEN_BASE_URL); the request's own host when unset. */
  baseUrl: string | null;
  /** HTML → PDF (chromium); null when none is installed (the sheet is then offered as HTML only). */
  pdf: ((html: string) => Promise<Buffer>) | null;
}

export async function citizenStaffRoutes(app: FastifyInstance, opts: CitizenStaffRoutesOptions) {
  const { citizen } = opts;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['citizen (staff)'];
  const base = (request: FastifyRequest) => (opts.baseUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
  const urlOf = (request: FastifyRequest, token: string) => `${base(request)}/c/q/${token}`;

  r.get('/citizen/buildings', {
    schema: { tags, summary: 'Buildings with QR codes (the center: all; grid staff: their territory), with each code\'s URL', querystring: z.object({ territoryId: z.string().max(64).optional() }), response: { 200: z.object({ items: z.array(z.object({ code: z.string(), label: z.string(), territoryId: z.string(), communityId: z.string().nullable(), communityName: z.string().nullable(), url: z.string() })) }), ...errorResponses } },
  }, async (request) => {
    const list = await citizen.buildingsFor(actorOf(request), request.query.territoryId);
    return { items: list.map((b) => ({ code: b.code, label: b.label, territoryId: b.territoryId, communityId: b.communityId, communityName: b.communityName, url: urlOf(request, b.token) })) };
  });

  r.get('/citizen/buildings/:code/qr.png', {
    schema: { tags, summary: 'A building\'s QR code as a PNG', params: z.object({ code: z.string().max(128) }) },
  }, async (request, reply) => {
    const b = await citizen.buildingFor(actorOf(request), request.params.code);
    if (!b) throw notFound('BUILDING_NOT_FOUND', `building ${request.params.code} not found`, `楼栋 ${request.params.code} 不存在或不在您的范围内`);
    return reply.type('image/png').header('content-disposition', `attachment; filename="qr-${encodeURIComponent(b.code)}.png"`).send(await qrPng(urlOf(request, b.token)));
  });

  r.get('/citizen/territories/:id/qr-sheet', {
    schema: { tags, summary: 'The QR codes of every building in a community (or any territory) on A4: PDF, or HTML with ?format=html', params: z.object({ id: z.string().max(64) }), querystring: z.object({ format: z.enum(['pdf', 'html']).default('pdf') }) },
  }, async (request, reply) => {
    const list = await citizen.buildingsFor(actorOf(request), request.params.id);
    const title = list[0]?.communityName ?? request.params.id;
    const html = await qrSheetHtml(title, list.map((b) => ({ code: b.code, label: b.label, url: urlOf(request, b.token) })));
    if (request.query.format === 'html' || !opts.pdf) {
      if (request.query.format === 'pdf') throw new AppError('PDF_UNAVAILABLE', 503, 'no chromium to print PDF; use ?format=html', '未安装 chromium，无法生成 PDF，请使用 HTML 格式打印');
      return reply.type('text/html; charset=utf-8').send(html);
    }
    const pdf = await opts.pdf(html);
    return reply.type('application/pdf').header('content-disposition', `attachment; filename="qr-sheet-${encodeURIComponent(request.params.id)}.pdf"`).send(pdf);
  });

  r.get('/citizen/tickets/:id/photos', {
    schema: { tags, summary: 'Photos a citizen sent with a QR report', params: z.object({ id: z.string().max(64) }), response: { 200: z.object({ items: z.array(z.object({ id: z.string(), contentType: z.string(), size: z.number(), sha256: z.string(), createdAt: z.string() })) }), ...errorResponses } },
  }, async (request) => ({ items: await citizen.photosOf(actorOf(request), request.params.id) }));

  r.get('/citizen/tickets/:id/photos/:photoId', {
    schema: { tags, summary: 'One photo (the image)', params: z.object({ id: z.string().max(64), photoId: z.string().max(64) }) },
  }, async (request, reply) => {
    const p = await citizen.readPhoto(actorOf(request), request.params.id, request.params.photoId);
    return reply.type(p.contentType).header('cache-control', 'private, no-store').send(p.body);
  });
}
