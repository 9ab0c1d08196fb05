import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { onUniqueViolation, type DB } from '../db';
import { recordAudit } from '../audit';
import {
  ALL_ROLES, AppError, badRequest, conflict, maskPhone, newId, normalizePhone, notFound, toDbTime, fromDbTime, unauthorized, systemActor,
  GRID_ROLES, UNIT_ROLES, Role, ApiKeyScope, formatScopes, parseScopes, isApiKeyScope, type EventBus,
  type Actor, type Clock, type CommandContext, systemClock,
} from '../core';
import { IdentityRepository, type ApiKeyRow, type UserRow } from './identity.repository';
import { hashPassword, IMPORT_PASSWORD_MIN_LENGTH, passwordProblem, verifyPassword } from './domain/passwords';
import { DEFAULT_THROTTLE_POLICY, throttleKeys, waitFor, type ThrottleKeys, type ThrottlePolicy } from './domain/login-throttle';
import type { LoginAttemptStore } from './ports';
import { createLocalLoginAttemptStore } from './adapters/local';

/**
 * Someone's access ended (登录失效): every node closes the live sockets opened with it at once
 * (app/ wires this to the live feed). `session`: one console session (logout); `user`: all of a
 * user's (disabled → sessions deleted; scope_changed → role, unit or territory changed, sessions
 * kept: the next request sees the new scope, an open socket must reconnect to get it); `api_key`: a
 * revoked key.
 */
export type AccessEnded =
  | { kind: 'session'; sessionId: string; userId: string }
  | { kind: 'user'; userId: string; reason: 'disabled' | 'scope_changed' }
  | { kind: 'api_key'; apiKeyId: string };

export type IdentityEvents = {
  'access.ended': AccessEnded;
};

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
  /** Where access endings are announced (after commit). */
  events?: EventBus<IdentityEvents>;
  /** Failed-login counters; in-process by default, Redis with several nodes. */
  attempts?: LoginAttemptStore;
  throttlePolicy?: ThrottlePolicy;
}

/** What an admin may change on a user (PATCH /users/:id); absent fields stay. */
export interface UserPatch {
  displayName?: string;
  role?: string;
  unitId?: string | null;
  territoryId?: string | null;
  active?: boolean;
}

/** An API key as listed (never its secret or hash). */
export interface ApiKeyView {
  id: string;
  name: string;
  role: Role;
  unitId: string | null;
  territoryId: string | null;
  scopes: ApiKeyScope[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface NewApiKey {
  cityId: string;
  name: string;
  role: string;
  scopes: string[];
  unitId?: string | null;
  territoryId?: string | null;
  /** ISO 8601 with a zone; null or absent: until revoked. */
  expiresAt?: Date | null;
}

/** The credentials behind a request: who, and what ends them. */
export type Credential =
  | { kind: 'session'; actor: Actor; user: PublicUser; sessionId: string; expiresAt: Date }
  | { kind: 'api_key'; actor: Actor; apiKeyId: string; scopes: ApiKeyScope[]; expiresAt: Date | null };

export interface NewUser {
  cityId: string;
  username: string;
  displayName: string;
  role: string;
  password: string;
  unitId?: string | null;
  territoryId?: string | null;
  phone?: string | null;
  /**
   * Set by a city import (users.csv): the password need only pass the import floor (8+
   * characters); one below the policy makes the account change it at first login, except in a
   * demo city, whose accounts keep the password the demo publishes.
   */
  fromPreset?: { demo: boolean };
}

export interface PublicUser {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  cityId: string;
  unitId: string | null;
  territoryId: string | null;
  /** The account must choose a new password before anything else (强制修改密码). */
  passwordChangeRequired: boolean;
}

/**
 * Logins being verified at once on this node: one per account+address, a few per address. The
 * counters only learn of a failure once argon2 has spoken, so without this a burst of parallel
 * guesses would all pass the check before the first failure is counted.
 */
const MAX_IN_FLIGHT_PER_PAIR = 1;
const MAX_IN_FLIGHT_PER_ADDRESS = 8;
/** A key's last use is written at most this often (a write per request would be a write per call event). */
const LAST_USED_EVERY_MS = 60_000;
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
    passwordChangeRequired: Number(u.password_change_required) === 1,
  };
}

