/**
 * Agents' phone accounts (坐席话机账号) for the built-in SIP edge: set a phone's password (only its
 * HA1 is stored), list and remove accounts, and the {@link SipCredentials} port the edge's registrar
 * asks. Every change is audited; the secret never reaches the audit trail.
 */
import type { Kysely } from 'kysely';
import { badRequest, conflict, newId, notFound, toDbTime, type CommandContext } from '../core';
import { recordAudit } from '../audit';
import { onUniqueViolation, type DB } from '../db';
import type { SipCredentials } from './ports';
import { computeHa1 } from './edges/builtin/digest';
import { SipEndpointsRepository } from './sip-endpoints.repository';

export interface SipEndpointView {
  id: string;
  cityId: string;
  username: string;
  userId: string | null;
  realm: string;
  createdAt: string;
  updatedAt: string;
}

/** SIP user names a phone can send without escaping (RFC 3261 `user` unreserved subset). */
const USERNAME = /^[A-Za-z0-9._-]{1,64}$/;
export const MIN_SIP_PASSWORD_LENGTH = 8;

export interface SipEndpointsDeps {
  db: Kysely<DB>;
  clock?: { now(): Date };
}

export interface SetSipPasswordInput {
  cityId: string;
  username: string;
  password: string;
  /** The digest realm the edge challenges with (HA1 depends on it). */
  realm: string;
  /** The console user at this phone; null unlinks, undefined keeps what is stored. */
  userId?: string | null;
}

export interface SipEndpointsService {
  /** Creates the account or replaces its password (idempotent: the same input gives the same row). */
  setPassword(ctx: CommandContext, input: SetSipPasswordInput): Promise<SipEndpointView>;
  list(cityId: string): Promise<SipEndpointView[]>;
  /**
   * Gives each of these seats a phone account named like the user, with `password`, unless one exists
   * (an existing account keeps its password). For the demo city and first installs; returns how many were created.
   */
  ensureAgentPhones(ctx: CommandContext, input: { cityId: string; realm: string; password: string; agents: { userId: string; username: string }[] }): Promise<number>;
  remove(ctx: CommandContext, cityId: string, username: string): Promise<void>;
  /** The registrar's lookup: the HA1 for this username in this realm, or null (unknown, or set for another realm). */
  credentials: SipCredentials;
}

const toView = (r: { id: string; city_id: string; username: string; user_id: string | null; realm: string; created_at: string; updated_at: string }): SipEndpointView => ({
  id: r.id, cityId: r.city_id, username: r.username, userId: r.user_id, realm: r.realm, createdAt: r.created_at, updatedAt: r.updated_at,
});

export function createSipEndpointsService(deps: SipEndpointsDeps): SipEndpointsService {
  const clock = deps.clock ?? { now: () => new Date() };

  const service: SipEndpointsService = {
    async setPassword(ctx, input) {
      if (!USERNAME.test(input.username)) {
        throw badRequest('SIP_USERNAME_INVALID', 'a SIP username is 1-64 letters, digits, dot, dash or underscore', 'SIP账号须为1-64位字母、数字、点、横线或下划线');
      }
      if (input.password.length < MIN_SIP_PASSWORD_LENGTH) {
        throw badRequest('SIP_PASSWORD_TOO_SHORT', `a SIP password has at least ${MIN_SIP_PASSWORD_LENGTH} characters`, `SIP密码至少${MIN_SIP_PASSWORD_LENGTH}位`);
      }
      const now = clock.now();
      const ha1 = computeHa1(input.username, input.realm, input.password);
      return deps.db.transaction().execute(async (trx) => {
        const repo = new SipEndpointsRepository(trx);
        const existing = await repo.findByUsername(input.username);
        if (existing && existing.city_id !== input.cityId) {
          throw conflict('SIP_USERNAME_TAKEN', `SIP username ${input.username} belongs to another city`, `SIP账号 ${input.username} 已被其他城市使用`);
        }
        const userId = input.userId === undefined ? existing?.user_id ?? null : input.userId;
        if (existing) {
          await repo.updateSecret(existing.id, { realm: input.realm, ha1, user_id: userId, updated_at: toDbTime(now) });
          await recordAudit(trx, ctx, {
            entityType: 'sip_endpoint', entityId: existing.id, action: 'sip_endpoint.password_set', cityId: input.cityId,
            before: { userId: existing.user_id, realm: existing.realm }, after: { username: input.username, userId, realm: input.realm },
          }, now);
          return toView({ ...existing, realm: input.realm, user_id: userId, updated_at: toDbTime(now) });
        }
        const row = { id: newId(), city_id: input.cityId, username: input.username, user_id: userId, realm: input.realm, ha1, created_at: toDbTime(now), updated_at: toDbTime(now) };
        await onUniqueViolation(() => repo.insert(row), () =>
          conflict('SIP_USERNAME_TAKEN', `SIP username ${input.username} was just taken`, `SIP账号 ${input.username} 已被占用`));
        await recordAudit(trx, ctx, {
          entityType: 'sip_endpoint', entityId: row.id, action: 'sip_endpoint.created', cityId: input.cityId,
          after: { username: input.username, userId, realm: input.realm },
        }, now);
        return toView(row);
      });
    },

    async ensureAgentPhones(ctx, input) {
      let created = 0;
      for (const a of input.agents) {
        if (!USERNAME.test(a.username)) continue;
        if (await new SipEndpointsRepository(deps.db).findByUsername(a.username)) continue;
        await service.setPassword(ctx, { cityId: input.cityId, username: a.username, password: input.password, realm: input.realm, userId: a.userId });
        created++;
      }
      return created;
    },

    async list(cityId) {
      return (await new SipEndpointsRepository(deps.db).listForCity(cityId)).map(toView);
    },

    async remove(ctx, cityId, username) {
      await deps.db.transaction().execute(async (trx) => {
        const repo = new SipEndpointsRepository(trx);
        const existing = await repo.findByUsername(username);
        if (!existing || existing.city_id !== cityId) {
          throw notFound('SIP_ENDPOINT_NOT_FOUND', `no SIP account ${username} in this city`, `本市没有SIP账号 ${username}`);
        }
        await repo.delete(existing.id);
        await recordAudit(trx, ctx, {
          entityType: 'sip_endpoint', entityId: existing.id, action: 'sip_endpoint.removed', cityId,
          before: { username, userId: existing.user_id },
        }, clock.now());
      });
    },

    credentials: {
      async ha1(username, realm) {
        const row = await new SipEndpointsRepository(deps.db).findByUsername(username);
        return row && row.realm === realm ? row.ha1 : null;
      },
    },
  };
  return service;
}

