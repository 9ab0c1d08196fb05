import { http } from './http';
import type { HotlineLine, Page, Territory, Unit } from './types';

/** The directory (目录): units, territories, merged hotline numbers. */
export const directoryApi = {
  units: (q: { q?: string; kind?: string; page?: number; pageSize?: number } = {}) => http.get<Page<Unit>>('/units', { ...q }),
  unit: (id: string) => http.get<Unit>(`/units/${encodeURIComponent(id)}`),
  /** The city's districts (区县), for the queues' area filter. */
  districts: () => http.get<{ items: Territory[] }>('/territories'),
  /** The children of a territory (of one level, if given); without parentId, every territory of that level. */
  territories: (q: { parentId?: string; level?: Territory['level'] }) => http.get<{ items: Territory[] }>('/territories', { ...q }),
  territory: (id: string) => http.get<Territory>(`/territories/${encodeURIComponent(id)}`),
  hotlineLines: () => http.get<{ items: HotlineLine[] }>('/hotline-lines'),
  city: () => http.get<{ id: string; name: string; isDemo: boolean }>('/cities/current'),
};
