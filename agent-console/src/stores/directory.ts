/**
 * Reference data of the city, loaded once per session and shared: units (承办单位), the category
 * tree (问题分类), territories (属地) by id, and the merged hotline numbers (归并热线).
 */
import { reactive } from 'vue';
import { directoryApi } from '../api/directory';
import { routingApi } from '../api/routing';
import type { Category, HotlineLine, Territory, Unit } from '../api/types';

const state = reactive({
  units: [] as Unit[],
  categories: [] as Category[],
  lines: [] as HotlineLine[],
  territories: new Map<string, Territory>(),
});

let unitsLoad: Promise<Unit[]> | null = null;
let categoriesLoad: Promise<Category[]> | null = null;
let linesLoad: Promise<HotlineLine[]> | null = null;
const territoryLoads = new Map<string, Promise<Territory | null>>();

export const directory = {
  state,
  loadUnits(): Promise<Unit[]> {
    unitsLoad ??= (async () => {
      const all: Unit[] = [];
      for (let page = 1; page <= 50; page++) {
        const r = await directoryApi.units({ page, pageSize: 200 });
        all.push(...r.items);
        if (all.length >= r.total || r.items.length === 0) break;
      }
      state.units = all;
      return all;
    })().catch((e) => {
      unitsLoad = null;
      throw e;
    });
    return unitsLoad;
  },
  loadCategories(): Promise<Category[]> {
    categoriesLoad ??= routingApi.categories().then((c) => (state.categories = c)).catch((e) => {
      categoriesLoad = null;
      throw e;
    });
    return categoriesLoad;
  },
  loadLines(): Promise<HotlineLine[]> {
    linesLoad ??= directoryApi.hotlineLines().then((r) => (state.lines = r.items)).catch((e) => {
      linesLoad = null;
      throw e;
    });
    return linesLoad;
  },
  loadTerritory(id: string): Promise<Territory | null> {
    let p = territoryLoads.get(id);
    if (!p) {
      p = directoryApi.territory(id).then((t) => {
        state.territories.set(id, t);
        return t;
      }).catch(() => {
        territoryLoads.delete(id);
        return null;
      });
      territoryLoads.set(id, p);
    }
    return p;
  },
  unitName(id: string | null | undefined): string {
    if (!id) return '';
    return state.units.find((u) => u.id === id)?.name ?? '';
  },
  category(id: string | null | undefined): Category | undefined {
    return id ? state.categories.find((c) => c.id === id) : undefined;
  },
  categoryByCode(code: string | null | undefined): Category | undefined {
    return code ? state.categories.find((c) => c.code === code) : undefined;
  },
  /** 城乡建设 / 城市建设和市政管理 / 自来水供应 */
  categoryPath(id: string | null | undefined): string {
    const names: string[] = [];
    for (let c = directory.category(id); c; c = c.parentId ? directory.category(c.parentId) : undefined) names.unshift(c.name);
    return names.join(' / ');
  },
  /** 湖滨区 › 滨江街道 › 滨江社区 › 第一网格, once loaded. */
  territoryPath(id: string | null | undefined): string {
    if (!id) return '';
    const t = state.territories.get(id);
    if (!t) {
      void directory.loadTerritory(id);
      return '';
    }
    return [...(t.ancestors ?? []), t].map((x) => x.name).join(' › ');
  },
  lineName(number: string | null | undefined): string | null {
    if (!number) return null;
    return state.lines.find((l) => l.number === number)?.name ?? null;
  },
  reset() {
    unitsLoad = categoriesLoad = linesLoad = null;
    territoryLoads.clear();
    state.units = [];
    state.categories = [];
    state.lines = [];
    state.territories = new Map();
  },
};
