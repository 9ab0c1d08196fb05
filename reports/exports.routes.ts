/**
 * /reports/exports: ask for a report file (HTML, PDF, Excel; the same request twice is one export),
 * list the generated reports, follow one's progress, download its file. Console sessions only (no
 * API key scope yet: a leaders' tool pulling reports would get a `reports:read` scope).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, commandContext, errorResponses, PageQuery, PageOf } from '../core/http';
import type { ReportExportService } from './exports.service';

export interface ReportExportRoutesOptions {
  exports: ReportExportService;
}

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');
const Kind = z.enum(['daily', 'weekly', 'monthly', 'yearly']);
const Format = z.enum(['html', 'pdf', 'xlsx']);
const Id = z.string().min(1).max(64);

export const ReportFiltersSchema = z.strictObject({
  unitId: Id.optional(),
  categoryId: Id.optional(),
  territoryId: Id.optional(),
  channel: z.string().max(32).optional(),
  groupBy: z.enum(['unit', 'category', 'territory', 'channel', 'type']).optional(),
});

const Period = z.object({ from: z.string(), to: z.string(), label: z.string() });
export const ExportViewSchema = z.object({
  id: z.string(), kind: Kind, kindZh: z.string(), period: Period, format: Format,
  filters: z.object({ unitId: z.string().optional(), categoryId: z.string().optional(), territoryId: z.string().optional(), channel: z.string().optional(), groupBy: z.string().optional() }),
  unitId: z.string().nullable(), status: z.enum(['queued', 'running', 'done', 'failed']), statusZh: z.string(), progress: z.number(), origin: z.enum(['request', 'schedule']),
  requestedBy: z.object({ id: z.string().nullable(), name: z.string().nullable() }), title: z.string().nullable(), fileName: z.string().nullable(),
  fileSize: z.number().nullable(), contentType: z.string().nullable(), error: z.string().nullable(), createdAt: z.string(), startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(), downloadUrl: z.string().nullable(),
});

const ExportBody = z.strictObject({
  kind: Kind,
  from: Day.describe('First day of the period; alone: the natural day, week, month or year containing it'),
  to: Day.optional().describe('Exclusive end of a custom period'),
  format: Format,
  filters: ReportFiltersSchema.default({}),
});

/** An ASCII stand-in for old clients, and the real (Chinese) name by RFC 5987 / RFC 6266. */
export function contentDisposition(fileName: string, id: string): string {
  const ext = fileName.includes('.') ? fileName.slice(fileName.lastIndexOf('.')) : '';
  const ascii = `report-${id}${ext}`.replace(/[^\w.-]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

export async function reportExportRoutes(app: FastifyInstance, opts: ReportExportRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { exports } = opts;
  const tags = ['reports'];

  r.post('/reports/exports', {
    schema: {
      tags, summary: '导出报表 Ask for a report file (HTML, PDF, Excel); the same kind, period, format and filters again is the same export (200), a new one is 202',
      body: ExportBody, response: { 200: ExportViewSchema, 202: ExportViewSchema, ...errorResponses },
    },
  }, async (request, reply) => {
    const { export: view, created } = await exports.request(commandContext(request), request.body);
    return reply.code(created ? 202 : 200).send(view);
  });

  r.get('/reports/exports', {
    schema: {
      tags, summary: 'Generated reports, newest first (a unit: its own)',
      querystring: z.strictObject({ ...PageQuery.shape, status: z.string().max(64).optional(), kind: Kind.optional() }),
      response: { 200: PageOf(ExportViewSchema), ...errorResponses },
    },
  }, async (request) => {
    const q = request.query;
    return exports.list(actorOf(request), { page: q.page, pageSize: q.pageSize, kind: q.kind, status: q.status?.split(',').map((s) => s.trim()).filter(Boolean) });
  });

  r.get('/reports/exports/:id', {
    schema: { tags, summary: 'One generated report: status and progress', params: z.strictObject({ id: Id }), response: { 200: ExportViewSchema, ...errorResponses } },
  }, async (request) => exports.get(actorOf(request), request.params.id));

  r.get('/reports/exports/:id/file', {
    schema: { tags, summary: 'Download a generated report (its Chinese file name by RFC 5987)', params: z.strictObject({ id: Id }) },
  }, async (request, reply) => {
    const f = await exports.readFile(actorOf(request), request.params.id);
    return reply
      .type(f.contentType)
      .header('content-disposition', contentDisposition(f.fileName, request.params.id))
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, no-store')
      // An HTML report opened from here runs nothing and loads nothing.
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox")
      .send(f.body);
  });
}
