import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { onUniqueViolation, type DB } from '../db';
import { recordAudit } from '../audit';
import {
  ALL_ROLES, AppError, badRequest, conflict, newId, normalizePhone, toDbTime, unauthorized,
  GRID_ROLES, UNIT_ROLES, Role, TtlCache, type Actor, type Clock, type CommandContext, systemClock,
} from '../core';
import { IdentityRepository, type UserRow } from './identity.repository';
import { hashPassword, passwordProblem, verifyPassword } from './domain/passwords';

export interface IdentityDeps {
  db: Kysely<DB>;
  clock?: Clock;
  /** How long a console session lives without a new login. */
  sessionHours?: number;
  /** The territory path of a territory id (from the directory part), for grid/town scopes. */
  territoryPathOf: (territoryId: string) => Promise<string | null>;
  /** The city a unit / territory belongs to (null when it does not exist), to check references. */
  cityOfUnit: (unitId: string) => Promise<string | null>;
  cityOfTerritory: (territoryId: string) => Promise<string | null>;
}

export interface NewUser {
  cityId: string;
  username: string;
  displayName: string;
  role: string;
  password: string;
  unitId?: string | null;
  territoryId?: string | null;
  phone?: string | null;
}

export interface PublicUser {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  cityId: string;
  unitId: string | null;
  territoryId: string | null;
}

const MAX_LOGIN_FAILURES = 5;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const USERNAME = /^[a-z0-9][a-z0-9._-]{1,63}$/;

export function toPublicUser(u: UserRow): PublicUser {
  return {
    id: u.id,
    username: u.username,
    displayName: u.display_name,
    role: u.role as Role,
    cityId: u.city_id,
    unitId: u.unit_id,
    territoryId: u.territory_id,
  };
}

/** Checks a new user's fields; returns the problems (empty when fine). Shared by the API, CLI and city import. */
export function userProblems(u: NewUser): { field: string; message: string; messageZh: string }[] {
  const problems: { field: string; message: string; messageZh: string }[] = [];
  if (!USERNAME.test(u.username)) problems.push({ field: 'username', message: 'username: 2-64 lowercase letters, digits, . _ -', messageZh: '用户名须为2-64位小写字母、数字或 . _ -' });
  if (!u.displayName?.trim()) problems.push({ field: 'displayName', message: 'display name is required', messageZh: '姓名必填' });
  if (!(ALL_ROLES as string[]).includes(u.role)) problems.push({ field: 'role', message: `unknown role ${u.role}`, messageZh: `未知角色 ${u.role}` });
  const pw = passwordProblem(u.password ?? '');
  if (pw) problems.push({ field: 'password', message: `password needs ${pw}`, messageZh: '密码至少8位且须包含字母和数字' });
  if (UNIT_ROLES.has(u.role as Role) && !u.unitId) problems.push({ field: 'unitId', message: 'unit staff need a unit', messageZh: '承办单位人员必须指定单位' });
  if (GRID_ROLES.has(u.role as Role) && !u.territoryId) problems.push({ field: 'territoryId', message: 'grid and town roles need a territory', messageZh: '网格及镇街角色必须指定所辖区域' });
  if (u.phone && !normalizePhone(u.phone)) problems.push({ field: 'phone', message: 'malformed phone number', messageZh: '电话号码格式不正确' });
  return problems;
}

