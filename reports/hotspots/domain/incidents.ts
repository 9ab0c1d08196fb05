/**
 * Hotspot incidents (热点事件): one burst of calls, one incident. A burst crosses the thresholds of
 * several groups at once (its category at levels 2 and 3 × its community and street); their
 * warnings overlap and tell of one event. Pure rules: no I/O.
 */

/** What the rules need of a warning: its group's paths (ids, '/a/b/') and levels. */
export interface IncidentMember {
  categoryPath: string;
  territoryPath: string;
  categoryLevel: number;
  /** 'street' | 'community' */
  territoryLevel: string;
}

const onOnePath = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);

/**
 * Two warnings tell of the same burst when each one's category is an ancestor-or-self of the
 * other's, and so is its territory (环境卫生 × 滨江社区 and 城市建设和市政管理 × 滨江街道 do;
 * 环境卫生 × 滨江社区 and 环境卫生 × 望湖社区 do not, nor do 环境卫生 and 市容秩序 in one community).
 */
export function overlaps(a: Pick<IncidentMember, 'categoryPath' | 'territoryPath'>, b: Pick<IncidentMember, 'categoryPath' | 'territoryPath'>): boolean {
  return onOnePath(a.categoryPath, b.categoryPath) && onOnePath(a.territoryPath, b.territoryPath);
}

const TERRITORY_RANK: Readonly<Record<string, number>> = { street: 2, community: 3 };

/**
 * Which of two warnings is more specific (the incident's headline): the deeper category first
 * (what the problem is decides who acts on it), then the smaller territory. > 0: `a` is.
 */
export function moreSpecific(a: Pick<IncidentMember, 'categoryLevel' | 'territoryLevel'>, b: Pick<IncidentMember, 'categoryLevel' | 'territoryLevel'>): number {
  return a.categoryLevel - b.categoryLevel || (TERRITORY_RANK[a.territoryLevel] ?? 0) - (TERRITORY_RANK[b.territoryLevel] ?? 0);
}

/**
 * The incident a warning belongs to: among the day's incidents whose headline it overlaps, the one
 * whose headline group has the most tickets today (a broader level crossed mostly because of that
 * burst), then the oldest, then by id (every node picks the same one). A broader warning over two
 * bursts of one street (two problems, or two communities) goes with the bigger; one that overlaps
 * no headline starts its own incident (undefined).
 */
export function incidentToJoin<T extends { headline: Pick<IncidentMember, 'categoryPath' | 'territoryPath'>; headlineTickets: number; raisedAt: string; id: string }>(
  warning: Pick<IncidentMember, 'categoryPath' | 'territoryPath'>, incidents: readonly T[],
): T | undefined {
  return incidents
    .filter((i) => overlaps(warning, i.headline))
    .sort((x, y) => y.headlineTickets - x.headlineTickets || (x.raisedAt < y.raisedAt ? -1 : x.raisedAt > y.raisedAt ? 1 : x.id < y.id ? -1 : x.id > y.id ? 1 : 0))[0];
}
