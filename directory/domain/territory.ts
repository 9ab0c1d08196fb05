/**
 * The territory (属地) and the handling units (承办单位): their kinds and the rules that hold
 * whatever stores them. Pure: no database, no HTTP.
 */

/** Levels of the territory, top down: 区/县 → 街道/镇 → 社区/村 → 网格. */
export const TerritoryLevel = {
  district: 'district', // 区/县
  street: 'street', // 街道/镇
  community: 'community', // 社区/村
  grid: 'grid', // 网格
} as const;
export type TerritoryLevel = (typeof TerritoryLevel)[keyof typeof TerritoryLevel];

export const TERRITORY_LEVELS: readonly TerritoryLevel[] = ['district', 'street', 'community', 'grid'];

export const TerritoryLevelLabelZh: Readonly<Record<TerritoryLevel, string>> = {
  district: '区/县',
  street: '街道/镇',
  community: '社区/村',
  grid: '网格',
};

/** The level a territory's parent must have: null for a district (the city itself is no territory row). */
export function parentLevelOf(level: TerritoryLevel): TerritoryLevel | null {
  const i = TERRITORY_LEVELS.indexOf(level);
  return i <= 0 ? null : TERRITORY_LEVELS[i - 1];
}

export const isTerritoryLevel = (s: string): s is TerritoryLevel => (TERRITORY_LEVELS as readonly string[]).includes(s);

/** Kinds of handling unit (承办单位). */
export const UnitKind = {
  department: 'department', // 市直部门
  utility: 'utility', // 水电气暖 公用事业单位
  district: 'district', // 区/县政府
  street: 'street', // 街道办事处/镇政府
  community: 'community', // 社区居委会/村委会
  company: 'company', // 其他公共服务企业 (通信、公交、出租车…)
  center: 'center', // 12345 热线管理办公室 / 综治中心
} as const;
export type UnitKind = (typeof UnitKind)[keyof typeof UnitKind];

export const UNIT_KINDS = Object.values(UnitKind) as UnitKind[];

export const UnitKindLabelZh: Readonly<Record<UnitKind, string>> = {
  department: '市直部门',
  utility: '公用事业单位',
  district: '区县政府',
  street: '镇街',
  community: '社区/村',
  company: '公共服务企业',
  center: '热线中心',
};

export const isUnitKind = (s: string): s is UnitKind => (UNIT_KINDS as string[]).includes(s);

/**
 * Territorial units (属地兜底) answer for one territory of the matching level: a street office for a
 * street, and so on. Other kinds may name a territory (a power supply station's area) or none.
 */
export function territoryLevelForUnitKind(kind: UnitKind): TerritoryLevel | null {
  if (kind === 'district' || kind === 'street' || kind === 'community') return kind;
  return null;
}

/** The `path` of a territory: its ancestors' ids and its own, '/a/b/c/'. */
export function childPath(parentPath: string | null, id: string): string {
  return `${parentPath ?? '/'}${id}/`;
}

/** The ids on a path, top down ('/a/b/c/' → ['a','b','c']). */
export function idsOfPath(path: string): string[] {
  return path.split('/').filter(Boolean);
}

/** Whether `path` lies within the subtree rooted at `rootPath` (itself included). */
export const isWithin = (path: string, rootPath: string): boolean => path.startsWith(rootPath);

/**
 * Orders rows so that every parent comes before its children (parents outside the rows count as
 * present). Rows caught in a cycle are returned apart, in `cyclic`.
 */
export function parentsFirst<T>(rows: readonly T[], key: (r: T) => string, parentKey: (r: T) => string | null): { ordered: T[]; cyclic: T[] } {
  const byKey = new Map(rows.map((r) => [key(r), r]));
  const state = new Map<string, 'visiting' | 'done' | 'cyclic'>();
  const ordered: T[] = [];
  const cyclic: T[] = [];
  const visit = (r: T): boolean => {
    const k = key(r);
    const s = state.get(k);
    if (s === 'done') return true;
    if (s === 'visiting' || s === 'cyclic') return false;
    state.set(k, 'visiting');
    const p = parentKey(r);
    const parent = p ? byKey.get(p) : undefined;
    const ok = parent ? visit(parent) : true;
    if (ok) {
      state.set(k, 'done');
      ordered.push(r);
    } else {
      state.set(k, 'cyclic');
      cyclic.push(r);
    }
    return ok;
  };
  for (const r of rows) visit(r);
  return { ordered, cyclic };
}