/** Users, roles, console sessions (cookie) and API keys (machine clients). */
export function createIdentityService(deps: IdentityDeps) {
  const clock = deps.clock ?? systemClock;
  const sessionMs = (deps.sessionHours ?? 12) * 3_600_000;
  const repo = new IdentityRepository(deps.db);
  // Per process: with several nodes an attacker gets MAX × nodes tries per window, still slow enough.
  const failedLogins = new TtlCache<number>(15 * 60_000, 100_000);

  async function actorOf(u: { id: string | null; name: string; role: string; city_id: string; unit_id: string | null; territory_id: string | null }, kind: Actor['kind']): Promise<Actor> {
    return {
      kind,
      id: u.id,
      name: u.name,
      role: u.role as Role,
      cityId: u.city_id,
      unitId: u.unit_id,
      territoryId: u.territory_id,
      territoryPath: u.territory_id ? await deps.territoryPathOf(u.territory_id) : null,
    };
  }

  /** Creates a user inside the caller's transaction (CLI, API, city import). */
  async function createUserIn(trx: Kysely<DB>, ctx: CommandContext, input: NewUser): Promise<PublicUser> {
    const problems = userProblems(input);
    if (problems.length) throw badRequest('USER_INVALID', problems.map((p) => p.message).join('; '), problems.map((p) => p.messageZh).join('；'), { problems });
    const txRepo = new IdentityRepository(trx);
    const taken = () => conflict('USERNAME_TAKEN', `username ${input.username} is taken`, `用户名 ${input.username} 已存在`);
    if (await txRepo.findUserByUsername(input.username)) throw taken();
    const now = clock.now();
    const row: UserRow = {
      id: newId(),
      city_id: input.cityId,
      username: input.username,
      display_name: input.displayName.trim(),
      password_hash: await hashPassword(input.password),
      role: input.role,
      unit_id: input.unitId ?? null,
      territory_id: input.territoryId ?? null,
      phone: input.phone ? normalizePhone(input.phone) : null,
      active: 1,
      created_at: toDbTime(now),
      updated_at: toDbTime(now),
    };
    // Two concurrent requests for one username both pass the check above; the unique key stops the second.
    await onUniqueViolation(() => txRepo.insertUser(row), taken);
    const { password_hash: _omit, ...after } = row;
    await recordAudit(trx, ctx, { entityType: 'user', entityId: row.id, action: 'user.created', after, cityId: input.cityId }, now);
    return toPublicUser(row);
  }

  /** The unit and territory must exist in the same city (checked before any transaction opens). */
  async function checkReferences(cityId: string, r: { unitId?: string | null; territoryId?: string | null }) {
    if (r.unitId && (await deps.cityOfUnit(r.unitId)) !== cityId) {
      throw badRequest('UNIT_NOT_FOUND', `unit ${r.unitId} does not exist`, `单位 ${r.unitId} 不存在`, { field: 'unitId' });
    }
    if (r.territoryId && (await deps.cityOfTerritory(r.territoryId)) !== cityId) {
      throw badRequest('TERRITORY_NOT_FOUND', `territory ${r.territoryId} does not exist`, `区域 ${r.territoryId} 不存在`, { field: 'territoryId' });
    }
  }

  return {
    /** For a city import, inside its transaction: references were checked against the preset. */
    createUserIn,

    async createUser(ctx: CommandContext, input: NewUser) {
      await checkReferences(input.cityId, input);
      return deps.db.transaction().execute((trx) => createUserIn(trx, ctx, input));
    },

    async listUsers(cityId: string) {
      return (await repo.listUsers(cityId)).map(toPublicUser);
    },

    /**
     * Password login; returns the cookie token (only its hash is stored). After 5 failures for one
     * username (from anywhere) within 15 minutes, further tries are refused until the window passes.
     */
    async login(username: string, password: string): Promise<{ token: string; user: PublicUser; expiresAt: Date }> {
      const name = username.trim().toLowerCase();
      const failures = failedLogins.get(name) ?? 0;
      if (failures >= MAX_LOGIN_FAILURES) {
        throw new AppError('LOGIN_THROTTLED', 429, 'too many failed logins; try again in 15 minutes', '登录失败次数过多，请15分钟后再试');
      }
      const user = await repo.findUserByUsername(name);
      // Verify even when the user is unknown, so timing does not reveal which usernames exist.
      const ok = await verifyPassword(user?.password_hash ?? DUMMY_HASH, password);
      if (!user || !ok || !user.active) {
        failedLogins.set(name, failures + 1);
        throw unauthorized('LOGIN_FAILED', 'wrong username or password', '用户名或密码错误');
      }
      failedLogins.delete(name);
      const token = randomBytes(32).toString('base64url');
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + sessionMs);
      // Everything read elsewhere is read before the transaction: on SQLite's single connection a
      // read outside an open transaction waits for it to end.
      const actor = await actorOf({ ...user, name: user.display_name }, 'user');
      await deps.db.transaction().execute(async (trx) => {
        await new IdentityRepository(trx).insertSession({ id: sha256(token), user_id: user.id, created_at: toDbTime(now), expires_at: toDbTime(expiresAt) });
        await recordAudit(trx, { actor }, { entityType: 'user', entityId: user.id, action: 'user.logged_in', cityId: user.city_id }, now);
      });
      return { token, user: toPublicUser(user), expiresAt };
    },

    async logout(token: string): Promise<void> {
      await repo.deleteSession(sha256(token));
    },

    /** The actor behind a session cookie, or null when missing/expired/disabled. */
    async actorForSession(token: string): Promise<{ actor: Actor; user: PublicUser } | null> {
      const session = await repo.findSession(sha256(token));
      if (!session || session.expires_at <= toDbTime(clock.now())) return null;
      const user = await repo.findUserById(session.user_id);
      if (!user || !user.active) return null;
      return { actor: await actorOf({ ...user, name: user.display_name }, 'user'), user: toPublicUser(user) };
    },

    /** The actor behind an API key (SMS gateway callbacks, grid app). */
    async actorForApiKey(key: string): Promise<Actor | null> {
      const row = await repo.findApiKeyByHash(sha256(key));
      if (!row) return null;
      return actorOf({ id: row.id, name: row.name, role: row.role, city_id: row.city_id, unit_id: row.unit_id, territory_id: row.territory_id }, 'api_key');
    },

    /** Issues an API key; the plain key is shown once and only its hash is kept. */
    async createApiKey(ctx: CommandContext, input: { cityId: string; name: string; role: string; unitId?: string | null; territoryId?: string | null }): Promise<{ id: string; key: string }> {
      if (!(ALL_ROLES as string[]).includes(input.role)) throw badRequest('ROLE_UNKNOWN', `unknown role ${input.role}`, `未知角色 ${input.role}`);
      await checkReferences(input.cityId, input);
      const key = 'hk_' + randomBytes(24).toString('base64url');
      const id = newId();
      const now = clock.now();
      await deps.db.transaction().execute(async (trx) => {
        await new IdentityRepository(trx).insertApiKey({
          id, city_id: input.cityId, name: input.name, key_hash: sha256(key), role: input.role,
          unit_id: input.unitId ?? null, territory_id: input.territoryId ?? null, created_at: toDbTime(now), revoked_at: null,
        });
        await recordAudit(trx, ctx, { entityType: 'api_key', entityId: id, action: 'api_key.created', after: { name: input.name, role: input.role, unitId: input.unitId ?? null } }, now);
      });
      return { id, key };
    },

    async sweepExpiredSessions() {
      await repo.deleteExpiredSessions(toDbTime(clock.now()));
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
export { AppError };

// A real argon2 hash of a random string, used to spend the same time on unknown usernames.
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3o3BNXMd7WvnjnkFFn5o4+dnK6Qv0Dx1Gh1ZbJ0Ys1E';
