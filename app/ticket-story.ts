/**
 * The whole story of one ticket (工单全貌) for the console's ticket page, in one request: the ticket,
 * its audit trail, links, every work order with its clocks, notes, attachments and history, the
 * center's dispatch clock, the call and its transcript, the notices with their delivery status, and
 * the callbacks (回访).
 *
 * Composition only: every part comes through that part's public service, called with the viewer as
 * the actor, so each applies its own scope (a unit: its own work orders and notices, never callbacks,
 * the phone masked; an agent: only the calls offered to them). A part the viewer may not see is left
 * out (null), not an error: only the ticket itself decides between the story and 404.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isAppError, isCenter, type Actor } from '../core';
import { actorOf, errorResponses } from '../core/http';
import { TicketViewSchema, type IntakeService } from '../intake';
import type { WorkOrderService } from '../workorders';
import type { CallService } from '../calls';
import type { IdentityService } from '../identity';

export interface TicketStoryOptions {
  intake: IntakeService;
  workOrders: WorkOrderService;
  calls: CallService;
  identity: IdentityService;
}

/** A part the viewer may not see (403/404 from its service) is absent from the story. */
async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (isAppError(err) && (err.status === 403 || err.status === 404)) return null;
    throw err;
  }
}

export async function ticketStory(deps: TicketStoryOptions, actor: Actor, id: string) {
  const { intake, workOrders, calls, identity } = deps;
  // First the ticket: out of scope is 404 for the whole page, like missing.
  const ticket = await intake.getTicket(actor, id);
  const center = isCenter(actor);
  const [audit, links, list, centerMilestones, call, notices, callbacks] = await Promise.all([
    intake.auditOf(actor, id),
    intake.linksOf(actor, id),
    orNull(workOrders.list(actor, { queue: 'all', ticketId: id }, 1, 200)),
    center ? orNull(workOrders.centerMilestones(actor, id)) : Promise.resolve(null),
    ticket.callId && center ? orNull(calls.getCall(actor, ticket.callId)) : Promise.resolve(null),
    orNull(workOrders.noticesOfTicket(actor, id)),
    center ? orNull(workOrders.callbacksOfTicket(actor, id)) : Promise.resolve(null),
  ]);
  const orders = await Promise.all(
    (list?.items ?? []).map(async (w) => {
      const [detail, milestones] = await Promise.all([workOrders.get(actor, w.id), workOrders.milestones(actor, w.id)]);
      // The ticket is the story's own; a work order does not repeat it.
      const { ticket: _ticket, ...rest } = detail;
      return { ...rest, milestones };
    }),
  );
  // Work-order history names its people like the ticket's trail does (the role stays beside the name).
  const ids = new Set(orders.flatMap((w) => w.history.map((h) => h.actorId).filter((x): x is string => !!x)));
  const names = ids.size ? new Map((await identity.listUsers(actor.cityId)).filter((u) => ids.has(u.id)).map((u) => [u.id, u.displayName])) : new Map<string, string>();
  const workOrderList = orders.map((w) => ({ ...w, history: w.history.map((h) => ({ ...h, actorName: (h.actorId && names.get(h.actorId)) || null })) }));
  return { ticket, audit, links, workOrders: workOrderList, centerMilestones, call, notices: notices ?? [], callbacks };
}

const Milestone = z.object({ clock: z.string(), step: z.string(), deadline: z.string(), due: z.string(), status: z.string(), firedAt: z.string().nullable(), firedBy: z.string().nullable() });

/** `GET /tickets/:id/story` (mounted under /api/v1). */
export async function ticketStoryRoutes(app: FastifyInstance, opts: TicketStoryOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/tickets/:id/story', {
    schema: {
      tags: ['tickets'],
      summary: "A ticket's whole story for its page, as you may see it: work orders, clocks, notes, attachments, call, notices, callbacks, audit",
      params: z.strictObject({ id: z.string().min(1).max(64) }),
      response: {
        200: z.object({
          ticket: TicketViewSchema,
          audit: z.array(z.any()),
          links: z.array(z.any()),
          workOrders: z.array(z.any()),
          centerMilestones: z.array(Milestone).nullable(),
          call: z.any().nullable(),
          notices: z.array(z.any()),
          /** null: the viewer may not see callbacks (units) */
          callbacks: z.array(z.any()).nullable(),
        }),
        ...errorResponses,
      },
    },
  }, async (request) => ticketStory(opts, actorOf(request), request.params.id));
}
