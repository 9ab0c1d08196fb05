/** /work-orders, /claim-pool, /supervision-orders, /callbacks and the ticket-level review and rating. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import multipart from '@fastify/multipart';
import { z } from 'zod';
import { badRequest, parseIsoWithZone, Urgency } from '../core';
import { actorOf, commandContext, ErrorBody, errorResponses, IsoDateTime, PageOf, PageQuery } from '../core/http';
import { WORK_ORDER_SORTS } from './workorders.repository';
import { attachmentTooLarge, QUEUES, type WorkOrderService } from './workorders.service';

export interface WorkOrderRoutesOptions {
  workOrders: WorkOrderService;
  /** The ticket as the API shows it (intake's schema), for review and rating answers. */
  ticketSchema: z.ZodTypeAny;
  maxAttachmentBytes: number;
}

const IdParams = z.strictObject({ id: z.string().min(1).max(64) });
const Version = { version: z.number().int().min(1) };
const Reason = z.string().max(2000);
const Satisfaction = z.enum(['satisfied', 'basically_satisfied', 'unsatisfied']);

const Deadlines = z.object({ acknowledge: z.string().nullable(), onSite: z.string().nullable(), reply: z.string().nullable(), citizenReply: z.string().nullable() });
/** A comma-separated list, e.g. `urgency=emergency,urgent` (as GET /tickets takes `status`). */
const csvOf = (values: readonly string[]) =>
  z.string().max(200).transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)).pipe(z.array(z.enum(values as [string, ...string[]])));

/** The paging of every list here (the console's queues show 50 a page). */
const ListPage = { ...PageQuery.shape, pageSize: z.coerce.number().int().min(1).max(200).default(50) };

const WorkOrderListQuery = z.strictObject({
  ...ListPage,
  queue: z.enum(QUEUES).default('open'),
  ticketId: z.string().max(64).optional(),
  unitId: z.string().max(64).optional(),
  urgency: csvOf(Object.values(Urgency)).optional(),
  categoryId: z.string().max(64).optional(),
  territoryId: z.string().max(64).optional(),
  deadlineFrom: IsoDateTime.optional(),
  deadlineTo: IsoDateTime.optional(),
  sort: z.enum(WORK_ORDER_SORTS).default('deadline'),
  order: z.enum(['asc', 'desc']).default('asc'),
});

const WorkOrder = z.object({
  id: z.string(), ticketId: z.string(), ticketNumber: z.string(), ticketTitle: z.string().nullable(), urgency: z.string(), unitId: z.string(), unitName: z.string().nullable().optional(),
  role: z.enum(['lead', 'co']), status: z.string(), statusZh: z.string(), round: z.number(), version: z.number(), policyCode: z.string().nullable(),
  dispatchedAt: z.string(), deadlines: Deadlines, reminders: z.record(z.string(), z.string()), acknowledgedAt: z.string().nullable(), onSiteAt: z.string().nullable(), repliedAt: z.string().nullable(),
  result: z.string().nullable(), risk: z.enum(['ok', 'at_risk', 'overdue']),
  extension: z.object({ reason: z.string().nullable(), proposedDeadline: z.string().nullable() }).nullable(), extensionCount: z.number(),
  returnReason: z.string().nullable(), returnedAt: z.string().nullable(), closedAt: z.string().nullable(),
});
const SupervisionOrder = z.object({
  id: z.string(), workOrderId: z.string(), ticketId: z.string(), unitId: z.string(), origin: z.string(), reason: z.string(), raisedBy: z.string().nullable(),
  status: z.string(), answer: z.string().nullable(), answeredAt: z.string().nullable(), createdAt: z.string(),
});
const Callback = z.object({
  id: z.string(), ticketId: z.string(), round: z.number(), status: z.string(), attempts: z.number(), maxAttempts: z.number(), nextAttemptAt: z.string().nullable(),
  satisfaction: z.string().nullable(), comment: z.string().nullable(), answeredVia: z.string().nullable(), answeredAt: z.string().nullable(), version: z.number(),
});

