import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiKeyScope, badRequest, parseIsoWithZone, toChinaIso, Role } from '../core';
import { actorOf, allowRoles, commandContext, errorResponses, IsoDateTime } from '../core/http';
import type { CalendarService } from './calendar.service';
import type { OfficeHours, TimeLimit } from './domain/working-time';

export interface CalendarRoutesOptions {
  calendar: CalendarService;
  /** The office hours of a city (a city setting owned by the directory). */
  officeHoursOf: (cityId: string) => Promise<OfficeHours | undefined>;
}

const DeadlineQuery = z.strictObject({
  from: IsoDateTime,
  workingDays: z.coerce.number().int().min(0).max(365).optional(),
  workingHours: z.coerce.number().min(0).max(2000).optional(),
  hours: z.coerce.number().min(0).max(24 * 366).optional(),
  minutes: z.coerce.number().min(0).max(60 * 24 * 366).optional(),
});

/** /calendar: deadline preview on the working-time clock, and the national calendar's years. */
export async function calendarRoutes(app: FastifyInstance, opts: CalendarRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/calendar/deadline', {
    config: { apiKeyScopes: [ApiKeyScope.ticketsRead] },
    schema: {
      tags: ['calendar'],
      summary: 'Preview a deadline: from + N working days / working hours / hours / minutes, on the city\'s office hours',
      querystring: DeadlineQuery,
      response: { 200: z.object({ from: z.string(), limit: z.object({ amount: z.number(), unit: z.string() }), deadline: z.string() }), ...errorResponses },
    },
  }, async (request) => {
    const q = request.query;
    const given = (
      [
        ['working_days', q.workingDays],
        ['working_hours', q.workingHours],
        ['hours', q.hours],
        ['minutes', q.minutes],
      ] as const
    ).filter(([, v]) => v !== undefined);
    if (given.length !== 1) {
      throw badRequest('LIMIT_REQUIRED', 'give exactly one of workingDays, workingHours, hours, minutes', '须且只能提供工作日、工作小时、小时、分钟中的一项');
    }
    const limit = { unit: given[0][0], amount: given[0][1]! } as TimeLimit;
    const from = parseIsoWithZone(q.from)!;
    const officeHours = await opts.officeHoursOf(actorOf(request).cityId);
    const deadline = await opts.calendar.deadline(from, limit, officeHours);
    return { from: toChinaIso(from), limit, deadline: toChinaIso(deadline) };
  });

  r.get('/calendar/years', {
    config: { apiKeyScopes: [ApiKeyScope.ticketsRead] },
    schema: {
      tags: ['calendar'],
      summary: 'Years the working-day calendar has data for',
      response: { 200: z.array(z.object({ year: z.number(), source: z.string(), importedAt: z.string(), importedBy: z.string().nullable() })), ...errorResponses },
    },
  }, async () => opts.calendar.listYears());

  r.post('/calendar/years', {
    preHandler: allowRoles(Role.admin),
    config: { apiKeyScopes: [ApiKeyScope.admin] },
    bodyLimit: 256 * 1024,
    schema: {
      tags: ['calendar'],
      summary: 'Import a year as published by the State Council (replaces that year)',
      body: z.object({}).passthrough(),
      response: { 200: z.object({ year: z.number(), replaced: z.boolean(), holidayDays: z.number(), makeupWorkdays: z.number() }), ...errorResponses },
    },
  }, async (request) => opts.calendar.importYear(request.body, commandContext(request)));
}
