import type { Logger } from 'pino';
import type { Kysely } from 'kysely';
import { openDatabase, migrateToLatest, ensureMysqlDatabase, type Database, type DB } from '../db';
import { EventBus, SEAT_ROLES, systemClock, type Clock } from '../core';
import { createIdentityService, createLocalLoginAttemptStore, createRedisLoginAttemptStore, type IdentityEvents } from '../identity';
import { createDirectoryService } from '../directory';
import {
  getCategory, listCategories, createTerritoryResolverService, createResponsibilityService, createKnowledgeService, createRoutingService,
  createClassifierService, normalizeText, words,
} from '../routing';
import { createRoutingPorts } from './routing-ports';
import { createJobQueue, type JobNames } from '../jobs';
import { createCalendarService } from '../calendar';
import { createIntakeService, toTicketView, type IntakeEvents } from '../intake';
import { createWorkOrderService, createDiskAttachmentStorage, createS3AttachmentStorage, createLogNotificationSink, unitWorkOrdersOf, type WorkOrderEvents } from '../workorders';
import { createWorkOrderLookups } from './workorder-ports';
import { createLiveService, createLocalLiveAdapters, createRedisLiveAdapters, publishTicketEvents, publishWorkOrderEvents, createLiveNotificationSink } from '../live';
import { createCallService } from '../calls';
import { createSmsService, createGatewaysFromConfig } from '../sms';
import { createSmsPorts, queueCitizenTextsOnTicketEvents } from './sms-ports';
import { createHotspots, HOTSPOT_SWEEP_MS } from './hotspots';
import { createReportExports, reportSourceOf, REPORT_JOB_NAMES, type ReportJobs } from './report-exports';
import type { ReportSource } from '../reports';
import { createReports } from './reports';
import type { AppConfig } from './config';
import { createTelephony, type TelephonyParts } from './telephony';
import { createCitizen } from './citizen';
import { createOpen311 } from './open311';
import { createGridCalls, GRID_JOB_NAMES, type GridJobs } from './gridcalls';
import type { GridCallEvents } from '../gridcalls';
import { createSpeech } from './speech';
import type { SpeechEngine } from '../speech';

/** The product's job catalog (name → payload); each part adds its own. */
type HotlineJobs = {
  /** Expired console sessions are deleted hourly. */
  'sessions.sweep': Record<string, never>;
  /** The supervision ladder, callbacks and the notification outbox (every node; each step fires once). */
  'workorders.sweep': Record<string, never>;
  /** Live-feed events past their retention are deleted hourly. */
  'live.prune': Record<string, never>;
  /** SMS: a delivery run (asked for after a text is queued, and at each retry's time). */
  'sms.deliver': Record<string, never>;
  /** SMS: texts due or left behind by a crash, and inbound texts whose handling was cut short (every node). */
  'sms.sweep': Record<string, never>;
  /** Hotspot warnings: today's busy groups evaluated against their baseline (every node; each level raised once). */
  'hotspots.sweep': Record<string, never>;
  /** Telephony: recordings past their retention are deleted (daily, every node; each file once). */
  'telephony.recordings_purge': Record<string, never>;
} & ReportJobs & GridJobs;
const HOTLINE_JOB_NAMES: JobNames<HotlineJobs> = {
  'sessions.sweep': true, 'workorders.sweep': true, 'live.prune': true, 'sms.deliver': true, 'sms.sweep': true, 'hotspots.sweep': true,
  'telephony.recordings_purge': true, ...REPORT_JOB_NAMES, ...GRID_JOB_NAMES,
};

/**
 * The composition root: opens storage, runs migrations and builds each part's service over its ports.
 * Nothing else in the product reads configuration or decides which adapter runs.
 */
