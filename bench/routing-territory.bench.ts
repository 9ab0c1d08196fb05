/**
 * Territory resolution (属地识别) speed on a synthetic large city: 50,000 gazetteer entries (roads
 * in segments, compounds, landmarks, villages, buildings) over 10 districts, 100 streets, 1,000
 * communities and 5,000 grids, with a grid outline each. The baseline is the least any resolver
 * must do: one Map read per place name the address holds.
 */
import { performance } from 'node:perf_hooks';
import { buildTerritoryResolver, type GazetteerEntry, type ResolverTerritory, type TerritoryPolygon, type TerritoryResolver } from '../routing/territory';
import { fmt, percentile, type BenchResult } from './harness';
import { seededRandom } from '../core';

export interface SyntheticCity {
  territories: ResolverTerritory[];
  entries: GazetteerEntry[];
  polygons: TerritoryPolygon[];
  /** Addresses as callers say them, built from the gazetteer: each with the grid or community it lies in. */
  addresses: { text: string; territoryId: string; point?: { lat: number; lng: number } }[];
}

// Characters of place names; two or three of them make a name that no other one equals by chance often.
const CHARS = '安宝北滨长朝城春翠大德东芳丰凤福富港高光广贵桂海和河红虹华怀槐惠吉嘉江金锦景静菊康兰蓝乐丽莲林临柳龙隆鹿茂梅美民明南宁平浦齐青清庆秋泉仁荣瑞润桑山上盛石寿顺松泰桃天亭通桐湾万旺望卫文武西溪霞仙祥新兴星秀阳杨耀怡义银永友玉裕园源月云泽樟振正芝中竹紫'.split('');

export function syntheticCity(opts: { entries?: number; seed?: number } = {}): SyntheticCity {
  const total = opts.entries ?? 50_000;
  const rand = seededRandom(opts.seed ?? 12345);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const used = new Set<string>();
  const fresh = (suffix: string, len = 2) => {
    for (;;) {
      let s = '';
      for (let i = 0; i < len; i++) s += pick(CHARS);
      if (!used.has(s + suffix)) {
        used.add(s + suffix);
        return s + suffix;
      }
      if (used.size > 20_000 * len) len++;
    }
  };
  const territories: ResolverTerritory[] = [];
  const grids: { id: string; communityId: string; lat: number; lng: number }[] = [];
  const polygons: TerritoryPolygon[] = [];
  for (let d = 0; d < 10; d++) {
    const did = `d${d}`;
    territories.push({ id: did, code: `99${String(d).padStart(4, '0')}`, name: fresh('区'), level: 'district', parentId: null });
    for (let s = 0; s < 10; s++) {
      const sid = `${did}s${s}`;
      territories.push({ id: sid, code: null, name: fresh('街道'), level: 'street', parentId: did });
      for (let c = 0; c < 10; c++) {
        const cid = `${sid}c${c}`;
        const cname = fresh('社区', 3);
        territories.push({ id: cid, code: null, name: cname, level: 'community', parentId: sid });
        for (let g = 0; g < 5; g++) {
          const gid = `${cid}g${g}`;
          territories.push({ id: gid, code: null, name: `${cname}第${'一二三四五'[g]}网格`, level: 'grid', parentId: cid });
          // A lattice of 0.01° cells: district → column block, street → row, community → column, grid → row.
          const lat = 30 + s * 0.05 + g * 0.01;
          const lng = 110 + d * 0.1 + c * 0.01;
          grids.push({ id: gid, communityId: cid, lat, lng });
          polygons.push({ territoryId: gid, geometry: { type: 'Polygon', coordinates: [[[lng, lat], [lng + 0.01, lat], [lng + 0.01, lat + 0.01], [lng, lat + 0.01], [lng, lat]]] } });
        }
      }
    }
  }
  const entries: GazetteerEntry[] = [];
  const entry = (e: Partial<GazetteerEntry> & Pick<GazetteerEntry, 'kind' | 'name' | 'territoryId'>): GazetteerEntry => ({ aliases: [], numberFrom: null, numberTo: null, parity: 'all', lat: null, lng: null, ...e });
  const center = (g: (typeof grids)[number]) => ({ lat: g.lat + 0.005, lng: g.lng + 0.005 });
  const addresses: SyntheticCity['addresses'] = [];
  const districtName = (id: string) => territories.find((t) => t.id === id.slice(0, id.indexOf('s')))!.name;
  // Roads: 4 segments each, along consecutive grids (so a road crosses communities and streets).
  const roadCount = Math.round(total * 0.4 / 4);
  for (let r = 0; r < roadCount; r++) {
    const name = fresh(pick(['路', '街', '大道', '巷']));
    const start = Math.floor(rand() * (grids.length - 4));
    for (let k = 0; k < 4; k++) {
      const g = grids[start + k];
      entries.push(entry({ kind: 'road', name, territoryId: g.id, numberFrom: k * 100 + 1, numberTo: k * 100 + 99, ...center(g) }));
    }
    if (r % 10 === 0) {
      const g = grids[start + 2];
      addresses.push({ text: `${districtName(g.id)}${name}${200 + 17}号楼下`, territoryId: g.id });
    }
  }
  const rest = total - entries.length;
  for (let i = 0; i < rest; i++) {
    const g = pick(grids);
    const roll = i % 10;
    if (roll < 6) {
      const name = fresh(pick(['小区', '花园', '苑', '公寓', '大厦', '家园']));
      entries.push(entry({ kind: 'compound', name, territoryId: g.id, ...center(g) }));
      if (i % 20 === 0) addresses.push({ text: `${name}${1 + (i % 12)}栋门口`, territoryId: g.id });
      if (i % 40 === 1) addresses.push({ text: `${districtName(g.id)}${name}附近`, territoryId: g.id, point: center(g) });
    } else if (roll < 8) {
      const name = fresh(pick(['医院', '小学', '中学', '公园', '地铁站', '商场', '广场']));
      entries.push(entry({ kind: 'landmark', name, territoryId: g.id, ...center(g) }));
      if (i % 30 === 7) addresses.push({ text: `${name}对面`, territoryId: g.id });
    } else if (roll < 9) {
      entries.push(entry({ kind: 'village', name: fresh('庄'), territoryId: g.id }));
    } else {
      entries.push(entry({ kind: 'building', name: `QR-${g.id}-${String(i).padStart(6, '0')}`, territoryId: g.id }));
    }
  }
  return { territories, entries, polygons, addresses };
}

