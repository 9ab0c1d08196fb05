/**
 * Citizen pages (群众端): reports from a building's QR code (一码受理) and the status page (进度查询)
 * behind a one-time SMS code. Everything a citizen sends is checked before anything is written; the
 * ticket is registered through intake (channel qr), so it is routed, audited and counted like any
 * other; limits per device, per address and per code stand in for a captcha.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { insertIgnore, type DB, type DialectName } from '../db';
import { recordAudit } from '../audit';
import {
  AppError, badRequest, conflict, forbidden, isCenter, maskPhone, newId, normalizePhone, notFound, systemActor, toDbTime, fromDbTime, dbTimeToIso,
  GRID_ROLES, TicketTypeLabelZh, systemClock,
  type Actor, type Clock, type CommandContext, type TicketType,
} from '../core';
import { keyedHash, newVerificationCode, readBuildingToken, readStatusAccess, sameHash, signBuilding, signStatusAccess, type BuildingRef } from './domain/tokens';
import { PHOTO_EXTENSION, sniffImageType, type PhotoType } from './domain/images';
import { CITIZEN_STAGES, CitizenStageZh, RATEABLE, RESULT_VISIBLE, SatisfactionZh, stageOf, statusNoteZh } from './domain/status';
import type { CitizenPorts, CitizenTicket } from './ports';

export interface CitizenLimits {
  /** Reports per device (cookie) per hour. */
  reportsPerDevice: number;
  /** Reports per client address per hour. */
  reportsPerIp: number;
  /** Reports per building code per hour (a code photographed and spread around). */
  reportsPerCode: number;
  maxPhotos: number;
  maxPhotoBytes: number;
  /** Minutes a code is valid. */
  codeTtlMinutes: number;
  /** Seconds before another code for the same ticket. */
  codeResendSeconds: number;
  /** Codes per ticket and per device per hour. */
  codesPerTicket: number;
  codesPerDevice: number;
  /** Wrong codes before the ticket, or the device/address, is locked out. */
  failuresPerTicket: number;
  failuresPerDevice: number;
  lockMinutes: number;
  /** Minutes the status page stays open after a code. */
  accessMinutes: number;
}

export const DEFAULT_LIMITS: CitizenLimits = {
  reportsPerDevice: 5,
  reportsPerIp: 20,
  reportsPerCode: 30,
  maxPhotos: 3,
  maxPhotoBytes: 5 * 1024 * 1024,
  codeTtlMinutes: 10,
  codeResendSeconds: 60,
  codesPerTicket: 5,
  codesPerDevice: 10,
  failuresPerTicket: 5,
  failuresPerDevice: 10,
  lockMinutes: 30,
  accessMinutes: 30,
};

export interface CitizenDeps {
  db: Kysely<DB>;
  dialect: DialectName;
  clock?: Clock;
  ports: CitizenPorts;
  /** CITIZEN_LINK_SECRET; when unset, a random secret is made once and kept in the database. */
  secret?: string | null;
  limits?: Partial<CitizenLimits>;
}

/** Who is on the other end of a public request: the device cookie and the client address. */
export interface Requester {
  deviceId: string;
  ip: string;
}

export interface PhotoIn {
  fileName: string;
  body: Buffer;
  /** The multipart parser cut it at the size limit. */
  truncated?: boolean;
}

export interface QrReportInput {
  token: string;
  description: string;
  phone?: string | null;
  type?: string | null;
  photos: PhotoIn[];
  idempotencyKey: string;
}

export interface QrReportAnswer {
  ticketNumber: string;
  /** The same problem from this device was already reported: this is that ticket (nothing new was registered). */
  duplicate: boolean;
  statusPath: string;
  hasPhone: boolean;
}

const REPORT_TYPES: readonly TicketType[] = ['help', 'complaint', 'suggestion', 'consultation', 'report', 'praise'];
const HOUR = 3_600_000;

const tooMany = (code: string, en: string, zh: string, retryAfterSeconds: number) => new AppError(code, 429, en, zh, { retryAfterSeconds });

