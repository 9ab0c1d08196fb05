/**
 * Territory resolution (属地识别) as a service: one resolver per city, built from the directory's
 * territory tree and this part's gazetteer and outlines, cached, and rebuilt after a city import
 * (`reload`) or when the cache grows old (in the background, serving the old one meanwhile).
 */
import type { Kysely } from 'kysely';
import type { DB, DialectName } from '../../db';
import type { DirectoryService, TerritoryNode } from '../../directory';
import { buildTerritoryResolver, type Resolution, type ResolverTerritory, type TerritoryResolver } from './domain/resolve';
import { jiebaSegmenter, type DictionaryWord, type Segmenter } from './domain/segmenter';
import { GazetteerRepository } from './gazetteer.repository';
import { toGazetteerEntry, toTerritoryPolygon } from './gazetteer.service';

export interface TerritoryResolverDeps {
  db: Kysely<DB>;
  dialect: DialectName;
  directory: Pick<DirectoryService, 'territoryTree'>;
  /** jieba by default. */
  segmenter?: Segmenter;
  /**
   * After this long a city's resolver is rebuilt in the background (another process may have
   * imported the city). Default 10 minutes; `reload` rebuilds at once.
   */
  cacheTtlMs?: number;
}

/** A reporter's position, when the channel gives one (grid app, WeChat, a QR page). */
export interface ResolvePoint {
  lat?: number | null;
  lng?: number | null;
}

interface Cached {
  resolver: Promise<TerritoryResolver>;
  builtAt: number;
  refreshing: boolean;
}

function flatten(nodes: TerritoryNode[], out: ResolverTerritory[] = []): ResolverTerritory[] {
  for (const n of nodes) {
    out.push({ id: n.id, code: n.code, name: n.name, level: n.level, parentId: n.parentId });
    flatten(n.children, out);
  }
  return out;
}

export function createTerritoryResolverService(deps: TerritoryResolverDeps) {
  const ttl = deps.cacheTtlMs ?? 10 * 60_000;
  const segmenter = deps.segmenter ?? jiebaSegmenter();
  const repo = new GazetteerRepository(deps.db);
  const cache = new Map<string, Cached>();

  async function build(cityId: string): Promise<TerritoryResolver> {
    const [tree, entries, polygons] = await Promise.all([deps.directory.territoryTree(cityId), repo.listEntries(cityId), repo.listPolygons(cityId)]);
    return buildTerritoryResolver(
      { territories: flatten(tree), entries: entries.map(toGazetteerEntry), polygons: polygons.map(toTerritoryPolygon) },
      { segmenter },
    );
  }

  function load(cityId: string): Cached {
    const entry: Cached = { resolver: build(cityId), builtAt: Date.now(), refreshing: false };
    cache.set(cityId, entry);
    // A failed build is not cached: the next call tries again.
    entry.resolver.catch(() => {
      if (cache.get(cityId) === entry) cache.delete(cityId);
    });
    return entry;
  }

  /** The city's resolver (built on first use; a stale one is served while its successor builds). */
  function resolverFor(cityId: string): Promise<TerritoryResolver> {
    const hit = cache.get(cityId);
    if (!hit) return load(cityId).resolver;
    if (!hit.refreshing && Date.now() - hit.builtAt > ttl) {
      hit.refreshing = true;
      const next = build(cityId);
      next.then(
        (r) => {
          if (cache.get(cityId) === hit) cache.set(cityId, { resolver: Promise.resolve(r), builtAt: Date.now(), refreshing: false });
        },
        () => {
          hit.refreshing = false;
        },
      );
    }
    return hit.resolver;
  }

  return {
    resolverFor,

    /** Resolves an address as said or typed (and the reporter's point, if any) to a territory. */
    async resolve(cityId: string, address: string | null | undefined, point: ResolvePoint = {}): Promise<Resolution> {
      return (await resolverFor(cityId)).resolve(address, point);
    },

    /** A QR-code report: the code carries the building, so the territory is exact (confidence 1) or unresolved. */
    async resolveBuilding(cityId: string, code: string): Promise<Resolution> {
      return (await resolverFor(cityId)).resolveBuilding(code);
    },

    /** The city's place names as a custom dictionary (jieba `word freq tag`), for the classifier's tokenizer too. */
    async dictionaryWords(cityId: string): Promise<DictionaryWord[]> {
      return (await resolverFor(cityId)).dictionaryWords();
    },

    /** Drops the city's resolver; the next call rebuilds it from the database. The city import calls it after commit. */
    reload(cityId: string): void {
      cache.delete(cityId);
    },
  };
}

export type TerritoryResolverService = ReturnType<typeof createTerritoryResolverService>;
