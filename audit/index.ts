/**
 * The audit trail (全程留痕): an append-only record of every state change — who, when, what,
 * before and after. Rows are written inside the transaction that makes the change, so a change
 * without its audit row cannot commit.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { newId, toDbTime, dbTimeToIso, type CommandContext } from '../core';

export interface AuditEntry {
  entityType: string;
  entityId: string;
  action: string;
  before?: unknown;
  after?: unknown;
  reason?: string | null;
  cityId?: string | null;
}

export interface AuditRecord {
  id: string;
  at: string;
  actorId: string | null;
  actorRole: string | null;
  entityType: string;
  entityId: string;
  action: string;
  before: unknown;
  after: unknown;
  reason: string | null;
  requestId: string | null;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

/** Appends one audit row; call it with the transaction that makes the change. */
export async function recordAudit(trx: Kysely<DB>, ctx: CommandContext, entry: AuditEntry, at: Date): Promise<void> {
  await recordAuditMany(trx, ctx, [entry], at);
}

/** Appends many audit rows at once (a batch of ladder steps), in the caller's transaction. */
export async function recordAuditMany(trx: Kysely<DB>, ctx: CommandContext, entries: AuditEntry[], at: Date): Promise<void> {
  // Twelve columns a row: 1,000 rows stay under SQLite's limit of bound variables per statement.
  for (let i = 0; i < entries.length; i += 1000) {
    await trx
      .insertInto('audit_events')
      .values(entries.slice(i, i + 1000).map((entry) => ({
        id: newId(),
        city_id: entry.cityId ?? ctx.actor.cityId ?? null,
        at: toDbTime(at),
        actor_id: ctx.actor.id,
        actor_role: ctx.actor.role,
        entity_type: entry.entityType,
        entity_id: entry.entityId,
        action: entry.action,
        before: json(entry.before),
        after: json(entry.after),
        reason: entry.reason ?? null,
        request_id: ctx.requestId ?? null,
      })))
      .execute();
  }
}

/** The trail of one entity, oldest first. */
export async function listAudit(db: Kysely<DB>, entityType: string, entityId: string): Promise<AuditRecord[]> {
  const rows = await db
    .selectFrom('audit_events')
    .selectAll()
    .where('entity_type', '=', entityType)
    .where('entity_id', '=', entityId)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    at: dbTimeToIso(r.at)!,
    actorId: r.actor_id,
    actorRole: r.actor_role,
    entityType: r.entity_type,
    entityId: r.entity_id,
    action: r.action,
    before: r.before ? JSON.parse(r.before) : null,
    after: r.after ? JSON.parse(r.after) : null,
    reason: r.reason,
    requestId: r.request_id,
  }));
}