type Problem = { field: string; message: string; messageZh: string; code?: string };

/**
 * A username as the audit trail keeps it for a failed login: masked like a phone number
 * (core maskPhone), because people type their password into the username field.
 */
export const maskUsername = (username: string): string => maskPhone(username) ?? '';

/** Role and its binding: a unit role needs a unit, a grid or town role a territory (users and API keys alike). */
function roleProblems(r: { role: string; unitId?: string | null; territoryId?: string | null }): Problem[] {
  const problems: Problem[] = [];
  if (!(ALL_ROLES as string[]).includes(r.role)) problems.push({ field: 'role', message: `unknown role ${r.role}`, messageZh: `未知角色 ${r.role}` });
  if (UNIT_ROLES.has(r.role as Role) && !r.unitId) problems.push({ field: 'unitId', message: 'unit staff need a unit', messageZh: '承办单位人员必须指定单位' });
  if (GRID_ROLES.has(r.role as Role) && !r.territoryId) problems.push({ field: 'territoryId', message: 'grid and town roles need a territory', messageZh: '网格及镇街角色必须指定所辖区域' });
  return problems;
}

/** A user's fields other than username and password (creation and PATCH check the same). */
function profileProblems(u: { displayName: string; role: string; unitId?: string | null; territoryId?: string | null }): Problem[] {
  const problems: Problem[] = [];
  if (!u.displayName?.trim()) problems.push({ field: 'displayName', message: 'display name is required', messageZh: '姓名必填' });
  return [...problems, ...roleProblems(u)];
}

/**
 * Checks a new user's fields; returns the problems (empty when fine). Shared by the API, CLI and
 * city import. The password is held to the policy (identity/domain/passwords.ts), or for a preset
 * only to the import floor (see NewUser.fromPreset).
 */
export function userProblems(u: NewUser): Problem[] {
  const problems: Problem[] = [];
  if (!USERNAME.test(u.username)) problems.push({ field: 'username', message: 'username: 2-64 lowercase letters, digits, . _ -', messageZh: '用户名须为2-64位小写字母、数字或 . _ -' });
  problems.push(...profileProblems(u));
  const password = u.password ?? '';
  if (u.fromPreset) {
    if ([...password].length < IMPORT_PASSWORD_MIN_LENGTH) {
      problems.push({ field: 'password', code: 'PASSWORD_TOO_SHORT', message: `an imported password needs at least ${IMPORT_PASSWORD_MIN_LENGTH} characters`, messageZh: `导入的密码至少需要${IMPORT_PASSWORD_MIN_LENGTH}个字符` });
    }
  } else {
    const pw = passwordProblem(password, u.username ?? '');
    if (pw) problems.push({ field: 'password', ...pw });
  }
  if (u.phone && !normalizePhone(u.phone)) problems.push({ field: 'phone', message: 'malformed phone number', messageZh: '电话号码格式不正确' });
  return problems;
}

/** Checks a new API key's fields: its role's binding, known scopes, `admin` only on an admin key. */
export function apiKeyProblems(k: { name: string; role: string; scopes: string[]; unitId?: string | null; territoryId?: string | null }): Problem[] {
  const problems = roleProblems(k);
  if (!k.name?.trim()) problems.push({ field: 'name', message: 'a name is required', messageZh: '名称必填' });
  const unknown = k.scopes.filter((s) => !isApiKeyScope(s));
  if (unknown.length) problems.push({ field: 'scopes', message: `unknown scopes ${unknown.join(', ')}`, messageZh: `未知权限范围 ${unknown.join('、')}` });
  if (!k.scopes.length) problems.push({ field: 'scopes', message: 'a key needs at least one scope', messageZh: '至少选择一个权限范围' });
  if (k.scopes.includes(ApiKeyScope.admin) && k.role !== Role.admin) {
    problems.push({ field: 'scopes', message: 'the admin scope needs the admin role', messageZh: '管理权限范围仅限管理员角色' });
  }
  if (k.role === Role.system) problems.push({ field: 'role', message: 'no key acts as the system', messageZh: '不能签发系统角色密钥' });
  return problems;
}

