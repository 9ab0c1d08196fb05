/**
 * Grid calls (网格呼叫·部门报到) and grid matters composed over the calendar, the directory, intake,
 * the work orders, the live feed and the jobs: an escalated call becomes a ticket (channel grid) and
 * follows it inside each of its transitions' transactions; the sweep job fires each step's
 * reminder and overdue mark once.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../db';
import { systemActor, type Clock, type EventBus } from '../core';
import type { CalendarService } from '../calendar';
import type { DirectoryService } from '../directory';
import type { IntakeEvents, IntakeService } from '../intake';
import type { WorkOrderService } from '../workorders';
import type { LiveService } from '../live';
import type { JobNames, JobQueue } from '../jobs';
import { createGridCallService, type GridCallEvents, type GridCallService } from '../gridcalls';

/** The grid part's jobs, added to the product's catalog. */
export type GridJobs = {
  /** Grid calls: each approval step's reminder (half-way) and overdue mark (deadline), once each (every node). */
  'gridcalls.sweep': Record<string, never>;
};
export const GRID_JOB_NAMES: JobNames<GridJobs> = { 'gridcalls.sweep': true };
/** How often the sweep looks for due reminders (steps are hours long: a minute is precise enough). */
export const GRID_SWEEP_MS = 60_000;

export interface GridWiring {
  db: Kysely<DB>; clock: Clock; logger?: Logger;
  calendar: CalendarService; directory: DirectoryService; intake: IntakeService; intakeEvents: EventBus<IntakeEvents, Kysely<DB>>;
  workOrders: WorkOrderService; live: LiveService; jobs: JobQueue<GridJobs>;
  /** The part's events: the reports count a recorded grid matter within its transaction. */
  events: EventBus<GridCallEvents, Kysely<DB>>;
}

export async function createGridCalls(d: GridWiring): Promise<GridCallService> {
  const gridCalls = createGridCallService({
    db: d.db,
    clock: d.clock,
    events: d.events,
    ports: {
      // Cached with the office hours: the step clock also runs inside a ticket's transaction (followTicketWithin).
      gridSettings: async (cityId) => ((await d.directory.citySettings(cityId)) as Record<string, unknown>).gridCalls,
      deadline: async (cityId, from, limit) => d.calendar.deadline(from, limit, await d.directory.cityOfficeHours(cityId)),
      async territory(cityId, id) {
        const t = await d.directory.getTerritory(id);
        return t && t.cityId === cityId ? { id: t.id, path: t.path, name: t.name, level: t.level } : null;
      },
      async createTicket(ctx, call, idempotencyKey) {
        const t = await d.intake.createTicket({ ...ctx, idempotencyKey }, {
          channel: 'grid', type: 'help', title: call.title, situation: call.situation, demand: call.demand ?? call.title, addressText: call.addressText, occurredAt: call.raisedAt,
          territoryId: call.territoryId, categoryId: call.categoryId, citizenName: call.callerName, parties: `网格呼叫 ${call.number}`,
        });
        return { id: t.id, number: t.number };
      },
      async rateTicket(cityId, ticketId, rating, idempotencyKey) {
        await d.workOrders.rateTicket({ actor: systemActor(cityId, 'gridcalls'), idempotencyKey }, ticketId, {
          satisfaction: rating.satisfaction as 'satisfied' | 'basically_satisfied' | 'unsatisfied', comment: rating.comment,
        });
      },
      async unit(cityId, id) {
        const u = await d.directory.getUnit(id, cityId);
        return u ? { id: u.id, kind: u.kind, name: u.name, territoryId: u.territoryId } : null;
      },
      async workOrder(ctx, id) {
        const w = await d.workOrders.get(ctx.actor, id);
        return { id: w.id, ticketId: w.ticketId, unitId: w.unitId, status: w.status, replyDue: w.deadlines.reply, title: w.ticket?.title ?? null };
      },
      async noteOnWorkOrder(ctx, id, text) {
        await d.workOrders.addNote({ actor: ctx.actor, requestId: ctx.requestId }, id, text);
      },
      feed: { stageWithin: (trx, e) => d.live.stageWithin(trx, e), releaseStaged: (ids) => d.live.releaseStaged(ids) },
    },
  });
  // An escalated call follows its ticket in the ticket's own transaction; its event goes out after the commit.
  const staged = new WeakMap<object, string[]>();
  d.intakeEvents.onWithin('ticket.transitioned', async (trx, e) => {
    const ids = await gridCalls.followTicketWithin(trx, {
      ticketId: e.ticket.id, from: e.from, to: e.to, result: e.ticket.result,
      satisfaction: e.input.action === 'record_satisfaction' ? e.input.satisfaction : null,
    });
    if (ids.length) staged.set(e, ids);
  });
  d.intakeEvents.on('ticket.transitioned', async (e) => {
    const ids = staged.get(e);
    if (ids) await gridCalls.releaseStaged(ids);
  });
  d.jobs.register('gridcalls.sweep', async () => {
    await gridCalls.sweep();
  });
  await d.jobs.schedule('gridcalls.sweep', { everyMs: GRID_SWEEP_MS }, {});
  return gridCalls;
}
