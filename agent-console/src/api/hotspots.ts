/**
 * 热点预警 (hotspot warnings): the one module that speaks to reports/hotspots/hotspots.routes.ts.
 *
 *  GET  /hotspots?fromDay=&toDay=&minLevel=&status=a,b&categoryId=&territoryPath=&page=&pageSize= → {items, total, page, pageSize}
 *       one item per incident (热点事件): the overlapping warnings of one burst, headlined by the most specific, the others in `related`
 *  GET  /hotspots/:id → {warning, now:{tickets, callers}, tickets, hiddenTickets, trail}
 *  POST /hotspots/:id/acknowledge {version, note?} → the warning; 409 HOTSPOT_NOT_OPEN / VERSION_CONFLICT
 *  POST /hotspots/:id/dismiss {version, reason} → the warning
 *  POST /hotspots/:id/convert → {warning, ticket:{id, number}, linkedTickets}; twice gives the same ticket
 */
import { http } from './http';

export type HotspotLevelCode = 'blue' | 'yellow' | 'red';
export type HotspotStatus = 'open' | 'acknowledged' | 'dismissed' | 'converted';

export interface HotspotWarning {
  id: string;
  day: string;
  level: 1 | 2 | 3;
  levelCode: HotspotLevelCode;
  levelZh: string;
  basis: 'day' | 'window';
  categoryId: string;
  categoryName: string;
  territoryId: string;
  territoryName: string;
  territoryLevel: string;
  tickets: number;
  callers: number;
  baselineMean: number;
  status: HotspotStatus;
  statusZh: string;
  version: number;
  levelRaisedAt: string;
  proactiveTicketId: string | null;
  title: string;
  /** The incident's headline warning (its group fields above) and that warning's own level. */
  headlineWarningId: string;
  headlineLevel: number;
  /** The other warnings of the same burst (broader category or territory), most specific first. */
  related: HotspotRelatedLevel[];
}

export interface HotspotRelatedLevel {
  warningId: string;
  level: 1 | 2 | 3;
  levelCode: HotspotLevelCode;
  levelZh: string;
  categoryName: string;
  territoryName: string;
  tickets: number;
  callers: number;
  /** e.g. 滨江街道「城市建设和市政管理」 */
  label: string;
}

export interface HotspotPage {
  items: HotspotWarning[];
  total: number;
  page: number;
  pageSize: number;
}

const enc = encodeURIComponent;

export const hotspotsApi = {
  list: (q: { fromDay?: string; toDay?: string; status?: HotspotStatus[]; minLevel?: number; page?: number; pageSize?: number }) => http.get<HotspotPage>('/hotspots', { ...q }),
  acknowledge: (w: Pick<HotspotWarning, 'id' | 'version'>, note?: string) => http.post<HotspotWarning>(`/hotspots/${enc(w.id)}/acknowledge`, { version: w.version, note: note ?? null }),
  /** 转主动治理工单: idempotent on the server (the warning's own key), so a retry is safe. */
  convert: (id: string) => http.post<{ warning: HotspotWarning; ticket: { id: string; number: string }; linkedTickets: number }>(`/hotspots/${enc(id)}/convert`),
};