/** Times `fn` over `n` calls; returns per-call milliseconds, sorted. */
function timings(n: number, fn: (i: number) => void): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn(i);
    out[i] = performance.now() - t0;
  }
  return out.sort((a, b) => a - b);
}

/**
 * Resolves the synthetic city's addresses through the resolver, against bare Map reads of the same
 * addresses' mention strings (the least any resolver does). Returns rates, p99 and their ratio.
 */
export async function benchTerritory(opts: { entries?: number; resolves?: number; resolver?: TerritoryResolver; city?: SyntheticCity } = {}): Promise<BenchResult & { resolvesPerSec: number; p99Ms: number; baselineMapReadsPerSec: number; ratio: number }> {
  const city = opts.city ?? syntheticCity({ entries: opts.entries });
  const t0 = performance.now();
  const resolver = opts.resolver ?? buildTerritoryResolver({ territories: city.territories, entries: city.entries, polygons: city.polygons });
  const buildMs = performance.now() - t0;
  const n = opts.resolves ?? 20_000;
  const addrs = city.addresses;
  for (let i = 0; i < 500; i++) resolver.resolve(addrs[i % addrs.length].text, addrs[i % addrs.length].point); // warm-up (JIT)

  const times = timings(n, (i) => resolver.resolve(addrs[i % addrs.length].text, addrs[i % addrs.length].point));
  const resolveMs = times.reduce((a, b) => a + b, 0);

  // Baseline: the mention strings of each address, read from a Map holding every surface once.
  const mentions = addrs.map((a) => resolver.resolve(a.text).mentions.map((m) => m.text));
  const names = new Map<string, number>();
  for (const e of city.entries) names.set(e.name, names.size);
  for (const ms of mentions) for (const m of ms) if (!names.has(m)) names.set(m, names.size);
  let sink = 0;
  const tb = performance.now();
  for (let i = 0; i < n; i++) for (const m of mentions[i % mentions.length]) sink += names.get(m) ?? 0;
  const baseMs = performance.now() - tb;
  if (sink === -1) process.stdout.write(''); // keep the loop from being optimised away

  const resolvesPerSec = (n / resolveMs) * 1000;
  const baselineMapReadsPerSec = (n / Math.max(baseMs, 1e-6)) * 1000;
  return {
    name: `territory resolve, ${city.entries.length} gazetteer entries, ${city.polygons.length} outlines`,
    entries: city.entries.length,
    buildMs: fmt(buildMs, 0),
    resolves: n,
    resolvesPerSec: fmt(resolvesPerSec, 0),
    p50Ms: fmt(percentile(times, 50), 4),
    p99Ms: fmt(percentile(times, 99), 4),
    baselineMapReadsPerSec: fmt(baselineMapReadsPerSec, 0),
    // How many times slower than the bare reads: the price of normalising, segmenting, scanning and scoring.
    ratio: fmt(baselineMapReadsPerSec / resolvesPerSec, 1),
  };
}