export function createCitizenService(deps: CitizenDeps) {
  const { db, ports } = deps;
  const clock = deps.clock ?? systemClock;
  const limits: CitizenLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  let secretP: Promise<string> | null = deps.secret ? Promise.resolve(deps.secret) : null;

  /** The signing secret: configured, or made once at random and shared through the database. */
  function secret(): Promise<string> {
    secretP ??= (async () => {
      const made = randomBytes(32).toString('base64url');
      await insertIgnore(db, deps.dialect, 'citizen_secrets', { name: 'links', value: made, created_at: toDbTime(clock.now()) });
      const row = await db.selectFrom('citizen_secrets').select('value').where('name', '=', 'links').executeTakeFirstOrThrow();
      return row.value;
    })().catch((err) => {
      secretP = null;
      throw err;
    });
    return secretP;
  }

  const hashOf = async (purpose: string, value: string) => keyedHash(await secret(), purpose, value);
  const actorOf = (cityId: string) => systemActor(cityId, 'citizen');

  async function buildingOf(token: string) {
    const ref = readBuildingToken(await secret(), token);
    if (!ref) throw badRequest('QR_CODE_INVALID', 'this QR code is not one of ours (forged or damaged)', '二维码无效（非本平台生成或已损坏），请扫描楼栋张贴的二维码或拨打12345');
    const place = await ports.places.building(ref.cityId, ref.code);
    if (!place) throw notFound('QR_BUILDING_UNKNOWN', 'this building is no longer registered', '该楼栋二维码已停用，请拨打12345反映');
    return { ref, place };
  }

  /** A photo as stored: its real type from its bytes; limits checked first. */
  function checkPhoto(p: PhotoIn, i: number): { body: Buffer; type: PhotoType } {
    if (p.truncated || p.body.length > limits.maxPhotoBytes) {
      const mb = Math.round(limits.maxPhotoBytes / 1048576);
      throw new AppError('PHOTO_TOO_LARGE', 413, `photo ${i + 1} is larger than ${mb} MB`, `第 ${i + 1} 张照片超过 ${mb}MB，请压缩后重新上传`, { field: 'photos', index: i, maxBytes: limits.maxPhotoBytes });
    }
    const type = sniffImageType(p.body);
    if (!type) throw badRequest('PHOTO_NOT_IMAGE', `file ${i + 1} is not a JPEG, PNG, WebP or GIF image`, `第 ${i + 1} 个文件不是图片（仅支持 JPG、PNG、WebP、GIF）`, { field: 'photos', index: i });
    return { body: p.body, type };
  }

  async function countSince(column: 'device_hash' | 'ip_hash' | 'building_code', value: string, since: Date, cityId?: string) {
    let q = db.selectFrom('citizen_reports').select((eb) => eb.fn.countAll<number>().as('n')).where(column, '=', value).where('created_at', '>=', toDbTime(since));
    if (cityId) q = q.where('city_id', '=', cityId);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  // ---- failed-code counters (per ticket, per device, per address) ----
  async function lockedUntil(keys: string[], now: Date): Promise<Date | null> {
    const rows = await db.selectFrom('citizen_throttle').select(['locked_until']).where('key', 'in', keys).execute();
    const until = rows.map((r) => (r.locked_until ? fromDbTime(r.locked_until) : null)).filter((d): d is Date => !!d && d > now);
    return until.length ? new Date(Math.max(...until.map((d) => d.getTime()))) : null;
  }

  /** Counts one failure under each key (atomically); a key over its limit is locked. Returns whether any is now locked. */
  async function countFailure(trx: Kysely<DB>, keyed: { key: string; limit: number }[], now: Date): Promise<boolean> {
    let locked = false;
    const windowStart = toDbTime(new Date(now.getTime() - limits.lockMinutes * 60_000));
    for (const { key, limit } of keyed) {
      await insertIgnore(trx, deps.dialect, 'citizen_throttle', { key, failures: 0, window_start: toDbTime(now), locked_until: null });
      // A window that ran out starts again.
      await trx.updateTable('citizen_throttle').set({ failures: 0, window_start: toDbTime(now) }).where('key', '=', key).where('window_start', '<', windowStart).execute();
      await trx.updateTable('citizen_throttle').set((eb) => ({ failures: eb('failures', '+', 1) })).where('key', '=', key).execute();
      const row = await trx.selectFrom('citizen_throttle').select('failures').where('key', '=', key).executeTakeFirstOrThrow();
      if (Number(row.failures) >= limit) {
        await trx.updateTable('citizen_throttle').set({ locked_until: toDbTime(new Date(now.getTime() + limits.lockMinutes * 60_000)), failures: 0, window_start: toDbTime(now) }).where('key', '=', key).execute();
        locked = true;
      }
    }
    return locked;
  }

  async function ticketByNumber(cityId: string, number: string): Promise<CitizenTicket | null> {
    const n = number.trim();
    if (!/^[0-9A-Za-z-]{4,40}$/.test(n)) return null;
    return ports.tickets.byNumber(actorOf(cityId), n);
  }

  const service = {
    limits,
    secret,

    /** The token printed in a building's QR code. */
    async buildingToken(ref: BuildingRef): Promise<string> {
      return signBuilding(await secret(), ref);
    },

    /** What the report form shows about the building a scanned code names (a forged code: QR_CODE_INVALID). */
    async building(token: string) {
      const { ref, place } = await buildingOf(token);
      return { code: ref.code, cityId: ref.cityId, place: place.label, territoryName: place.territoryName, types: REPORT_TYPES.map((t) => ({ value: t, label: TicketTypeLabelZh[t] })) };
    },

    /**
     * A QR report: checks the code, the text, the phone and every photo, then the limits and
     * duplicates, then registers the ticket through intake (channel qr, the building's territory)
     * and records the report, its photos and an audit row. A retry with the same key answers with
     * the first ticket.
     */
    async submitReport(input: QrReportInput, who: Requester): Promise<QrReportAnswer> {
      const now = clock.now();
      const { ref, place } = await buildingOf(input.token);
      const key = (input.idempotencyKey ?? '').trim();
      if (!/^[A-Za-z0-9_-]{8,100}$/.test(key)) throw badRequest('IDEMPOTENCY_KEY_REQUIRED', 'each report needs an idempotency key (8–100 letters, digits, - or _)', '提交缺少防重复标识，请刷新页面后重试', { field: 'idempotencyKey' });
      const deviceHash = await hashOf('device', who.deviceId);
      const ipHash = await hashOf('ip', who.ip);
      const idemKey = `${deviceHash.slice(0, 20)}:${key}`;
      const statusPath = (n: string) => `/c/s?n=${encodeURIComponent(n)}`;

      // A retry of a report that went through: the same answer, nothing new.
      const earlier = await db.selectFrom('citizen_reports').selectAll().where('idempotency_key', '=', idemKey).executeTakeFirst();
      if (earlier) {
        const t = await ports.tickets.get(actorOf(earlier.city_id), earlier.ticket_id);
        return { ticketNumber: t.number, duplicate: !!earlier.duplicate_of, statusPath: statusPath(t.number), hasPhone: !!t.callerPhone };
      }

      const description = (input.description ?? '').trim();
      if (description.length < 5) throw badRequest('DESCRIPTION_TOO_SHORT', 'describe the problem in at least 5 characters', '请至少用5个字描述问题', { field: 'description' });
      if (description.length > 1000) throw badRequest('DESCRIPTION_TOO_LONG', 'the description is longer than 1000 characters', '问题描述不能超过1000字', { field: 'description' });
      let phone: string | null = null;
      if (input.phone && input.phone.trim()) {
        phone = normalizePhone(input.phone);
        if (!phone || !/^1[3-9]\d{9}$/.test(phone)) throw badRequest('PHONE_INVALID', 'give an 11-digit mobile number, or none', '请填写11位手机号码，或不填', { field: 'phone' });
      }
      const type = (input.type && input.type.trim()) || 'help';
      if (!(REPORT_TYPES as string[]).includes(type)) throw badRequest('TYPE_INVALID', `unknown request type ${type}`, `诉求类型不正确：${type}`, { field: 'type' });
      if (input.photos.length > limits.maxPhotos) throw badRequest('TOO_MANY_PHOTOS', `at most ${limits.maxPhotos} photos`, `最多上传 ${limits.maxPhotos} 张照片`, { field: 'photos' });
      const photos = input.photos.map(checkPhoto);

      const since = new Date(now.getTime() - HOUR);
      if ((await countSince('device_hash', deviceHash, since)) >= limits.reportsPerDevice) {
        throw tooMany('REPORT_RATE_LIMITED', 'too many reports from this device; try again later or call 12345', '本设备提交过于频繁，请稍后再试或拨打12345', 3600);
      }
      if ((await countSince('ip_hash', ipHash, since)) >= limits.reportsPerIp) {
        throw tooMany('REPORT_RATE_LIMITED', 'too many reports from this network; try again later or call 12345', '当前网络提交过于频繁，请稍后再试或拨打12345', 3600);
      }
      if ((await countSince('building_code', ref.code, since, ref.cityId)) >= limits.reportsPerCode) {
        throw tooMany('QR_CODE_RATE_LIMITED', 'this building code has had too many reports in the last hour; call 12345', '该楼栋二维码近一小时提交过多，请拨打12345反映', 3600);
      }

      // 重复件: the same problem at the same building still open. From the same device it is the
      // same report again (answered with the first ticket); from someone else, a new ticket linked to it.
      const dupes = await ports.tickets.findDuplicates(actorOf(ref.cityId), { text: description, territoryId: place.territoryId, addressText: place.label, withinDays: 14 });
      const best = dupes[0];
      if (best && best.score >= 0.6) {
        const mine = await db.selectFrom('citizen_reports').select('ticket_id').where('ticket_id', '=', best.ticketId).where('device_hash', '=', deviceHash).executeTakeFirst();
        if (mine) return { ticketNumber: best.number, duplicate: true, statusPath: statusPath(best.number), hasPhone: !!phone };
      }

      const ctx: CommandContext = { actor: actorOf(ref.cityId), idempotencyKey: `citizen-qr:${idemKey}` };
      const ticket = await ports.tickets.create(ctx, {
        channel: 'qr', type: type as TicketType, callerPhone: phone,
        title: description.replace(/\s+/g, ' ').slice(0, 30), situation: description,
        addressText: place.label, buildingCode: ref.code, occurredAt: null,
      });
      const duplicateOf = best && best.score >= 0.6 && best.ticketId !== ticket.id ? best.ticketId : null;
      if (duplicateOf) await ports.tickets.linkDuplicate(ctx, ticket.id, duplicateOf);

      // The files first, then the rows: a crash between leaves an orphan file, never a row without its file.
      const stored = [] as { id: string; key: string; type: PhotoType; size: number; sha256: string }[];
      for (const p of photos) {
        const id = newId();
        const storageKey = `${ref.cityId}/${ticket.id}/citizen-${id}${PHOTO_EXTENSION[p.type]}`;
        await ports.storage.put(storageKey, p.body, p.type);
        stored.push({ id, key: storageKey, type: p.type, size: p.body.length, sha256: createHash('sha256').update(p.body).digest('hex') });
      }
      const reportId = newId();
      await db.transaction().execute(async (trx) => {
        const inserted = await insertIgnore(trx as Kysely<DB>, deps.dialect, 'citizen_reports', {
          id: reportId, city_id: ref.cityId, building_code: ref.code, ticket_id: ticket.id, device_hash: deviceHash, ip_hash: ipHash,
          idempotency_key: idemKey, duplicate_of: duplicateOf, created_at: toDbTime(now),
        });
        if (!inserted) return; // a concurrent retry recorded it
        if (stored.length) {
          await trx.insertInto('citizen_photos').values(stored.map((s) => ({ id: s.id, ticket_id: ticket.id, report_id: reportId, content_type: s.type, size: s.size, sha256: s.sha256, storage_key: s.key, created_at: toDbTime(now) }))).execute();
        }
        await recordAudit(trx, ctx, {
          entityType: 'ticket', entityId: ticket.id, action: 'citizen.qr_report', cityId: ref.cityId,
          after: { buildingCode: ref.code, photos: stored.map((s) => ({ id: s.id, size: s.size, sha256: s.sha256 })), duplicateOf },
        }, now);
      });
      return { ticketNumber: ticket.number, duplicate: false, statusPath: statusPath(ticket.number), hasPhone: !!phone };
    },

    /**
     * Sends a one-time code to the phone registered on the ticket. The answer is the same whether
     * or not the number matches (no way to learn whose ticket it is); the limits hold either way.
     */
    async requestCode(cityId: string, input: { ticketNumber: string; phone: string }, who: Requester) {
      const now = clock.now();
      const deviceHash = await hashOf('device', who.deviceId);
      const ipHash = await hashOf('ip', who.ip);
      const phone = normalizePhone(input.phone ?? '');
      if (!phone) throw badRequest('PHONE_INVALID', 'give the mobile number you left with the report', '请填写反映问题时留下的手机号码', { field: 'phone' });
      if (!(input.ticketNumber ?? '').trim()) throw badRequest('TICKET_NUMBER_REQUIRED', 'give the ticket number', '请填写工单编号', { field: 'ticketNumber' });
      const locked = await lockedUntil([`dev:${deviceHash}`, `ip:${ipHash}`], now);
      if (locked) throw lockedError(locked, now);
      const since = toDbTime(new Date(now.getTime() - HOUR));
      const byDevice = await db.selectFrom('citizen_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('device_hash', '=', deviceHash).where('created_at', '>=', since).executeTakeFirstOrThrow();
      if (Number(byDevice.n) >= limits.codesPerDevice) throw tooMany('CODE_RATE_LIMITED', 'too many codes asked from this device; try again in an hour', '本设备获取验证码过于频繁，请一小时后再试', 3600);
      const answer = { sent: true, ttlMinutes: limits.codeTtlMinutes, resendSeconds: limits.codeResendSeconds };
      const t = await ticketByNumber(cityId, input.ticketNumber);
      if (!t || !t.callerPhone || t.callerPhone !== phone) return answer;
      const lockedTicket = await lockedUntil([`ticket:${t.id}`], now);
      if (lockedTicket) throw lockedError(lockedTicket, now);
      const recent = await db.selectFrom('citizen_codes').select(['created_at']).where('ticket_id', '=', t.id).where('created_at', '>=', since).orderBy('created_at', 'desc').execute();
      if (recent.length >= limits.codesPerTicket) throw tooMany('CODE_RATE_LIMITED', 'too many codes for this ticket; try again in an hour', '该工单获取验证码过于频繁，请一小时后再试', 3600);
      const last = recent[0] ? fromDbTime(recent[0].created_at) : null;
      if (last && now.getTime() - last.getTime() < limits.codeResendSeconds * 1000) {
        const wait = Math.ceil((limits.codeResendSeconds * 1000 - (now.getTime() - last.getTime())) / 1000);
        throw tooMany('CODE_RESEND_TOO_SOON', `wait ${wait} s before asking for another code`, `请 ${wait} 秒后再获取验证码`, wait);
      }
      const code = newVerificationCode();
      const id = newId();
      const ctx: CommandContext = { actor: actorOf(cityId) };
      const signature = await ports.sms.signature(cityId);
      const codeHash = await hashOf(`code:${t.id}`, code);
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('citizen_codes').values({
          id, city_id: cityId, ticket_id: t.id, code_hash: codeHash, device_hash: deviceHash,
          expires_at: toDbTime(new Date(now.getTime() + limits.codeTtlMinutes * 60_000)), used_at: null, created_at: toDbTime(now),
        }).execute();
        await ports.sms.queueCodeWithin(trx, { cityId, ticketId: t.id, phone, sourceKey: `citizen-code:${id}`, text: `${signature}您查询工单${t.number}的验证码为${code}，${limits.codeTtlMinutes}分钟内有效。如非本人操作请忽略。` }, now);
        await recordAudit(trx, ctx, { entityType: 'ticket', entityId: t.id, action: 'citizen.code_sent', cityId, after: { codeId: id, to: maskPhone(phone) } }, now);
      });
      ports.sms.kick();
      return answer;
    },

    /**
     * Checks a code: locked ticket or device first, then the code (single use: a second use is
     * CODE_ALREADY_USED; an expired one CODE_EXPIRED). A wrong code counts against the ticket, the
     * device and the address; enough of them lock each out. Returns the status page's access token.
     */
    async verifyCode(cityId: string, input: { ticketNumber: string; code: string }, who: Requester) {
      const now = clock.now();
      const deviceHash = await hashOf('device', who.deviceId);
      const ipHash = await hashOf('ip', who.ip);
      const code = (input.code ?? '').trim();
      if (!/^\d{6}$/.test(code)) throw badRequest('CODE_MALFORMED', 'the code is six digits', '验证码为6位数字', { field: 'code' });
      const t = await ticketByNumber(cityId, input.ticketNumber ?? '');
      const keys = [`dev:${deviceHash}`, `ip:${ipHash}`, ...(t ? [`ticket:${t.id}`] : [])];
      const locked = await lockedUntil(keys, now);
      if (locked) throw lockedError(locked, now);
      const ctx: CommandContext = { actor: actorOf(cityId) };
      const candidates = t
        ? await db.selectFrom('citizen_codes').selectAll().where('ticket_id', '=', t.id).where('created_at', '>=', toDbTime(new Date(now.getTime() - 24 * HOUR))).orderBy('created_at', 'desc').limit(20).execute()
        : [];
      const codeHash = t ? await hashOf(`code:${t.id}`, code) : '';
      const hit = candidates.find((c) => sameHash(c.code_hash, codeHash));
      if (hit && !hit.used_at && fromDbTime(hit.expires_at) > now) {
        const used = await db.transaction().execute(async (trx) => {
          const r = await trx.updateTable('citizen_codes').set({ used_at: toDbTime(now) }).where('id', '=', hit.id).where('used_at', 'is', null).executeTakeFirst();
          if (Number(r.numUpdatedRows) !== 1) return false;
          await recordAudit(trx, ctx, { entityType: 'ticket', entityId: t!.id, action: 'citizen.code_verified', cityId, after: { codeId: hit.id } }, now);
          return true;
        });
        if (used) return { token: signStatusAccess(await secret(), t!.id, cityId, now.getTime() + limits.accessMinutes * 60_000), ticketNumber: t!.number, expiresInMinutes: limits.accessMinutes };
      }
      if (hit && (hit.used_at || fromDbTime(hit.expires_at) > now)) {
        throw conflict('CODE_ALREADY_USED', 'this code was already used; ask for a new one', '该验证码已使用，请重新获取');
      }
      if (hit) throw badRequest('CODE_EXPIRED', 'this code has expired; ask for a new one', '验证码已过期，请重新获取', { field: 'code' });
      const nowLocked = await db.transaction().execute(async (trx) => {
        const l = await countFailure(trx, [
          ...(t ? [{ key: `ticket:${t.id}`, limit: limits.failuresPerTicket }] : []),
          { key: `dev:${deviceHash}`, limit: limits.failuresPerDevice },
          { key: `ip:${ipHash}`, limit: limits.failuresPerDevice * 2 },
        ], now);
        if (t) await recordAudit(trx, ctx, { entityType: 'ticket', entityId: t.id, action: l ? 'citizen.code_locked' : 'citizen.code_failed', cityId, after: { locked: l } }, now);
        return l;
      });
      if (nowLocked) throw lockedError(new Date(now.getTime() + limits.lockMinutes * 60_000), now);
      throw badRequest('CODE_INVALID', 'the ticket number or the code is wrong', '工单编号或验证码不正确', { field: 'code' });
    },

    /** The ticket as its citizen reads it: stages, place, description, result; no notes, no staff names. */
    async status(accessToken: string | undefined) {
      const access = await readAccess(accessToken);
      const t = await ports.tickets.get(actorOf(access.cityId), access.ticketId);
      const stage = stageOf(t.status, t.satisfaction);
      const at = CITIZEN_STAGES.indexOf(stage);
      const photos = await db.selectFrom('citizen_photos').select((eb) => eb.fn.countAll<number>().as('n')).where('ticket_id', '=', t.id).executeTakeFirstOrThrow();
      return {
        ticketNumber: t.number,
        stage,
        stageZh: CitizenStageZh[stage],
        stages: CITIZEN_STAGES.map((s, i) => ({ stage: s, label: CitizenStageZh[s], done: i <= at })),
        note: statusNoteZh(t.status),
        typeZh: TicketTypeLabelZh[t.type as TicketType] ?? t.type,
        place: t.addressText,
        description: t.situation,
        photos: Number(photos.n),
        phone: maskPhone(t.callerPhone),
        registeredAt: t.createdAt,
        closedAt: t.closedAt,
        result: RESULT_VISIBLE.has(t.status) ? (t.status === 'answered' ? t.answer : t.result) : null,
        satisfaction: t.satisfaction,
        satisfactionZh: t.satisfaction ? SatisfactionZh[t.satisfaction] ?? t.satisfaction : null,
        canRate: RATEABLE.has(t.status) && !t.satisfaction,
      };
    },

    /** The citizen's rating (满意度), recorded as a callback's (回访) would be. */
    async rate(accessToken: string | undefined, input: { satisfaction: string; comment?: string | null }, idempotencyKey?: string) {
      const access = await readAccess(accessToken);
      if (!['satisfied', 'basically_satisfied', 'unsatisfied'].includes(input.satisfaction)) {
        throw badRequest('SATISFACTION_INVALID', 'choose satisfied, basically satisfied or unsatisfied', '请选择满意、基本满意或不满意', { field: 'satisfaction' });
      }
      const comment = input.comment?.trim() || null;
      if (comment && comment.length > 500) throw badRequest('COMMENT_TOO_LONG', 'the comment is longer than 500 characters', '评价内容不能超过500字', { field: 'comment' });
      const t = await ports.tickets.get(actorOf(access.cityId), access.ticketId);
      if (!RATEABLE.has(t.status) || t.satisfaction) {
        throw conflict('NOT_RATEABLE', 'this ticket cannot be rated now (not finished, or already rated)', '该工单当前不能评价（尚未办结或已评价）', { stage: stageOf(t.status, t.satisfaction) });
      }
      await ports.rate({ actor: actorOf(access.cityId), idempotencyKey: idempotencyKey ? `citizen-rate:${idempotencyKey}` : undefined }, t.id, {
        satisfaction: input.satisfaction as 'satisfied', comment: comment ? `【群众网上评价】${comment}` : '【群众网上评价】',
      });
      return service.status(accessToken);
    },

    // ---- staff: printable codes and the photos of a ticket ----

    /** The buildings an actor may print codes for: the center every one; grid staff those in their territory. */
    async buildingsFor(actor: Actor, territoryId?: string | null) {
      requirePrinter(actor);
      let under = actor.territoryPath && !isCenter(actor) ? actor.territoryPath : null;
      if (territoryId) {
        const t = await ports.places.territory(territoryId);
        if (!t || t.cityId !== actor.cityId) throw notFound('TERRITORY_NOT_FOUND', `territory ${territoryId} not found`, `区域 ${territoryId} 不存在`);
        if (under && !t.path.startsWith(under)) throw forbidden('TERRITORY_OUT_OF_SCOPE', 'this territory is outside yours', '该区域不在您的管辖范围内');
        under = t.path;
      }
      const all = await ports.places.buildings(actor.cityId);
      const s = await secret();
      return all
        .filter((b) => !under || b.territoryPath.startsWith(under))
        .map((b) => ({ ...b, token: signBuilding(s, { cityId: actor.cityId, code: b.code }) }));
    },

    /** One building's code for printing (its PNG): looked up by code, not by listing the city; null when unknown or outside the actor's territory. */
    async buildingFor(actor: Actor, code: string) {
      requirePrinter(actor);
      const place = await ports.places.building(actor.cityId, code);
      if (!place) return null;
      if (actor.territoryPath && !isCenter(actor)) {
        const t = await ports.places.territory(place.territoryId);
        if (!t || !t.path.startsWith(actor.territoryPath)) return null;
      }
      return { code, label: place.label, token: signBuilding(await secret(), { cityId: actor.cityId, code }) };
    },

    async photosOf(actor: Actor, ticketId: string) {
      await ports.tickets.requireReadable(actor, ticketId);
      const rows = await db.selectFrom('citizen_photos').selectAll().where('ticket_id', '=', ticketId).orderBy('created_at').execute();
      return rows.map((r) => ({ id: r.id, contentType: r.content_type, size: Number(r.size), sha256: r.sha256, createdAt: dbTimeToIso(r.created_at)! }));
    },

    async readPhoto(actor: Actor, ticketId: string, photoId: string) {
      await ports.tickets.requireReadable(actor, ticketId);
      const r = await db.selectFrom('citizen_photos').selectAll().where('id', '=', photoId).executeTakeFirst();
      if (!r || r.ticket_id !== ticketId) throw notFound('PHOTO_NOT_FOUND', 'photo not found', '照片不存在');
      return { contentType: r.content_type, body: await ports.storage.get(r.storage_key) };
    },
  };

  async function readAccess(token: string | undefined) {
    const access = readStatusAccess(await secret(), token, clock.now());
    if (!access) throw new AppError('STATUS_ACCESS_REQUIRED', 401, 'verify with the SMS code first (or again: access lasts 30 minutes)', '请先通过短信验证码验证（验证有效期30分钟）');
    return access;
  }

  return service;
}

function lockedError(until: Date, now: Date) {
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return tooMany('CODE_LOCKED', `too many wrong codes; try again in ${Math.ceil(seconds / 60)} minutes`, `验证码错误次数过多，请 ${Math.ceil(seconds / 60)} 分钟后再试`, seconds);
}

function requirePrinter(actor: Actor) {
  if (!isCenter(actor) && !GRID_ROLES.has(actor.role)) throw forbidden('ROLE_FORBIDDEN', 'only the center and grid staff print building codes', '仅热线中心和网格人员可打印楼栋二维码');
}

export type CitizenService = ReturnType<typeof createCitizenService>;
