/**
 * Territory outlines: GeoJSON Polygon and MultiPolygon geometries (positions are [lng, lat], WGS-84
 * or whatever datum the city's grid map uses — the resolver only compares a point with them), their
 * bounding boxes, point-in-polygon by ray casting, and the checks a city preset's grids.geojson passes.
 */

/** A position as GeoJSON writes it: [longitude, latitude]. */
export type Position = [number, number];
export type Ring = Position[];

export interface PolygonGeometry {
  type: 'Polygon';
  /** The outer ring first, then holes. */
  coordinates: Ring[];
}
export interface MultiPolygonGeometry {
  type: 'MultiPolygon';
  coordinates: Ring[][];
}
export type AreaGeometry = PolygonGeometry | MultiPolygonGeometry;

export interface BBox {
  minLat: number;
  minLng: number;
  maxLat: number;
  maxLng: number;
}

const polygonsOf = (g: AreaGeometry): Ring[][] => (g.type === 'Polygon' ? [g.coordinates] : g.coordinates);

export function bboxOf(g: AreaGeometry): BBox {
  let minLat = Infinity;
  let minLng = Infinity;
  let maxLat = -Infinity;
  let maxLng = -Infinity;
  for (const poly of polygonsOf(g)) {
    for (const [lng, lat] of poly[0] ?? []) {
      if (lat < minLat) minLat = lat;
      if (lat > maxLat) maxLat = lat;
      if (lng < minLng) minLng = lng;
      if (lng > maxLng) maxLng = lng;
    }
  }
  return { minLat, minLng, maxLat, maxLng };
}

export const inBBox = (b: BBox, lat: number, lng: number): boolean => lat >= b.minLat && lat <= b.maxLat && lng >= b.minLng && lng <= b.maxLng;

/**
 * Ray casting (even-odd rule): a ray from the point towards +lng crosses the ring's edges an odd
 * number of times when the point is inside. A point exactly on an edge may fall either way; grids
 * share edges, and the neighbour then takes it.
 */
export function pointInRing(lat: number, lng: number, ring: Ring): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > lat !== yj > lat && lng < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Inside the outer ring of one of the polygons and inside none of that polygon's holes. */
export function pointInGeometry(lat: number, lng: number, g: AreaGeometry): boolean {
  for (const poly of polygonsOf(g)) {
    if (!poly.length || !pointInRing(lat, lng, poly[0])) continue;
    let inHole = false;
    for (let h = 1; h < poly.length && !inHole; h++) inHole = pointInRing(lat, lng, poly[h]);
    if (!inHole) return true;
  }
  return false;
}

/** Planar area in square degrees (shoelace), holes subtracted: to prefer the smaller of two nested outlines. */
export function areaOf(g: AreaGeometry): number {
  const ringArea = (r: Ring) => {
    let a = 0;
    for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j][0] + r[i][0]) * (r[j][1] - r[i][1]);
    return Math.abs(a / 2);
  };
  let total = 0;
  for (const poly of polygonsOf(g)) poly.forEach((r, i) => (total += i === 0 ? ringArea(r) : -ringArea(r)));
  return total;
}

/** Whether a latitude/longitude pair is a usable point. */
export const validLatLng = (lat: unknown, lng: unknown): boolean =>
  typeof lat === 'number' && typeof lng === 'number' && Number.isFinite(lat) && Number.isFinite(lng) && lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180;

/** A problem in a geometry, at a path below the geometry (['coordinates', 0, 3]). */
export interface GeometryProblem {
  path: (string | number)[];
  message: string;
  messageZh: string;
}