export async function createContext(config: AppConfig, opts: { clock?: Clock; database?: Database; logger?: Logger; reportSource?: ReportSource; telephony?: Pick<TelephonyParts, 'edge'>; speechEngine?: SpeechEngine } = {}) {
  const clock = opts.clock ?? systemClock;
  let database = opts.database;
  if (!database) {
    if (config.databaseUrl.startsWith('mysql://') || config.databaseUrl.startsWith('mariadb://')) await ensureMysqlDatabase(config.databaseUrl);
    database = await openDatabase(config.databaseUrl);
  }
  await migrateToLatest(database);
  const { db, dialect } = database;
  // Timed work: BullMQ when REDIS_URL is set, in-process otherwise. The catalog grows with the parts.
  const jobs = await createJobQueue<HotlineJobs>({ redisUrl: config.redisUrl, prefix: config.redisPrefix, clock, logger: opts.logger, jobNames: HOTLINE_JOB_NAMES });

  const directory = createDirectoryService({ db, dialect, clock });
  // Failed logins are counted where every node sees them: Redis with several nodes, in-process otherwise.
  const loginAttempts = config.redisUrl
    ? await createRedisLoginAttemptStore({ redisUrl: config.redisUrl, prefix: config.redisPrefix, onError: (err) => opts.logger?.error({ err }, 'login throttle: Redis error') })
    : createLocalLoginAttemptStore();
  const identityEvents = new EventBus<IdentityEvents>((event, err) => opts.logger?.error({ err, event }, 'event subscriber failed'));
  const identity = createIdentityService({
    db, clock, sessionHours: config.sessionHours, events: identityEvents, attempts: loginAttempts,
    territoryPathOf: (id) => directory.territoryPathOf(id),
    cityOfUnit: async (id) => (await directory.getUnit(id))?.cityId ?? null,
    cityOfTerritory: async (id) => (await directory.getTerritory(id))?.cityId ?? null,
  });
  const territoryResolver = createTerritoryResolverService({ db, dialect, directory });
  const calendar = createCalendarService({ db, dialect, clock });
  await calendar.ensureSeeded();
  const coverage = await calendar.coverage(clock.now());
  if (coverage.missingYear) opts.logger?.warn({ calendar: coverage }, `${coverage.messageZh} / ${coverage.message}`);

  /** Display names by user id, for audit trails (a city has hundreds of users at most: one read). */
  const userNamesOf = async (cityId: string, ids: string[]) => {
    const wanted = new Set(ids);
    return new Map((await identity.listUsers(cityId)).filter((u) => wanted.has(u.id)).map((u) => [u.id, u.displayName]));
  };

  const intakeEvents = new EventBus<IntakeEvents, Kysely<DB>>((event, err) => opts.logger?.error({ err, event }, 'event subscriber failed'));
  const intake = createIntakeService({
    db,
    dialect,
    clock,
    numberBlockSize: config.ticketNumberBlock,
    events: intakeEvents,
    lookups: {
      async territory(id) {
        const t = await directory.getTerritory(id);
        return t ? { id: t.id, cityId: t.cityId, name: t.name, level: t.level, path: t.path } : null;
      },
      async unit(id) {
        const u = await directory.getUnit(id);
        return u ? { id: u.id, cityId: u.cityId, name: u.name, active: u.active } : null;
      },
      async placeOf(cityId, q) {
        const r = q.buildingCode
          ? await territoryResolver.resolveBuilding(cityId, q.buildingCode)
          : await territoryResolver.resolve(cityId, q.address ?? '', q.lat != null && q.lng != null ? { lat: q.lat, lng: q.lng } : {});
        return r.status === 'resolved' && r.territory ? { territoryId: r.territory.id, confidence: r.confidence } : null;
      },
      async category(id) {
        const c = await getCategory(db, id);
        return c ? { id: c.id, cityId: c.cityId, code: c.code, name: c.name } : null;
      },
      userNames: (cityId, ids) => userNamesOf(cityId, ids),
      // A unit reads the tickets it co-handles (协办) or handled in an earlier round.
      unitWorkOrders: unitWorkOrdersOf(db),
    },
  });

  // Open311 GeoReport v2: civic apps' requests become tickets through intake (app/open311.ts).
  const open311 = createOpen311({ db, clock, directory, identity, intake, intakeEvents });
  const categoriesOf = (cityId: string) => listCategories(db, cityId);
  const responsibility = createResponsibilityService({ db, dialect, clock, directory, categories: categoriesOf });
  const knowledge = createKnowledgeService({ db, dialect, clock, directory, categories: categoriesOf });
  const classifier = createClassifierService({ db, dialect, clock, categories: categoriesOf });
  const routingPorts = createRoutingPorts({
    db, directory, calendar, intake, territoryResolver, responsibility, knowledge,
    classify: (cityId, text) => classifier.classify(cityId, text),
  });
  const routing = createRoutingService(routingPorts, {
    clock,
    tickets: {
      async get(ctx, id) {
        const t = await intake.getTicket(ctx.actor, id);
        return {
          id: t.id, cityId: ctx.actor.cityId, version: t.version, title: t.title, situation: t.situation, demand: t.demand, type: t.type,
          urgency: t.urgency, categoryId: t.categoryId, territoryId: t.territoryId, addressText: t.addressText, lat: t.lat, lng: t.lng,
        };
      },
      dispatch: (ctx, id, version, input) => intake.transition(ctx, id, version, { action: 'dispatch', ...input }),
    },
    learning: classifier,
  });

  // 即办: an answer given from a knowledge article is recorded against it, so outdated answers can be traced.
  intakeEvents.on('ticket.transitioned', async (e) => {
    if (e.input.action === 'answer_on_spot' && e.input.knowledgeArticleId) {
      await knowledge.recordUse({ actor: e.actor }, e.input.knowledgeArticleId, e.ticket.id);
    }
  });

  // 工单办理: work orders take part in every ticket transition; the sweep fires the supervision ladder.
  const workOrderLookups = createWorkOrderLookups({ db, directory, calendar });
  const attachmentStorage = config.attachments.s3 ? createS3AttachmentStorage(config.attachments.s3) : createDiskAttachmentStorage(config.attachments.dir);
  const workOrderEvents = new EventBus<WorkOrderEvents, Kysely<DB>>((event, err) => opts.logger?.error({ err, event }, 'event subscriber failed'));
  const workOrders = createWorkOrderService({
    db,
    clock,
    events: workOrderEvents,
    tickets: {
      transitionWithin: (trx, ctx, id, input, o) => intake.transitionWithin(trx, ctx, id, input, o),
      prepareTransition: (actor, id, input, now) => intake.prepareTransition(actor, id, input, now),
      addParticipant: (p) => intake.addParticipant(p),
      getTicketRow: (actor, id) => intake.getTicketRow(actor, id),
      statusWithin: (trx, id) => intake.statusWithin(trx, id),
      view: toTicketView,
    },
    lookups: workOrderLookups,
    storage: attachmentStorage,
    sinks: [createLogNotificationSink(opts.logger)],
    maxAttachmentBytes: config.attachments.maxBytes,
    // Notices are delivered right after the commit that queued them; the sweep catches any left behind.
    kick: () => setImmediate(() => void workOrders.deliverOutbox().catch((err) => opts.logger?.error({ err }, 'outbox delivery failed'))),
  });
  // The work orders a ticket transition changed are announced with it: staged in its transaction, pushed after.
  const workOrdersAnnounced = new WeakMap<object, () => void>();
  intakeEvents.onWithin('ticket.transitioned', async (trx, e) => {
    workOrdersAnnounced.set(e, await workOrders.announceTicketChangeWithin(trx, e.ticket, e.action));
  });
  // An edited ticket (category, place, urgency, title) reads the same in the units' queues at once.
  intakeEvents.onWithin('ticket.updated', async (trx, e) => {
    await workOrders.syncTicketFactsWithin(trx, e.ticket);
  });
  intakeEvents.on('ticket.transitioned', async (e) => {
    workOrdersAnnounced.get(e)?.();
    await workOrders.deliverOutbox();
  });

  // 统计: the rollups change in the same transaction as the tickets and work orders.
  // The contact-center KPIs read the call records of the telephony part (built below).
  const callMetrics = { counts: (cityId: string, from: Date, to: Date) => telephony.service.callCounts(cityId, from, to) };
  // 网格自办事项 count in the reports: the grid-call part's events reach them within its transactions.
  const gridEvents = new EventBus<GridCallEvents, Kysely<DB>>((event, err) => opts.logger?.error({ err, event }, 'event subscriber failed'));
  const reports = createReports({ db, dialect, clock, directory, intake, intakeEvents, workOrderEvents, gridEvents, calls: callMetrics });

  // 实时推送: in-process on one node, Redis pub/sub between several; the database numbers every event.
  const liveAdapters = config.redisUrl
    ? await createRedisLiveAdapters({ redisUrl: config.redisUrl, prefix: config.redisPrefix, onError: (err) => opts.logger?.error({ err }, 'live: Redis error') })
    : createLocalLiveAdapters();
  const live = createLiveService({
    db, clock, ...liveAdapters, logger: opts.logger, heartbeatMs: config.live.heartbeatMs, retentionDays: config.live.retentionDays,
    staffOf: async (cityId) => (await identity.listUsers(cityId)).filter((u) => SEAT_ROLES.has(u.role)).map((u) => ({ id: u.id, name: u.displayName, role: u.role })),
  });
  await live.start();
  // A logout, a disabled user, a changed role or unit, a revoked key: their live sockets close now, on every node.
  identityEvents.on('access.ended', (e) =>
    live.endAccess(
      e.kind === 'session' ? { kind: 'session', sessionId: e.sessionId, code: 'auth' }
        : e.kind === 'api_key' ? { kind: 'api_key', apiKeyId: e.apiKeyId, code: 'auth' }
          : { kind: 'user', userId: e.userId, code: e.reason === 'scope_changed' ? 'scope' : 'auth' },
    ));
  publishTicketEvents(intakeEvents, live);
  publishWorkOrderEvents(workOrderEvents, live);
  // Notices reach the consoles as a sink of the outbox: stored (once per notice) before the row counts as delivered.
  workOrders.addSink(createLiveNotificationSink(live));
  const calls = createCallService({ db, dialect, clock, directory, identity, intake, live, tokenize: (text) => words(normalizeText(text)) });
  // 热点预警: counts in each ticket's transaction, evaluation after it and by the sweep.
  const hotspotPart = createHotspots({ db, dialect, clock, logger: opts.logger, directory, identity, intake, intakeEvents, live, workOrders });
  jobs.register('hotspots.sweep', async () => void (await hotspotPart.hotspots.sweep()));
  await jobs.schedule('hotspots.sweep', { everyMs: HOTSPOT_SWEEP_MS }, {});

  // 电话接入: the SIP edge and the ACD above it; recordings are stored where attachments are.
  const telephony = createTelephony(config, { db, clock, directory, identity, intake, intakeEvents, live, calls, storage: attachmentStorage, logger: opts.logger, ...opts.telephony });
  // 语音转写: the media fork's audio to the speech engine, segments to the call; a transcript goes with its recording.
  const speech = createSpeech(config, { calls, intake, directory, telephony, live, logger: opts.logger, engine: opts.speechEngine });
  jobs.register('telephony.recordings_purge', async () => {
    await telephony.service.purgeExpiredRecordings((call) => speech.recordingDeleted(call));
  });
  await jobs.schedule('telephony.recordings_purge', { everyMs: 86_400_000 }, {});

  // 短信: gateways in the configured order (failover, a rate limit each); texts from the outbox and ticket events.
  const smsGateway = createGatewaysFromConfig(config.sms.gateways, { logger: opts.logger });
  const smsPorts = createSmsPorts({ db, directory, intake, workOrders });
  let smsRunning: Promise<unknown> | null = null;
  let smsAgain = false;
  /** One delivery run at a time per node; a kick during a run asks for one more. */
  const runSmsNow = () => {
    if (smsRunning) { smsAgain = true; return; }
    smsRunning = sms.deliverDue().catch((err) => opts.logger?.error({ err }, 'sms delivery run failed')).finally(() => {
      smsRunning = null;
      if (smsAgain) { smsAgain = false; runSmsNow(); }
    });
  };
  const sms = createSmsService({
    db, dialect, clock, gateway: smsGateway, lookups: smsPorts.lookups, commands: smsPorts.commands,
    publish: async (e) => { await live.publish(e); },
    kick: (at) => {
      if (!at || at.getTime() <= clock.now().getTime()) return setImmediate(runSmsNow);
      void jobs.enqueue('sms.deliver', {}, { jobId: `sms.deliver:${Math.ceil(at.getTime() / 1000)}`, runAt: at }).catch((err) => opts.logger?.error({ err }, 'sms: scheduling a retry failed'));
    },
    sender: config.sms.sender, quietHours: config.sms.quietHours, maxAttempts: config.sms.maxAttempts, expireHours: config.sms.expireHours,
    logger: opts.logger,
  });
  workOrders.addSink({ deliver: (n) => sms.deliverNotice(n), deliverBatch: (ns) => sms.deliverNotices(ns) });
  queueCitizenTextsOnTicketEvents(intakeEvents, sms);
  jobs.register('sms.deliver', async () => {
    await sms.deliverDue();
  });
  jobs.register('sms.sweep', async () => {
    await sms.deliverDue();
    await sms.reconcileReceipts();
    await sms.resumeInbound();
  });
  await jobs.schedule('sms.sweep', { everyMs: config.sweepIntervalSeconds * 1000 }, {});
  // An SMSC that does not answer yet does not stop the hotline: the gateway binds in the background.
  await smsGateway.start().catch((err) => opts.logger?.error({ err }, 'sms: gateway start failed; retrying in the background'));

  jobs.register('sessions.sweep', () => identity.sweepExpiredSessions());
  jobs.register('live.prune', async () => {
    await live.prune();
  });
  await jobs.schedule('live.prune', { everyMs: 3_600_000 }, {});
  jobs.register('workorders.sweep', async () => {
    await workOrders.sweep();
  });
  await jobs.schedule('workorders.sweep', { everyMs: config.sweepIntervalSeconds * 1000 }, {});
  await jobs.schedule('sessions.sweep', { everyMs: 3_600_000 }, {});
  // 报表导出: exports and the 08:00 schedule, rendering the figures part's report documents.
  // 群众端: the QR report per building and the status page behind an SMS code.
  const citizen = createCitizen({ config, db, dialect, clock, intake, territoryResolver, directory, workOrders, sms, storage: attachmentStorage });
  await citizen.secret(); // made (or read) at start, not by a citizen's first request
  const reportExports = await createReportExports({ config, db, dialect, clock, jobs, calendar, directory, live, source: opts.reportSource ?? reportSourceOf(reports), logger: opts.logger });
  // 网格呼叫: approvals up the territory, escalation to a ticket that the call then follows.
  const gridCalls = await createGridCalls({ db, clock, logger: opts.logger, calendar, directory, intake, intakeEvents, workOrders, live, jobs, events: gridEvents });
  await jobs.start();

  return {
    config,
    clock,
    database,
    directory,
    identity,
    calendar,
    territoryResolver,
    responsibility,
    knowledge,
    routing,
    classifier,
    /** Told after a city import: cached categories, units and policies of the city are dropped. */
    forgetCity(cityId: string) {
      routingPorts.forget(cityId);
      routing.forgetCategories(cityId);
      classifier.forget(cityId);
      knowledge.invalidate(cityId);
      responsibility.forgetCached();
      workOrders.forget(cityId);
      workOrderLookups.forget(cityId);
      hotspotPart.forget();
    },
    intake,
    workOrders,
    reports,
    live,
    calls,
    hotspots: hotspotPart.hotspots,
    telephony,
    speech,
    sms,
    smsGateway,
    reportExports,
    citizen,
    open311,
    gridCalls,
    jobs,
    async close() {
      await speech.close(); // the last segments of open streams are stored while the database is open
      await telephony.stop(); // its last call records are written while the database is open
      await live.close(); // first: closing consoles announce their seats offline through the database
      await jobs.stop(); // before the database: handlers may still be writing
      await hotspotPart.stop(); // debounced hotspot evaluations: the sweep of a running node covers them
      await smsRunning;
      await smsGateway.close();
      await identity.close();
      await database!.close();
    },
  };
}

export type AppContext = Awaited<ReturnType<typeof createContext>>;
