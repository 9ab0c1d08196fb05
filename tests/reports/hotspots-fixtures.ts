/** Shared set-up of the hotspot tests: demo ids, actors, registration, group counts, real citizen messages. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { TestApp } from '../helpers/app';
import { SIX } from '../helpers/matrix';
import { listCategories } from '../../routing';
import type { Actor } from '../../core';

export interface HotspotIds {
  category: Record<string, string>; // by code
  territory: Record<string, string>; // by code
  territoryPath: Record<string, string>;
  user: Record<string, string>;
}

export async function hotspotIds(t: TestApp): Promise<HotspotIds> {
  const ids: HotspotIds = { category: {}, territory: {}, territoryPath: {}, user: {} };
  for (const c of await listCategories(t.ctx.database.db, 'demo')) ids.category[c.code] = c.id;
  for (const code of ['990102001', '990102001001', '990102001001001', '990102001001002', '990102002', '990102002001', '990102002001001']) {
    const ter = (await t.ctx.directory.findTerritoryByCode('demo', code))!;
    ids.territory[code] = ter.id;
    ids.territoryPath[code] = ter.path;
  }
  for (const u of await t.ctx.identity.listUsers('demo')) ids.user[u.username] = u.id;
  return ids;
}

export function actorOf(t: TestApp, ids: HotspotIds, username: string, role: Actor['role']): Actor {
  return { kind: 'user', id: ids.user[username], name: username, role, cityId: 'demo', unitId: null, territoryId: null, territoryPath: null };
}

/** Registers a ticket through intake's public API as agent1 (the path every channel takes). */
export async function register(t: TestApp, ids: HotspotIds, p: { category: string; grid: string; phone?: string | null; title?: string; situation?: string; confidential?: boolean }) {
  return t.ctx.intake.createTicket({ actor: actorOf(t, ids, 'agent1', 'agent') }, {
    channel: 'phone', type: 'complaint', ...SIX, title: p.title ?? '热点测试', situation: p.situation ?? SIX.situation,
    callerPhone: p.phone ?? null, categoryId: ids.category[p.category], territoryId: ids.territory[p.grid], confidential: p.confidential ?? false,
  });
}

/** A group's row of a day: tickets and distinct callers (zeros when none). */
export async function countOf(t: TestApp, categoryId: string, territoryId: string, day: string) {
  const r = await t.ctx.database.db.selectFrom('hotspot_counts').select(['tickets', 'callers']).where('city_id', '=', 'demo')
    .where('category_id', '=', categoryId).where('territory_id', '=', territoryId).where('day', '=', day).executeTakeFirst();
  return { tickets: Number(r?.tickets ?? 0), callers: Number(r?.callers ?? 0) };
}

/**
 * Real citizen messages about rubbish (垃圾) from the 2020 Teddy Cup mailbox (../shared/data), one
 * per distinct user: the wording of a realistic burst. Null when the data set is not on this machine.
 */
export function rubbishMessages(n: number): { user: string; subject: string; text: string }[] | null {
  // The data lives beside the project (../shared/data); a worktree sits one level deeper.
  const file = [process.env.SHARED_DATA_DIR, resolve('../shared/data'), resolve('../../shared/data')]
    .filter((d): d is string => !!d).map((d) => `${d}/messages/teddy2020-messages-4326.csv`).find((f) => existsSync(f));
  if (!file) return null;
  const text = readFileSync(file, 'utf8');
  const rows = parse(text, { columns: true, bom: true, skip_empty_lines: true, relax_column_count: true }) as Record<string, string>[];
  const seen = new Set<string>();
  const out: { user: string; subject: string; text: string }[] = [];
  for (const r of rows) {
    if (!r['留言主题']?.includes('垃圾') || seen.has(r['留言用户'])) continue;
    seen.add(r['留言用户']);
    out.push({ user: r['留言用户'], subject: r['留言主题'].slice(0, 100), text: r['留言详情'].slice(0, 500) });
    if (out.length === n) break;
  }
  return out.length === n ? out : null;
}
