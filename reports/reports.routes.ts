/**
 * /reports: the figures (every KPI with numerator, denominator and the previous period), unit
 * rankings under the city's scheme, the tickets behind any number, and a report document as data.
 * A unit sees its own figures and its rank; grid staff their territory; the center everything.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiKeyScope } from '../core';
import { actorOf, errorResponses, PageQuery } from '../core/http';
import { PeriodKind, addDays } from './domain/periods';
import { ReportKind } from './domain/report-document';
import { GroupBy, type ReportsService } from './reports.service';

export interface ReportsRoutesOptions { reports: ReportsService }

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');
const FiltersQuery = z.strictObject({
  period: z.enum(PeriodKind).default('month'),
  from: day.optional(),
  to: day.optional(),
  groupBy: z.enum(GroupBy).optional(),
  level: z.string().max(16).optional(),
  unitId: z.string().min(1).max(64).optional(),
  categoryId: z.string().min(1).max(64).optional(),
  territoryId: z.string().min(1).max(64).optional(),
  channel: z.string().min(1).max(16).optional(),
  type: z.string().min(1).max(16).optional(),
});

const Period = z.object({ from: z.string(), to: z.string(), label: z.string() });
const Figure = z.object({
  kpi: z.string(), labelZh: z.string(), unit: z.string(), value: z.number().nullable(), numerator: z.number(), denominator: z.number(),
  previous: z.number().nullable(), previousNumerator: z.number(), previousDenominator: z.number(), drill: z.string().optional(),
});
const Figures = z.object({
  cityId: z.string(), period: Period, previousPeriod: Period, groupBy: z.string().nullable(), level: z.string().nullable(), figures: z.array(Figure),
  groups: z.array(z.object({ key: z.string(), name: z.string(), figures: z.array(Figure) })),
  calls: z.object({ available: z.boolean(), noteZh: z.string().nullable(), answeredWithin15sRate: z.number().nullable(), abandonRate: z.number().nullable(), averageSpeedOfAnswer: z.number().nullable(), offered: z.number().nullable() }),
});
const Ranking = z.object({
  cityId: z.string(), period: Period, scheme: z.string(), schemeZh: z.string(), rankedUnits: z.number(),
  rows: z.array(z.object({
    unitId: z.string(), unitName: z.string(), score: z.number().nullable(), rank: z.number().nullable(), deduction: z.number().optional(), capped: z.boolean().optional(),
    flagged: z.boolean().optional(), bottomMonths: z.array(z.string()).optional(), figures: z.record(z.string(), z.number().nullable()),
  })),
});

export async function reportsRoutes(app: FastifyInstance, opts: ReportsRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { reports } = opts;
  const tags = ['reports'];
  const config = { apiKeyScopes: [ApiKeyScope.ticketsRead] };

  r.get('/reports/figures', {
    schema: { tags, summary: '统计指标 Every KPI of a period with numerator, denominator and the previous period (环比), optionally grouped (see docs/kpis.md)', querystring: FiltersQuery, response: { 200: Figures, ...errorResponses } },
    config,
  }, async (request) => reports.figures(actorOf(request), request.query));

  r.get('/reports/rankings', {
    schema: { tags, summary: '单位排名 Units ranked under the city\'s scheme (weighted, 寿光 deductions, 诸城 bottom-3); a unit sees its own row', querystring: FiltersQuery.omit({ groupBy: true, level: true }), response: { 200: Ranking, ...errorResponses } },
    config,
  }, async (request) => reports.rankings(actorOf(request), request.query));

  r.get('/reports/drill', {
    schema: {
      tags, summary: '数据穿透 The tickets behind a number (paged; masked and confidential as in the ticket list)',
      querystring: FiltersQuery.omit({ groupBy: true, level: true }).extend({ ...PageQuery.shape, period: z.enum(PeriodKind).default('custom'), kpi: z.string().min(1).max(64), part: z.enum(['numerator', 'denominator']).default('numerator') }),
      response: { 200: z.object({ kpi: z.string(), labelZh: z.string(), part: z.string(), period: Period, items: z.array(z.record(z.string(), z.unknown())), hidden: z.number(), total: z.number(), page: z.number(), pageSize: z.number() }), ...errorResponses },
    },
    config,
  }, async (request) => reports.drill(actorOf(request), request.query));

  r.get('/reports/documents/:kind', {
    schema: {
      tags, summary: '报告 A report as data (日报告 daily, 周梳理 weekly, 月通报 monthly, 年度 yearly) for the period containing `date`; what the HTML, Excel and PDF render',
      params: z.strictObject({ kind: z.enum(ReportKind) }),
      querystring: z.strictObject({
        date: day,
        to: day.optional().describe('Last day (inclusive) of a custom period starting at `date`'),
        unitId: z.string().min(1).max(64).optional(), categoryId: z.string().min(1).max(64).optional(), territoryId: z.string().min(1).max(64).optional(),
        channel: z.string().min(1).max(16).optional(),
      }),
      response: { 200: z.record(z.string(), z.unknown()), ...errorResponses },
    },
    config,
  }, async (request) => {
    const actor = actorOf(request);
    const { date, to, ...filters } = request.query;
    const period = to === undefined ? date : { from: date, to: addDays(to, 1) };
    return reports.buildReportDocument(request.params.kind, period, actor.cityId, filters, actor) as unknown as Record<string, unknown>;
  });
}