const invalid = (code: string, problems: Problem[]) =>
  badRequest(code, problems.map((p) => p.message).join('; '), problems.map((p) => p.messageZh).join('；'), { problems, field: problems[0]?.field });

/** A refused password alone answers with its own code (PASSWORD_TOO_SHORT, …); with other problems, USER_INVALID lists them all. */
const userInvalid = (problems: Problem[]) =>
  invalid(problems.length === 1 && problems[0].field === 'password' && problems[0].code ? problems[0].code : 'USER_INVALID', problems);

/** A new password refused by the policy (change by the user, reset by an admin). */
function checkNewPassword(password: string, username: string) {
  const pw = passwordProblem(password, username);
  if (pw) throw badRequest(pw.code, pw.message, pw.messageZh, { field: 'password', problems: [{ field: 'password', ...pw }] });
}

export function toApiKeyView(r: ApiKeyRow): ApiKeyView {
  const iso = (s: string | null) => (s ? fromDbTime(s).toISOString() : null);
  return {
    id: r.id, name: r.name, role: r.role as Role, unitId: r.unit_id, territoryId: r.territory_id, scopes: parseScopes(r.scopes),
    createdAt: iso(r.created_at)!, expiresAt: iso(r.expires_at), lastUsedAt: iso(r.last_used_at), revokedAt: iso(r.revoked_at),
  };
}