export async function workOrderRoutes(app: FastifyInstance, opts: WorkOrderRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { workOrders } = opts;
  await app.register(multipart, { limits: { fileSize: opts.maxAttachmentBytes, files: 1, fields: 5 } });
  const tags = ['work orders'];

  r.get('/work-orders', {
    schema: {
      tags, summary: 'Work orders by queue, one page, filtered and sorted (a unit sees its own only); total counts the whole queue',
      querystring: WorkOrderListQuery,
      response: { 200: PageOf(WorkOrder), ...errorResponses },
    },
  }, async (request) => {
    const q = request.query;
    const at = (s: string | undefined) => (s ? parseIsoWithZone(s)! : undefined);
    return workOrders.list(actorOf(request), {
      queue: q.queue, ticketId: q.ticketId, unitId: q.unitId, urgency: q.urgency, categoryId: q.categoryId, territoryId: q.territoryId,
      deadlineFrom: at(q.deadlineFrom), deadlineTo: at(q.deadlineTo), sort: q.sort, order: q.order,
    }, q.page, q.pageSize);
  });

  r.get('/work-orders/:id', {
    schema: { tags, summary: 'A work order with its ticket (as you may see it), notes, attachments, supervision orders and history', params: IdParams, response: { 200: WorkOrder.extend({ ticket: opts.ticketSchema, notes: z.array(z.any()), attachments: z.array(z.any()), supervisionOrders: z.array(SupervisionOrder), history: z.array(z.any()) }), ...errorResponses } },
  }, async (request) => workOrders.get(actorOf(request), request.params.id));

  r.get('/work-orders/:id/milestones', {
    schema: { tags, summary: 'The supervision ladder of a work order: each step, when due, whether fired', params: IdParams, response: { 200: z.array(z.object({ clock: z.string(), step: z.string(), deadline: z.string(), due: z.string(), status: z.string(), firedAt: z.string().nullable(), firedBy: z.string().nullable() })), ...errorResponses } },
  }, async (request) => workOrders.milestones(actorOf(request), request.params.id));

  r.get('/tickets/:id/center-milestones', {
    schema: { tags, summary: "The center's dispatch clock of a ticket (寿光: dispatched within 1 working day of acceptance)", params: IdParams, response: { 200: z.array(z.object({ clock: z.string(), step: z.string(), deadline: z.string(), due: z.string(), status: z.string(), firedAt: z.string().nullable(), firedBy: z.string().nullable() })), ...errorResponses } },
  }, async (request) => workOrders.centerMilestones(actorOf(request), request.params.id));

  r.post('/work-orders/:id/acknowledge', {
    schema: { tags, summary: '签收 Acknowledge', params: IdParams, body: z.strictObject(Version), response: { 200: WorkOrder, ...errorResponses } },
  }, async (request) => workOrders.acknowledge(commandContext(request), request.params.id, request.body.version));

  r.post('/work-orders/:id/on-site', {
    schema: { tags, summary: '到场 Record arrival on site', params: IdParams, body: z.strictObject({ ...Version, note: z.string().max(2000).nullish() }), response: { 200: WorkOrder, ...errorResponses } },
  }, async (request) => workOrders.recordOnSite(commandContext(request), request.params.id, request.body.version, request.body.note));

  r.post('/work-orders/:id/notes', {
    schema: { tags, summary: '办理进展 Add a progress note', params: IdParams, body: z.strictObject({ text: z.string().max(5000) }), response: { 200: z.any(), ...errorResponses } },
  }, async (request) => workOrders.addNote(commandContext(request), request.params.id, request.body.text));

  r.post('/work-orders/:id/attachments', {
    schema: { tags, summary: 'Attach a photo or document (multipart/form-data, field "file")', params: IdParams, consumes: ['multipart/form-data'], response: { 201: z.object({ id: z.string(), fileName: z.string(), contentType: z.string(), size: z.number(), sha256: z.string() }), ...errorResponses, 413: ErrorBody } },
  }, async (request, reply) => {
    if (!request.isMultipart()) throw badRequest('MULTIPART_REQUIRED', 'send the file as multipart/form-data in the field "file"', '请以 multipart/form-data 上传附件（字段 file）', { field: 'file' });
    // A body the multipart parser cannot read (no boundary, the wrong one, cut short) is the client's error, not ours.
    const malformed = (err: { statusCode?: number; message?: string }) =>
      err.statusCode ? err : badRequest('MULTIPART_INVALID', `malformed multipart body: ${err.message ?? 'unreadable'}`, '附件上传内容格式不正确，请重新上传', { field: 'file' });
    const file = await request.file().catch((err) => {
      throw malformed(err);
    });
    if (!file) throw badRequest('FIELD_REQUIRED', 'no file in the request', '未上传附件', { field: 'file' });
    const body = await file.toBuffer().catch((err: { code?: string; statusCode?: number; message?: string }) => {
      if (err.code === 'FST_REQ_FILE_TOO_LARGE') throw attachmentTooLarge(opts.maxAttachmentBytes);
      throw malformed(err);
    });
    // busboy stops reading at the limit and marks the file truncated, but toBuffer() only throws when
    // a chunk arrives after that mark: when the cut falls on a chunk boundary (a chunked upload sent
    // in pieces that add up to the limit) it returns the first maxAttachmentBytes as if whole.
    if (file.file.truncated) throw attachmentTooLarge(opts.maxAttachmentBytes);
    const saved = await workOrders.addAttachment(commandContext(request), request.params.id, { fileName: file.filename, contentType: file.mimetype, body });
    return reply.code(201).send(saved);
  });

  r.get('/work-orders/:id/attachments/:attachmentId', {
    schema: { tags, summary: 'Download an attachment', params: z.strictObject({ id: z.string().min(1).max(64), attachmentId: z.string().min(1).max(64) }) },
  }, async (request, reply) => {
    const a = await workOrders.readAttachment(actorOf(request), request.params.id, request.params.attachmentId);
    return reply
      .type(a.contentType)
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(a.fileName)}`)
      .header('x-content-type-options', 'nosniff')
      .send(a.body);
  });

  r.post('/work-orders/:id/reply', {
    schema: { tags, summary: '办结反馈 Reply with the result', params: IdParams, body: z.strictObject({ ...Version, result: z.string().max(10_000) }), response: { 200: WorkOrder, ...errorResponses } },
  }, async (request) => workOrders.reply(commandContext(request), request.params.id, request.body.version, request.body.result));

  r.post('/work-orders/:id/extension-request', {
    schema: { tags, summary: '申请延期 Ask for an extension', params: IdParams, body: z.strictObject({ ...Version, reason: Reason, proposedDeadline: IsoDateTime }), response: { 200: WorkOrder, ...errorResponses } },
  }, async (request) => workOrders.requestExtension(commandContext(request), request.params.id, request.body.version, request.body.reason, request.body.proposedDeadline));

  r.post('/work-orders/:id/return', {
    schema: { tags, summary: '退回 Return to the center (within the window after dispatch)', params: IdParams, body: z.strictObject({ ...Version, reason: Reason }), response: { 200: WorkOrder, ...errorResponses } },
  }, async (request) => workOrders.returnToCenter(commandContext(request), request.params.id, request.body.version, request.body.reason));

  r.post('/work-orders/:id/return-ruling', {
    schema: { tags, summary: '改派 or 审定: the center rules on a return', params: IdParams, body: z.strictObject({ ...Version, decision: z.enum(['redispatch', 'confirm']), handlingUnitId: z.string().max(64).nullish(), reason: Reason }), response: { 200: WorkOrder, ...errorResponses } },
  }, async (request) => {
    const { version, ...ruling } = request.body;
    return workOrders.ruleOnReturn(commandContext(request), request.params.id, version, ruling);
  });

  r.post('/work-orders/:id/extension-ruling', {
    schema: { tags, summary: 'Grant or refuse an extension', params: IdParams, body: z.strictObject({ ...Version, decision: z.enum(['grant', 'refuse']), newDeadline: IsoDateTime.nullish(), reason: Reason.nullish() }), response: { 200: WorkOrder, ...errorResponses } },
  }, async (request) => {
    const { version, ...ruling } = request.body;
    return workOrders.ruleOnExtension(commandContext(request), request.params.id, version, ruling);
  });

  r.post('/work-orders/:id/supervision-orders', {
    schema: { tags, summary: '督办单 Raise a supervision order by hand', params: IdParams, body: z.strictObject({ reason: Reason }), response: { 201: SupervisionOrder, ...errorResponses } },
  }, async (request, reply) => reply.code(201).send(await workOrders.raiseSupervisionOrder(commandContext(request), request.params.id, request.body.reason)));

  r.get('/supervision-orders', {
    schema: {
      tags, summary: 'Supervision orders (a unit sees its own), one page, the newest first; total counts them all',
      querystring: z.strictObject({ ...ListPage, status: z.enum(['open', 'answered']).optional() }),
      response: { 200: PageOf(SupervisionOrder.extend({ ticketNumber: z.string(), ticketTitle: z.string().nullable() })), ...errorResponses },
    },
  }, async (request) => workOrders.listSupervisionOrders(actorOf(request), request.query.status, request.query.page, request.query.pageSize));

  r.post('/supervision-orders/:id/answer', {
    schema: { tags, summary: 'The unit answers a supervision order', params: IdParams, body: z.strictObject({ answer: z.string().max(5000) }), response: { 200: SupervisionOrder, ...errorResponses } },
  }, async (request) => workOrders.answerSupervisionOrder(commandContext(request), request.params.id, request.body.answer));

  r.post('/tickets/:id/reply-review', {
    schema: { tags, summary: '审核: accept the reply (then callback) or send it back for rework', params: IdParams, body: z.strictObject({ decision: z.enum(['accept', 'rework']), reason: Reason.nullish() }), response: { 200: opts.ticketSchema, ...errorResponses } },
  }, async (request) => workOrders.reviewReply(commandContext(request), request.params.id, request.body));

  r.post('/tickets/:id/claim-pool', {
    schema: { tags, summary: 'Offer a hard ticket for a unit to claim (认领); answers with the entry made, in a list', params: IdParams, body: z.strictObject({ reason: Reason }), response: { 201: z.array(z.any()), ...errorResponses } },
  }, async (request, reply) => reply.code(201).send(await workOrders.offerForClaim(commandContext(request), request.params.id, request.body.reason)));

  r.get('/claim-pool', {
    schema: { tags, summary: 'Tickets waiting to be claimed, one page, the longest waiting first; total counts the whole pool', querystring: z.strictObject(ListPage), response: { 200: PageOf(z.any()), ...errorResponses } },
  }, async (request) => workOrders.pool(actorOf(request), request.query.page, request.query.pageSize));

  r.post('/claim-pool/:id/claim', {
    schema: { tags, summary: '认领: claim a ticket for your unit (the first claim wins)', params: IdParams, response: { 200: WorkOrder, ...errorResponses } },
  }, async (request) => workOrders.claim(commandContext(request), request.params.id));

  r.get('/callbacks', {
    schema: {
      tags, summary: '回访 Callbacks (due, pending or all), one page, the next attempt first; total counts them all',
      querystring: z.strictObject({ ...ListPage, status: z.enum(['due', 'pending', 'all']).default('due') }),
      response: { 200: PageOf(Callback.extend({ ticket: opts.ticketSchema })), ...errorResponses },
    },
  }, async (request) => workOrders.listCallbacks(actorOf(request), request.query.status, request.query.page, request.query.pageSize));

  r.post('/callbacks/:id/result', {
    schema: { tags, summary: 'The citizen rated the result (满意/基本满意/不满意)', params: IdParams, body: z.strictObject({ satisfaction: Satisfaction, comment: z.string().max(2000).nullish() }), response: { 200: Callback, ...errorResponses } },
  }, async (request) => workOrders.recordCallbackResult(commandContext(request), request.params.id, request.body));

  r.post('/callbacks/:id/attempts', {
    schema: { tags, summary: 'A callback call was not answered', params: IdParams, body: z.strictObject({ outcome: z.literal('no_answer') }), response: { 200: Callback, ...errorResponses } },
  }, async (request) => workOrders.recordCallbackAttempt(commandContext(request), request.params.id, request.body.outcome));

  const Notice = z.object({
    id: z.string(), cityId: z.string(), event: z.string(), recipient: z.object({ kind: z.string(), id: z.string() }), ticketId: z.string().nullable(),
    workOrderId: z.string().nullable(), actBy: z.string().nullable(), payload: z.record(z.string(), z.unknown()), createdAt: z.string(),
  });
  const MyNotices = z.object({ items: z.array(Notice.extend({ ticketNumber: z.string().nullable(), read: z.boolean(), readAt: z.string().nullable() })), unread: z.number() });
  const Days = z.coerce.number().int().min(1).max(90).default(7);

  r.get('/notifications', {
    schema: {
      tags, summary: 'Your recent notices (通知): to you, your unit or your center role, with what you have read; and the unread count',
      querystring: z.strictObject({ days: Days, limit: z.coerce.number().int().min(1).max(200).default(30), unread: z.enum(['true', 'false']).optional() }),
      response: { 200: MyNotices, ...errorResponses },
    },
  }, async (request) => workOrders.myNotices(actorOf(request), { days: request.query.days, limit: request.query.limit, unreadOnly: request.query.unread === 'true' }));

  r.post('/notifications/read', {
    schema: { tags, summary: 'Mark notices read (for you only)', body: z.strictObject({ ids: z.array(z.string().min(1).max(64)).min(1).max(500), days: Days }), response: { 200: z.object({ unread: z.number() }), ...errorResponses } },
  }, async (request) => workOrders.markNoticesRead(actorOf(request), { ids: request.body.ids }, request.body.days));

  r.post('/notifications/read-all', {
    schema: { tags, summary: 'Mark all your recent notices read', body: z.strictObject({ days: Days }).default({ days: 7 }), response: { 200: z.object({ unread: z.number() }), ...errorResponses } },
  }, async (request) => workOrders.markNoticesRead(actorOf(request), { all: true }, request.body.days));

  r.get('/tickets/:id/notices', {
    schema: { tags, summary: "A ticket's notices with their delivery status (a unit: those to it only)", params: IdParams, response: { 200: z.array(Notice.extend({ status: z.string(), deliveredAt: z.string().nullable(), attempts: z.number(), lastError: z.string().nullable() })), ...errorResponses } },
  }, async (request) => workOrders.noticesOfTicket(actorOf(request), request.params.id));

  r.get('/tickets/:id/callbacks', {
    schema: { tags, summary: "A ticket's callbacks (回访), center only", params: IdParams, response: { 200: z.array(Callback), ...errorResponses } },
  }, async (request) => workOrders.callbacksOfTicket(actorOf(request), request.params.id));

  r.post('/tickets/:id/rating', {
    schema: { tags, summary: 'A rating for a ticket (SMS reply, web form): only while it is being called back', params: IdParams, body: z.strictObject({ satisfaction: Satisfaction, comment: z.string().max(2000).nullish() }), response: { 200: Callback, ...errorResponses } },
  }, async (request) => workOrders.rateTicket(commandContext(request), request.params.id, request.body));
}
