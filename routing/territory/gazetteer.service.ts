/**
 * Writing a city's gazetteer and territory outlines, in the caller's transaction (the city import).
 * Idempotent: an entry is identified by kind, name, territory, number range and side; importing the
 * same file again changes nothing; entries absent from the file are removed (no other table refers
 * to them, unlike territories and categories).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db';
import { badRequest, newId } from '../../core';
import { bboxOf, type AreaGeometry } from './domain/geo';
import { gazetteerKey, type GazetteerEntry, type GazetteerKind, type Parity, type TerritoryPolygon } from './domain/gazetteer';
import { GazetteerRepository, type GazetteerRow, type TerritoryPolygonRow } from './gazetteer.repository';

/** A gazetteer entry to write: its territory already resolved to an id. */
export type GazetteerInput = Omit<GazetteerEntry, 'id'>;

/** What a replace did. */
export interface ReplaceCounts {
  created: number;
  updated: number;
  unchanged: number;
  removed: number;
}

export function toGazetteerEntry(r: GazetteerRow): GazetteerEntry {
  const aliases: unknown = r.aliases ? JSON.parse(r.aliases) : [];
  return {
    id: r.id,
    kind: r.kind as GazetteerKind,
    name: r.name,
    aliases: Array.isArray(aliases) ? aliases.map(String) : [],
    territoryId: r.territory_id,
    numberFrom: r.number_from === null ? null : Number(r.number_from),
    numberTo: r.number_to === null ? null : Number(r.number_to),
    parity: r.parity as Parity,
    lat: r.lat === null ? null : Number(r.lat),
    lng: r.lng === null ? null : Number(r.lng),
  };
}

export function toTerritoryPolygon(r: TerritoryPolygonRow): TerritoryPolygon {
  return { territoryId: r.territory_id, geometry: JSON.parse(r.geojson) as AreaGeometry };
}

/**
 * Makes the city's gazetteer exactly `entries`: adds new ones, updates aliases and coordinates of
 * known ones in place, removes the rest. Two entries with the same identity are refused.
 */
export async function replaceGazetteerIn(trx: Kysely<DB>, cityId: string, entries: readonly GazetteerInput[]): Promise<ReplaceCounts> {
  const repo = new GazetteerRepository(trx);
  const existing = new Map<string, GazetteerRow>();
  const stale: string[] = [];
  for (const r of await repo.listEntries(cityId)) {
    const key = gazetteerKey(toGazetteerEntry(r));
    if (existing.has(key)) stale.push(r.id); // a duplicate left by hand: keep one
    else existing.set(key, r);
  }
  const out: ReplaceCounts = { created: 0, updated: 0, unchanged: 0, removed: 0 };
  const inserts: GazetteerRow[] = [];
  const given = new Set<string>();
  for (const e of entries) {
    const key = gazetteerKey(e);
    if (given.has(key)) {
      throw badRequest('GAZETTEER_DUPLICATE', `gazetteer entry given twice: ${e.kind} ${e.name}`, `地名重复：${e.name}`, { kind: e.kind, name: e.name });
    }
    given.add(key);
    const fields = { aliases: JSON.stringify(e.aliases), lat: e.lat, lng: e.lng };
    const old = existing.get(key);
    if (!old) {
      inserts.push({ id: newId(), city_id: cityId, kind: e.kind, name: e.name, territory_id: e.territoryId, number_from: e.numberFrom, number_to: e.numberTo, parity: e.parity, ...fields });
      continue;
    }
    existing.delete(key);
    const same = old.aliases === fields.aliases && numOrNull(old.lat) === fields.lat && numOrNull(old.lng) === fields.lng;
    if (same) out.unchanged++;
    else {
      await repo.updateEntry(old.id, fields);
      out.updated++;
    }
  }
  await repo.insertEntries(inserts);
  out.created = inserts.length;
  const removed = [...existing.values()].map((r) => r.id);
  await repo.deleteEntries([...removed, ...stale]);
  out.removed = removed.length;
  return out;
}

const numOrNull = (v: number | null) => (v === null ? null : Number(v));

/** Makes the city's territory outlines exactly `polygons` (one per territory). */
export async function replaceTerritoryPolygonsIn(trx: Kysely<DB>, cityId: string, polygons: readonly TerritoryPolygon[]): Promise<ReplaceCounts> {
  const repo = new GazetteerRepository(trx);
  const existing = new Map((await repo.listPolygons(cityId)).map((r) => [r.territory_id, r]));
  const out: ReplaceCounts = { created: 0, updated: 0, unchanged: 0, removed: 0 };
  const inserts: TerritoryPolygonRow[] = [];
  const given = new Set<string>();
  for (const p of polygons) {
    if (given.has(p.territoryId)) throw badRequest('POLYGON_DUPLICATE', `two outlines for territory ${p.territoryId}`, `同一区域有两个边界：${p.territoryId}`);
    given.add(p.territoryId);
    const b = bboxOf(p.geometry);
    const row: TerritoryPolygonRow = { territory_id: p.territoryId, city_id: cityId, geojson: JSON.stringify(p.geometry), min_lat: b.minLat, min_lng: b.minLng, max_lat: b.maxLat, max_lng: b.maxLng };
    const old = existing.get(p.territoryId);
    if (!old) {
      inserts.push(row);
      continue;
    }
    existing.delete(p.territoryId);
    if (old.geojson === row.geojson && old.city_id === cityId) out.unchanged++;
    else {
      const { territory_id: _id, ...patch } = row;
      await repo.updatePolygon(p.territoryId, patch);
      out.updated++;
    }
  }
  await repo.insertPolygons(inserts);
  out.created = inserts.length;
  await repo.deletePolygons([...existing.keys()]);
  out.removed = existing.size;
  return out;
}

/** A building with a QR code (楼栋, 一码受理): its code, the territory (grid) it lies in, and its point. */
export interface BuildingEntry {
  code: string;
  aliases: string[];
  territoryId: string;
  lat: number | null;
  lng: number | null;
}

/** The city's buildings (gazetteer entries of kind building), by code: for printing their QR codes. */
export async function listBuildings(db: Kysely<DB>, cityId: string): Promise<BuildingEntry[]> {
  const rows = await db.selectFrom('gazetteer_entries').selectAll().where('city_id', '=', cityId).where('kind', '=', 'building').orderBy('name').execute();
  return rows.map(toGazetteerEntry).map((e) => ({ code: e.name, aliases: e.aliases, territoryId: e.territoryId, lat: e.lat, lng: e.lng }));
}
