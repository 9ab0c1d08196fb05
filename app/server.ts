import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import websocket from '@fastify/websocket';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { serializerCompiler, validatorCompiler, jsonSchemaTransform } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import { identityRoutes } from '../identity';
import { intakeRoutes, TicketViewSchema, TicketCreateBodySchema } from '../intake';
import { smsRoutes } from '../sms';
import { directoryRoutes } from '../directory';
import { routingRoutes, responsibilityRoutes, knowledgeRoutes, listCategories } from '../routing';
import { calendarRoutes } from '../calendar';
import { workOrderRoutes } from '../workorders';
import { reportsRoutes, reportExportRoutes } from '../reports';
import { registerErrorHandling, routerErrorHandler } from './http-errors';
import { registerWellFormedText } from './well-formed-text';
import { registerSecurityHeaders } from './security-headers';
import { registerAdmissionControl } from './admission';
import { registerAuth, resolveActor } from './auth';
import { liveRoutes } from '../live';
import { callRoutes } from '../calls';
import { telephonyRoutes } from '../telephony';
import { speechRoutes } from '../speech';
import { isAppError } from '../core';
import { registerConsole } from './landing';
import { registerSpeechModels, speechBrowserRoutes } from './speech-browser';
import { ticketStoryRoutes } from './ticket-story';
import { hotspotRoutes } from '../reports';
import { gridCallRoutes } from '../gridcalls';
import type { AppContext } from './context';
import { registerCitizenPages, registerCitizenStaffRoutes } from './citizen';
import { registerOpen311 } from './open311';

const VERSION = '0.1.0';

/** Builds the HTTP app over a context, without listening (tests use `app.inject`). */
export async function buildServer(ctx: AppContext): Promise<FastifyInstance> {
  const { config } = ctx;
  const app = Fastify({
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel, redact: ['req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers.authorization'] },
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    frameworkErrors: routerErrorHandler,
    // Slow or idle clients (see HTTP_* in app/config.ts). Node checks the headers and request
    // timeouts on a timer (30 s by default): checking at a quarter of the headers timeout keeps a
    // slow client from outliving it by much.
    http: {
      headersTimeout: config.http.headersTimeoutMs,
      requestTimeout: config.http.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(config.http.headersTimeoutMs / 4))),
    },
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    connectionTimeout: config.http.idleTimeoutMs,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
  });
  // Beyond this many open sockets (WebSocket links included) new connections are refused at once,
  // so a flood degrades into refusals instead of exhausting file descriptors and memory.
  app.server.maxConnections = config.http.maxConnections;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // The SIP edge runs with the app: started once it is ready (the city imported), stopped when it closes.
  app.addHook('onReady', () => ctx.telephony.start());
  app.addHook('onClose', () => ctx.telephony.stop());
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // First of the request hooks: an overloaded node refuses before any authentication or database work.
  registerAdmissionControl(app, config.overload);
  registerErrorHandling(app);
  registerWellFormedText(app);
  registerSecurityHeaders(app);
  // Bodies are JSON only: text/plain is what a cross-site form can send (see app/auth.ts on CSRF).
  app.removeContentTypeParser('text/plain');
  await app.register(cookie);
  // One WebSocket server for the app; consoles send little (presence, resume), hence the small frame limit.
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  await app.register(swagger, {
    openapi: {
      info: { title: '12345 Hotline API (12345 热线接诉即办接口)', version: VERSION, description: 'Tickets, routing, work orders and reports of a 12345 citizen service hotline.' },
      components: {
        securitySchemes: {
          // `__Host-hotline_session` over HTTPS (identity sessionCookieOf).
          session: { type: 'apiKey', in: 'cookie', name: 'hotline_session' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
      security: [{ session: [] }, { apiKey: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await registerConsole(app, { isDemo: async () => (await ctx.directory.listCities()).some((c) => c.isDemo) });
  await registerSpeechModels(app);
  app.get('/healthz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await ctx.database.db.selectFrom('cities').select('id').limit(1).execute();
      const calendar = await ctx.calendar.coverage(ctx.clock.now());
      // An SMS link that is down is reported, not a failed health check: the hotline still takes calls; texts wait queued.
      return { status: 'ok', database: ctx.database.dialect, jobs: ctx.jobs.kind, version: VERSION, uptimeSeconds: Math.round(process.uptime()), calendar, sms: ctx.sms.health(), telephony: await ctx.telephony.service.health(), speech: await ctx.speech.service.status() };
    } catch {
      return reply.code(503).send({ status: 'error', database: ctx.database.dialect, version: VERSION });
    }
  });

  await registerOpen311(app, ctx.open311);

  await app.register(async (api) => {
    registerAuth(api, ctx.identity, { allowedOrigins: config.allowedOrigins, cookieSecure: config.cookieSecure });
    await api.register(identityRoutes, { identity: ctx.identity, cookieSecure: config.cookieSecure });
    await api.register(intakeRoutes, { intake: ctx.intake });
    await api.register(directoryRoutes, { directory: ctx.directory });
    await api.register(routingRoutes, {
      routing: ctx.routing, ticketSchema: TicketViewSchema, categories: (cityId: string) => listCategories(ctx.database.db, cityId),
      spokenText: (actor, callId) => ctx.calls.spokenText(actor, callId),
    });
    await api.register(responsibilityRoutes, { responsibility: ctx.responsibility });
    await api.register(knowledgeRoutes, { knowledge: ctx.knowledge });
    await api.register(workOrderRoutes, { workOrders: ctx.workOrders, ticketSchema: TicketViewSchema, maxAttachmentBytes: config.attachments.maxBytes });
    await api.register(liveRoutes, {
      live: ctx.live,
      // A revoked key is a closed socket, not an error to log.
      reauthenticate: (request) => resolveActor(request, ctx.identity, config.cookieSecure).catch((err) => (isAppError(err) ? null : Promise.reject(err))),
      allowedOrigins: config.allowedOrigins,
    });
    await api.register(callRoutes, { calls: ctx.calls });
    await api.register(reportsRoutes, { reports: ctx.reports });
    await api.register(telephonyRoutes, { telephony: ctx.telephony.service });
    await api.register(speechRoutes, { speech: ctx.speech.service });
    await api.register(smsRoutes, {
      sms: ctx.sms,
      ticketCreateBody: TicketCreateBodySchema,
      // Each gateway's HTTP callbacks carry its own token (SMS_KANNEL_CALLBACK_TOKEN, SMS_WEBHOOK_CALLBACK_TOKEN).
      callbacks: ctx.smsGateway.members.map((gateway) => {
        const cfg = config.sms.gateways.find((g) => g.name === gateway.name);
        return { gateway, token: cfg && (cfg.kind === 'kannel' || cfg.kind === 'webhook') ? cfg.callbackToken : null };
      }),
    });
    await api.register(ticketStoryRoutes, { intake: ctx.intake, workOrders: ctx.workOrders, calls: ctx.calls, identity: ctx.identity });
    await api.register(hotspotRoutes, { hotspots: ctx.hotspots });
    await api.register(reportExportRoutes, { exports: ctx.reportExports });
    await api.register(gridCallRoutes, { gridCalls: ctx.gridCalls });
    await api.register(calendarRoutes, { calendar: ctx.calendar, officeHoursOf: (cityId: string) => ctx.directory.cityOfficeHours(cityId) });
    await registerCitizenStaffRoutes(api, ctx);
    await api.register(speechBrowserRoutes, {});
  }, { prefix: '/api/v1' });
  await registerCitizenPages(app, ctx);

  return app;
}