/** Users, roles, console sessions (cookie) and API keys (machine clients). */
export function createIdentityService(deps: IdentityDeps) {
  const clock = deps.clock ?? systemClock;
  const sessionMs = (deps.sessionHours ?? 12) * 3_600_000;
  const repo = new IdentityRepository(deps.db);
  const attempts = deps.attempts ?? createLocalLoginAttemptStore();
  const policy = deps.throttlePolicy ?? DEFAULT_THROTTLE_POLICY;
  /** When this node last wrote each key's last use (epoch ms of the service clock); bounded. */
  const lastUseWritten = new Map<string, number>();
  const announce = (e: AccessEnded) => deps.events?.emit('access.ended', e);
  const inFlight = new Map<string, number>();
  const enter = (k: string, max: number) => {
    const n = inFlight.get(k) ?? 0;
    if (n >= max) return false;
    inFlight.set(k, n + 1);
    return true;
  };
  const leave = (k: string) => {
    const n = (inFlight.get(k) ?? 1) - 1;
    if (n > 0) inFlight.set(k, n);
    else inFlight.delete(k);
  };
  const throttled = (seconds: number) =>
    new AppError('LOGIN_THROTTLED', 429, `too many failed logins; try again in ${seconds} s`, `登录失败次数过多，请${seconds}秒后再试`, { retryAfterSeconds: seconds });

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
    if (problems.length) throw userInvalid(problems);
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
      password_change_required: input.fromPreset && !input.fromPreset.demo && passwordProblem(input.password, input.username) ? 1 : 0,
      password_changed_at: null,
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

  /** Refused while a throttle counter says wait (the wait began with an audited lockout). */
  async function throttleGate(keys: ThrottleKeys) {
    const [pair, account, address] = await attempts.read([keys.pair, keys.account, keys.address]);
    const wait = waitFor(policy, clock.now().getTime(), { pair, account, address });
    if (wait > 0) throw throttled(Math.ceil(wait / 1000));
  }

  /**
   * A failed attempt (ASVS V7.2.1): counted by the throttle and written to the audit trail with
   * the username masked, the address and the reason, never the password; when this failure makes
   * the throttle hold the next attempt back, the lockout (锁定) is written too. Attempts refused
   * while locked are not written one by one: a flood must not turn into a flood of audit rows.
   */
  async function recordFailure(
    keys: ThrottleKeys,
    attempt: { username: string; user: UserRow | undefined; address: string; requestId?: string; reason: 'unknown_user' | 'wrong_password' | 'disabled' | 'wrong_current_password' },
    action: 'user.login_failed' | 'user.password_change_failed',
  ) {
    const keyList = [keys.pair, keys.account, keys.address];
    const at = clock.now();
    await attempts.fail(keyList, at.getTime(), policy.windowMs);
    const [pair, account, address] = await attempts.read(keyList);
    const lockedMs = waitFor(policy, at.getTime(), { pair, account, address });
    const { user } = attempt;
    const cityId = user?.city_id ?? null;
    const ctx: CommandContext = { actor: systemActor(cityId ?? '', 'login'), requestId: attempt.requestId };
    const detail = { username: maskUsername(attempt.username), address: attempt.address, reason: attempt.reason };
    // An unknown username has no user to file it under: the masked name stands in.
    const entity = { entityType: 'user', entityId: user?.id ?? `unknown:${detail.username}`, cityId };
    await deps.db.transaction().execute(async (trx) => {
      await recordAudit(trx, ctx, { ...entity, action, after: detail, reason: attempt.reason }, at);
      if (lockedMs > 0) {
        await recordAudit(trx, ctx, { ...entity, action: 'user.login_locked', after: { ...detail, seconds: Math.ceil(lockedMs / 1000) }, reason: 'too_many_failures' }, at);
      }
    });
  }

  /** A login the throttle let through: verify, count a failure or forget the counters, open the session. */
  async function checkedLogin(name: string, password: string, keys: ThrottleKeys, source: { address: string; requestId?: string }): Promise<{ token: string; user: PublicUser; expiresAt: Date }> {
    await throttleGate(keys);
    const user = await repo.findUserByUsername(name);
    // Verify even when the user is unknown, so timing does not reveal which usernames exist.
    const ok = await verifyPassword(user?.password_hash ?? DUMMY_HASH, password);
    if (!user || !ok || !user.active) {
      const reason = !user ? 'unknown_user' : !ok ? 'wrong_password' : 'disabled';
      await recordFailure(keys, { username: name, user, reason, ...source }, 'user.login_failed');
      throw unauthorized('LOGIN_FAILED', 'wrong username or password', '用户名或密码错误');
    }
    // The address counter stays: logging into one's own account must not reset a spray from there.
    await attempts.reset([keys.pair, keys.account]);
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
  }

  /** Stores a new password, ends the user's sessions but `keepSessionId`, audits; announces after commit. */
  async function setPassword(ctx: CommandContext, user: UserRow, password: string, o: { action: 'user.password_changed' | 'user.password_reset'; required: boolean; keepSessionId: string | null }) {
    const passwordHash = await hashPassword(password);
    const now = clock.now();
    const ended = (await repo.listSessionsOfUser(user.id, toDbTime(now))).filter((r) => r.id !== o.keepSessionId).map((r) => r.id);
    await deps.db.transaction().execute(async (trx) => {
      const txRepo = new IdentityRepository(trx);
      await txRepo.updateUser(user.id, { password_hash: passwordHash, password_change_required: o.required ? 1 : 0, password_changed_at: toDbTime(now), updated_at: toDbTime(now) });
      await txRepo.deleteSessions(ended);
      await recordAudit(trx, ctx, {
        entityType: 'user', entityId: user.id, action: o.action, cityId: user.city_id,
        before: { passwordChangeRequired: Number(user.password_change_required) === 1 },
        after: { passwordChangeRequired: o.required, sessionsEnded: ended.length },
      }, now);
    });
    for (const sessionId of ended) announce({ kind: 'session', sessionId, userId: user.id });
    return { sessionsEnded: ended.length };
  }

  async function sessionCredential(token: string): Promise<Extract<Credential, { kind: 'session' }> | null> {
    const sessionId = sha256(token);
    const session = await repo.findSession(sessionId);
    if (!session || session.expires_at <= toDbTime(clock.now())) return null;
    const user = await repo.findUserById(session.user_id);
    if (!user || !user.active) return null;
    return {
      kind: 'session', sessionId, expiresAt: fromDbTime(session.expires_at),
      actor: await actorOf({ ...user, name: user.display_name }, 'user'), user: toPublicUser(user),
    };
  }

  async function apiKeyCredential(key: string): Promise<Extract<Credential, { kind: 'api_key' }> | { refused: 'unknown' | 'revoked' | 'expired' }> {
    const row = await repo.findApiKeyByHash(sha256(key));
    if (!row) return { refused: 'unknown' };
    if (row.revoked_at) return { refused: 'revoked' };
    const now = clock.now();
    if (row.expires_at && row.expires_at <= toDbTime(now)) return { refused: 'expired' };
    const at = now.getTime();
    const written = lastUseWritten.get(row.id);
    if (written === undefined || at - written >= LAST_USED_EVERY_MS || at < written) {
      if (lastUseWritten.size >= 10_000) lastUseWritten.clear();
      lastUseWritten.set(row.id, at);
      await repo.touchApiKey(row.id, toDbTime(now), toDbTime(new Date(at - LAST_USED_EVERY_MS)));
    }
    return {
      kind: 'api_key', apiKeyId: row.id, scopes: parseScopes(row.scopes), expiresAt: row.expires_at ? fromDbTime(row.expires_at) : null,
      actor: await actorOf({ id: row.id, name: row.name, role: row.role, city_id: row.city_id, unit_id: row.unit_id, territory_id: row.territory_id }, 'api_key'),
    };
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
     * Changes a user's name, role, unit, territory or whether they may log in (PATCH /users/:id),
     * checked like a new user. Disabling deletes the user's sessions; a disabled user or a changed
     * scope ends the user's open live sockets on every node (announced after commit).
     */
    async updateUser(ctx: CommandContext, id: string, patch: UserPatch): Promise<PublicUser> {
      const cityId = ctx.actor.cityId;
      const before = await repo.findUserById(id);
      if (!before || before.city_id !== cityId) throw notFound('USER_NOT_FOUND', `user ${id} does not exist`, `用户 ${id} 不存在`);
      const next = {
        displayName: patch.displayName !== undefined ? patch.displayName.trim() : before.display_name,
        role: patch.role ?? before.role,
        unitId: patch.unitId !== undefined ? patch.unitId : before.unit_id,
        territoryId: patch.territoryId !== undefined ? patch.territoryId : before.territory_id,
        active: patch.active !== undefined ? patch.active : before.active === 1,
      };
      // An admin who demotes or disables themself could leave the city without one.
      if (ctx.actor.kind === 'user' && ctx.actor.id === id && (next.role !== before.role || !next.active)) {
        throw conflict('USER_SELF_CHANGE', 'you may not change your own role or disable yourself', '不能修改本人角色或停用本人账号');
      }
      const problems = profileProblems(next);
      if (problems.length) throw invalid('USER_INVALID', problems);
      await checkReferences(cityId, next);
      const now = clock.now();
      const changes: Partial<UserRow> = {
        display_name: next.displayName, role: next.role, unit_id: next.unitId ?? null, territory_id: next.territoryId ?? null,
        active: next.active ? 1 : 0,
      };
      const scopeChanged = changes.role !== before.role || changes.unit_id !== before.unit_id || changes.territory_id !== before.territory_id;
      const disabled = before.active === 1 && changes.active === 0;
      const changed = scopeChanged || changes.active !== before.active || changes.display_name !== before.display_name;
      if (!changed) return toPublicUser(before);
      const after: UserRow = { ...before, ...changes, updated_at: toDbTime(now) };
      await deps.db.transaction().execute(async (trx) => {
        const txRepo = new IdentityRepository(trx);
        await txRepo.updateUser(id, { ...changes, updated_at: after.updated_at });
        if (disabled) await txRepo.deleteSessionsOfUser(id);
        const { password_hash: _b, ...b } = before;
        const { password_hash: _a, ...a } = after;
        const action = disabled ? 'user.disabled' : before.active === 0 && after.active === 1 ? 'user.enabled' : 'user.updated';
        await recordAudit(trx, ctx, { entityType: 'user', entityId: id, action, before: b, after: a, cityId }, now);
      });
      if (disabled || (after.active === 0 && scopeChanged)) announce({ kind: 'user', userId: id, reason: 'disabled' });
      else if (scopeChanged) announce({ kind: 'user', userId: id, reason: 'scope_changed' });
      return toPublicUser(after);
    },

    /**
     * Password login from a source address; returns the cookie token (only its hash is stored).
     * Throttled per account+address, per account and per address (see domain/login-throttle.ts):
     * a refused attempt answers 429 LOGIN_THROTTLED with the seconds to wait, and is not counted.
     */
    async login(username: string, password: string, source: { address?: string; requestId?: string } = {}): Promise<{ token: string; user: PublicUser; expiresAt: Date }> {
      const name = username.trim().toLowerCase();
      const address = source.address ?? 'unknown';
      const keys = throttleKeys(name, address);
      // Checked before the first await: parallel requests see each other.
      if (!enter(keys.pair, MAX_IN_FLIGHT_PER_PAIR)) throw throttled(1);
      if (!enter(keys.address, MAX_IN_FLIGHT_PER_ADDRESS)) {
        leave(keys.pair);
        throw throttled(1);
      }
      try {
        return await checkedLogin(name, password, keys, { address, requestId: source.requestId });
      } finally {
        leave(keys.pair);
        leave(keys.address);
      }
    },

    /**
     * The user changes their own password (修改密码, ASVS V2.1.5/V2.1.6): the current password is
     * checked first, throttled and audited like a login (a stolen session must not become a
     * password guesser); the new one is held to the policy. On success: stored, audited
     * `user.password_changed`, a required change is satisfied, and every other session of the
     * user ends (deleted, live sockets closed on every node); the asking session goes on.
     */
    async changeOwnPassword(ctx: CommandContext, currentSessionId: string, input: { currentPassword: string; newPassword: string }, source: { address?: string } = {}): Promise<{ sessionsEnded: number }> {
      const userId = ctx.actor.id;
      const user = userId ? await repo.findUserById(userId) : undefined;
      if (!user || !user.active || ctx.actor.kind !== 'user') throw unauthorized('AUTH_REQUIRED', 'login required', '请先登录');
      const address = source.address ?? 'unknown';
      const keys = throttleKeys(user.username, address);
      if (!enter(keys.pair, MAX_IN_FLIGHT_PER_PAIR)) throw throttled(1);
      try {
        await throttleGate(keys);
        if (!(await verifyPassword(user.password_hash, input.currentPassword))) {
          await recordFailure(keys, { username: user.username, user, address, requestId: ctx.requestId, reason: 'wrong_current_password' }, 'user.password_change_failed');
          throw badRequest('CURRENT_PASSWORD_WRONG', 'the current password is wrong', '当前密码不正确', { field: 'currentPassword' });
        }
      } finally {
        leave(keys.pair);
      }
      checkNewPassword(input.newPassword, user.username);
      if (await verifyPassword(user.password_hash, input.newPassword)) {
        throw badRequest('PASSWORD_UNCHANGED', 'the new password is the current one', '新密码不能与当前密码相同', { field: 'newPassword' });
      }
      await attempts.reset([keys.pair, keys.account]);
      return setPassword(ctx, user, input.newPassword, { action: 'user.password_changed', required: false, keepSessionId: currentSessionId });
    },

    /**
     * An admin sets a user's password (重置密码): held to the policy; the user must change it at
     * their next login (the admin knows it); every session of the user ends. Audited
     * `user.password_reset` (never the password).
     */
    async resetPassword(ctx: CommandContext, userId: string, newPassword: string): Promise<{ sessionsEnded: number }> {
      const user = await repo.findUserById(userId);
      if (!user || user.city_id !== ctx.actor.cityId) throw notFound('USER_NOT_FOUND', `user ${userId} does not exist`, `用户 ${userId} 不存在`);
      checkNewPassword(newPassword, user.username);
      // Resetting one's own password would leave no session to change it from: use the change instead.
      if (ctx.actor.kind === 'user' && ctx.actor.id === userId) {
        throw conflict('USER_SELF_CHANGE', 'change your own password with your current one (修改密码)', '请通过“修改密码”修改本人密码');
      }
      return setPassword(ctx, user, newPassword, { action: 'user.password_reset', required: true, keepSessionId: null });
    },

    /** Ends a console session: deleted, audited, and its live sockets closed on every node. */
    async logout(token: string): Promise<void> {
      const sessionId = sha256(token);
      const session = await repo.findSession(sessionId);
      if (!session) return;
      const user = await repo.findUserById(session.user_id);
      const actor = user ? await actorOf({ ...user, name: user.display_name }, 'user') : null;
      const now = clock.now();
      await deps.db.transaction().execute(async (trx) => {
        await new IdentityRepository(trx).deleteSession(sessionId);
        if (actor) await recordAudit(trx, { actor }, { entityType: 'user', entityId: session.user_id, action: 'user.logged_out', cityId: actor.cityId }, now);
      });
      announce({ kind: 'session', sessionId, userId: session.user_id });
    },

    /**
     * A user's live console sessions (ASVS V3.3.4), newest first: when each began and ends, and
     * which is the asking one. Ids are a prefix of the stored hash: they name a session, they are
     * not one.
     */
    async listSessions(actor: Actor, currentSessionId: string): Promise<{ id: string; createdAt: string; expiresAt: string; current: boolean }[]> {
      if (!actor.id) return [];
      const rows = await repo.listSessionsOfUser(actor.id, toDbTime(clock.now()));
      return rows.map((r) => ({ id: r.id.slice(0, 16), createdAt: fromDbTime(r.created_at).toISOString(), expiresAt: fromDbTime(r.expires_at).toISOString(), current: r.id === currentSessionId }));
    },

    /**
     * Ends every other session of the user (其他设备下线, ASVS V3.3.4): deleted, audited, and their
     * live sockets closed on every node. The asking session goes on. Returns how many ended.
     */
    async endOtherSessions(ctx: CommandContext, currentSessionId: string): Promise<number> {
      const userId = ctx.actor.id;
      if (!userId) return 0;
      const now = clock.now();
      const others = (await repo.listSessionsOfUser(userId, toDbTime(now))).filter((r) => r.id !== currentSessionId).map((r) => r.id);
      if (!others.length) return 0;
      await deps.db.transaction().execute(async (trx) => {
        await new IdentityRepository(trx).deleteSessions(others);
        await recordAudit(trx, ctx, { entityType: 'user', entityId: userId, action: 'user.other_sessions_ended', after: { sessions: others.length }, cityId: ctx.actor.cityId }, now);
      });
      for (const sessionId of others) announce({ kind: 'session', sessionId, userId });
      return others.length;
    },

    /** The actor behind a session cookie, or null when missing/expired/disabled. */
    async actorForSession(token: string): Promise<{ actor: Actor; user: PublicUser } | null> {
      const c = await sessionCredential(token);
      return c ? { actor: c.actor, user: c.user } : null;
    },

    /** A session cookie's credential: actor, session id and when it expires (the live feed closes it then). */
    sessionCredential,

    /** The actor behind an API key (SMS gateway callbacks, grid app); null when unknown, revoked or expired. */
    async actorForApiKey(key: string): Promise<Actor | null> {
      const c = await apiKeyCredential(key);
      return c && 'actor' in c ? c.actor : null;
    },

    /**
     * An API key's credential with its scopes, or why it is refused (`unknown`, `revoked`,
     * `expired`). Records the key's last use, at most once a minute per key.
     */
    apiKeyCredential,

    /** Issues an API key; the plain key is shown once and only its hash is kept. */
    async createApiKey(ctx: CommandContext, input: NewApiKey): Promise<{ id: string; key: string; apiKey: ApiKeyView }> {
      const problems = apiKeyProblems(input);
      const now = clock.now();
      if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
        problems.push({ field: 'expiresAt', message: 'expiry must be in the future', messageZh: '到期时间必须晚于当前时间' });
      }
      if (problems.length) throw invalid('API_KEY_FIELDS_INVALID', problems);
      await checkReferences(input.cityId, input);
      const key = 'hk_' + randomBytes(24).toString('base64url');
      const id = newId();
      const row: ApiKeyRow = {
        id, city_id: input.cityId, name: input.name.trim(), key_hash: sha256(key), role: input.role,
        unit_id: input.unitId ?? null, territory_id: input.territoryId ?? null, created_at: toDbTime(now), revoked_at: null,
        scopes: formatScopes(input.scopes), expires_at: input.expiresAt ? toDbTime(input.expiresAt) : null, last_used_at: null,
      };
      await deps.db.transaction().execute(async (trx) => {
        await new IdentityRepository(trx).insertApiKey(row);
        await recordAudit(trx, ctx, {
          entityType: 'api_key', entityId: id, action: 'api_key.created', cityId: input.cityId,
          after: { name: row.name, role: row.role, unitId: row.unit_id, territoryId: row.territory_id, scopes: row.scopes, expiresAt: row.expires_at },
        }, now);
      });
      return { id, key, apiKey: toApiKeyView(row) };
    },

    /** The city's API keys, newest first (revoked and expired ones too; never a secret). */
    async listApiKeys(cityId: string): Promise<ApiKeyView[]> {
      return (await repo.listApiKeys(cityId)).map(toApiKeyView);
    },

    /** Revokes a key (idempotent): refused from then on, and its live sockets closed on every node. */
    async revokeApiKey(ctx: CommandContext, id: string): Promise<ApiKeyView> {
      const row = await repo.findApiKey(ctx.actor.cityId, id);
      if (!row) throw notFound('API_KEY_NOT_FOUND', `API key ${id} does not exist`, `API 密钥 ${id} 不存在`);
      if (row.revoked_at) return toApiKeyView(row);
      const now = clock.now();
      await deps.db.transaction().execute(async (trx) => {
        await new IdentityRepository(trx).revokeApiKey(id, toDbTime(now));
        await recordAudit(trx, ctx, { entityType: 'api_key', entityId: id, action: 'api_key.revoked', cityId: row.city_id, before: { revokedAt: null }, after: { revokedAt: toDbTime(now) } }, now);
      });
      announce({ kind: 'api_key', apiKeyId: id });
      return toApiKeyView({ ...row, revoked_at: toDbTime(now) });
    },

    async sweepExpiredSessions() {
      await repo.deleteExpiredSessions(toDbTime(clock.now()));
    },

    /** Releases the failed-login store's connection (Redis). */
    async close() {
      await attempts.close();
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
export { AppError };

// A real argon2 hash of a random string, used to spend the same time on unknown usernames.
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3o3BNXMd7WvnjnkFFn5o4+dnK6Qv0Dx1Gh1ZbJ0Ys1E';