function ringProblems(ring: unknown, path: (string | number)[], out: GeometryProblem[]) {
  if (!Array.isArray(ring)) {
    out.push({ path, message: 'a ring is an array of [lng, lat] positions', messageZh: '环须为 [经度, 纬度] 坐标数组' });
    return;
  }
  let ok = true;
  ring.forEach((pos, k) => {
    if (!ok) return;
    if (!Array.isArray(pos) || pos.length < 2 || typeof pos[0] !== 'number' || typeof pos[1] !== 'number') {
      out.push({ path: [...path, k], message: 'a position is [lng, lat] with two numbers', messageZh: '坐标须为两个数字 [经度, 纬度]' });
      ok = false;
    } else if (!validLatLng(pos[1], pos[0])) {
      out.push({ path: [...path, k], message: `position [${pos[0]}, ${pos[1]}] is out of range: lng -180..180, lat -90..90 (GeoJSON puts longitude first)`, messageZh: `坐标 [${pos[0]}, ${pos[1]}] 超出范围：经度 -180..180，纬度 -90..90（GeoJSON 经度在前）` });
      ok = false;
    }
  });
  if (!ok) return;
  if (ring.length < 4) {
    out.push({ path, message: `a ring needs at least 4 positions (a closed triangle), got ${ring.length}`, messageZh: `环至少需要4个坐标（闭合三角形），实际 ${ring.length} 个` });
    return;
  }
  const first = ring[0] as number[];
  const last = ring[ring.length - 1] as number[];
  if (first[0] !== last[0] || first[1] !== last[1]) {
    out.push({ path: [...path, ring.length - 1], message: 'a ring must be closed: its last position equals its first', messageZh: '环须闭合：最后一个坐标应与第一个相同' });
  }
}

function polygonProblems(rings: unknown, path: (string | number)[], out: GeometryProblem[]) {
  if (!Array.isArray(rings) || rings.length === 0) {
    out.push({ path, message: 'a polygon is a non-empty array of rings (outer ring first)', messageZh: '多边形须为非空的环数组（外环在前）' });
    return;
  }
  rings.forEach((r, k) => ringProblems(r, [...path, k], out));
}

/** The problems of a GeoJSON geometry that must be a Polygon or MultiPolygon; none means it is usable. */
export function geometryProblems(g: unknown): GeometryProblem[] {
  const out: GeometryProblem[] = [];
  if (!g || typeof g !== 'object') {
    out.push({ path: [], message: 'geometry is required: a Polygon or MultiPolygon', messageZh: '缺少 geometry（应为 Polygon 或 MultiPolygon）' });
    return out;
  }
  const { type, coordinates } = g as { type?: unknown; coordinates?: unknown };
  if (type === 'Polygon') polygonProblems(coordinates, ['coordinates'], out);
  else if (type === 'MultiPolygon') {
    if (!Array.isArray(coordinates) || coordinates.length === 0) out.push({ path: ['coordinates'], message: 'a MultiPolygon is a non-empty array of polygons', messageZh: 'MultiPolygon 须为非空的多边形数组' });
    else coordinates.forEach((p, k) => polygonProblems(p, ['coordinates', k], out));
  } else {
    out.push({ path: ['type'], message: `geometry type ${JSON.stringify(type)}: Polygon or MultiPolygon`, messageZh: `几何类型 ${JSON.stringify(type)} 无效，应为 Polygon 或 MultiPolygon` });
  }
  return out;
}

/** Territory outlines with a bounding-box prefilter; the deepest (then smallest) outline wins a point. */
export class PolygonIndex<T extends { depth: number }> {
  private readonly boxes: Float64Array;
  private readonly items: { geometry: AreaGeometry; value: T; area: number }[] = [];

  constructor(entries: { geometry: AreaGeometry; value: T }[]) {
    this.boxes = new Float64Array(entries.length * 4);
    entries.forEach((e, i) => {
      const b = bboxOf(e.geometry);
      this.boxes.set([b.minLat, b.maxLat, b.minLng, b.maxLng], i * 4);
      this.items.push({ geometry: e.geometry, value: e.value, area: areaOf(e.geometry) });
    });
  }

  get size() {
    return this.items.length;
  }

  /** Every outline containing the point, the most specific first. */
  containing(lat: number, lng: number): T[] {
    const hits: { value: T; area: number }[] = [];
    const b = this.boxes;
    for (let i = 0; i < this.items.length; i++) {
      const o = i * 4;
      if (lat < b[o] || lat > b[o + 1] || lng < b[o + 2] || lng > b[o + 3]) continue;
      const it = this.items[i];
      if (pointInGeometry(lat, lng, it.geometry)) hits.push(it);
    }
    return hits.sort((a, c) => c.value.depth - a.value.depth || a.area - c.area).map((h) => h.value);
  }
}
