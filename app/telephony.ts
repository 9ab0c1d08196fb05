/**
 * Telephony wiring (电话接入): which SIP edge runs (TELEPHONY_EDGE), the telephony service over the
 * other parts' public services, and its life: started when the HTTP app is ready (after a first
 * start imported the city), stopped when it closes. See docs/telephony.md.
 */
import type { Logger } from 'pino';
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { systemActor, type Clock, type EventBus } from '../core';
import type { DirectoryService } from '../directory';
import type { IdentityService } from '../identity';
import { FINAL_STATUSES, type IntakeEvents, type IntakeService, type TicketStatus } from '../intake';
import type { LiveService } from '../live';
import type { CallService } from '../calls';
import type { AttachmentStorage } from '../workorders';
import {
  createBuiltinSipEdge, createSipEndpointsService, DEFAULT_SIP_REALM, createTelephonyService, promptFiles, type PromptName, type SipEdge,
} from '../telephony';
import { Redis } from 'ioredis';
import type { AppConfig } from './config';
import { drachtioEdgeFromConfig } from './telephony-drachtio';

const SIP_REALM = DEFAULT_SIP_REALM;

export interface TelephonyParts {
  db: Kysely<DB>;
  clock: Clock;
  directory: DirectoryService;
  identity: IdentityService;
  intake: IntakeService;
  intakeEvents: EventBus<IntakeEvents, Kysely<DB>>;
  live: LiveService;
  calls: CallService;
  storage: AttachmentStorage;
  logger?: Logger;
  /** Tests give their own edge (a double, or a real one on a free port); default: the one TELEPHONY_EDGE names. */
  edge?: SipEdge | null;
}

/** A repeat caller (重复来电) with an open urgent ticket jumps the queue; an emergency one further. */
const URGENCY_PRIORITY: Record<string, number> = { urgent: 1, emergency: 2 };

export function createTelephony(config: AppConfig, p: TelephonyParts) {
  const t = config.telephony;
  const logger = p.logger?.child({ part: 'telephony' });
  // Agents' phone accounts: only HA1 is stored (sip_endpoints); the registrar asks it.
  const sipEndpoints = createSipEndpointsService({ db: p.db, clock: p.clock });
  const credentials = sipEndpoints.credentials;
  const edgeLogger = logger ?? { debug() {}, info() {}, warn() {}, error() {} };
  let edge: SipEdge | null;
  let registrarRedis: Redis | null = null;
  if (p.edge !== undefined) edge = p.edge;
  else if (t.edge === 'builtin') {
    edge = createBuiltinSipEdge({
      host: t.sipHost, port: t.sipPort, publicAddress: t.publicAddress ?? undefined, realm: SIP_REALM, credentials, logger: edgeLogger,
      rtpPorts: t.rtpPorts, rtpLatch: t.rtpLatch, recordingsDir: t.recordingsDir,
    });
  } else if (t.edge === 'drachtio') {
    // Several nodes share the phones' registrations through Redis when there is one.
    registrarRedis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 3 }) : null;
    registrarRedis?.on('error', (err) => logger?.error({ err }, 'telephony: registrar Redis error'));
    edge = drachtioEdgeFromConfig(config, { credentials, realm: SIP_REALM, recordingsDir: t.recordingsDir, redis: registrarRedis, logger: edgeLogger });
  } else edge = null;

  let promptsFor: Record<PromptName, string> | null = null;
  async function acdPrompts(): Promise<Record<PromptName, string>> {
    // The city's recorded prompts, or the tones shipped in telephony/prompts/.
    const files = promptFiles(t.promptsDir ?? undefined);
    return { queue: files.queueMusic, callback_offer: files.callbackOffer, callback_confirmed: files.goodbye, goodbye: files.goodbye };
  }

  const service = createTelephonyService({
    db: p.db, clock: p.clock, edge, nodeId: t.nodeId, logger, recordingRetentionDays: t.recordingRetentionDays,
    // The files are written at start; no call is taken before.
    promptFile: (name) => promptsFor![name],
    ports: {
      directory: {
        settingsOf: async (cityId) => (await p.directory.getCity(cityId)).settings as Record<string, unknown>,
        lineByNumber: (cityId, dialled) => p.directory.lineByNumber(cityId, dialled),
      },
      presence: {
        list: async (cityId) => (await p.live.listPresence(systemActor(cityId, 'telephony'))).map((x) => ({ userId: x.userId, status: x.status, since: x.since })),
      },
      staff: { list: async (cityId) => (await p.identity.listUsers(cityId)).map((u) => ({ id: u.id, username: u.username, displayName: u.displayName, role: u.role })) },
      async callerPriority(cityId, phone) {
        if (!phone) return 0;
        const h = await p.intake.lookupCitizen(systemActor(cityId, 'telephony'), phone);
        if (!h.repeatCaller) return 0;
        let best = 0;
        for (const tk of h.tickets) {
          if (FINAL_STATUSES.has(tk.status as TicketStatus) || tk.status === 'answered') continue;
          best = Math.max(best, URGENCY_PRIORITY[tk.urgency] ?? 0);
        }
        return best;
      },
      calls: { record: (ctx, e) => p.calls.record(ctx, e) },
      tickets: {
        async readable(actor, ticketId) {
          const tk = await p.intake.getTicket(actor, ticketId);
          return { id: tk.id, confidential: tk.confidential, handlingUnitId: tk.handlingUnitId };
        },
      },
      live: { publish: (e) => p.live.publish(e) },
      storage: p.storage,
      credentials: {
        async setPassword(ctx, input) {
          await sipEndpoints.setPassword(ctx, { ...input, realm: SIP_REALM });
        },
      },
    },
  });

  // Answering links the call to the ticket the agent builds: the ticket carries the call's id.
  p.intakeEvents.on('ticket.created', async (e) => {
    if (e.ticket.call_id) await service.ticketCreated({ id: e.ticket.id, cityId: e.ticket.city_id, callId: e.ticket.call_id });
  });

  let running = false;
  return {
    service,
    edge,
    sipEndpoints,
    /** The digest realm phones register in. */
    realm: SIP_REALM,
    /**
     * Starts the ACD and the edge for the configured (or first) city; without a city, telephony waits
     * (logged). With no edge (off) the city's queue settings and this node's dangling records are still handled.
     */
    async start() {
      if (running) return;
      const cities = await p.directory.listCities();
      const cityId = t.cityId ?? cities[0]?.id ?? null;
      if (!cityId) return logger?.warn('telephony: no city yet; the SIP edge is not started');
      if (edge) promptsFor = await acdPrompts();
      await service.start(cityId);
      running = true;
      if (edge) logger?.info({ edge: edge.kind, health: await edge.health() }, 'telephony: SIP edge started');
    },
    async stop() {
      if (running) {
        running = false;
        await service.stop();
      }
      registrarRedis?.disconnect();
    },
  };
}

export type Telephony = ReturnType<typeof createTelephony>;
