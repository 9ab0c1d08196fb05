/**
 * Who may receive a live event (推送范围). The same data scopes (数据权限) as tickets: the hotline
 * center sees the whole city, a handling unit (承办单位) only what names it, a grid or town role
 * (网格/镇街) only what happens inside its territory; a personal event names its users.
 */
import { CENTER_ROLES, GRID_ROLES, UNIT_ROLES, type Actor, type Role } from '../../core';

/**
 * Who an event is for. A receiver of the event's city gets it when any line matches:
 * - `center`: every hotline-center role (agent, dispatcher, supervisor, admin);
 * - `unitIds`: unit roles (unit_handler, unit_manager) of one of these units;
 * - `territoryPaths`: grid and town roles whose territory contains one of these paths;
 * - `userIds`: these users (or API keys) by id, whatever their role: personal events.
 *
 * `roles`, when given, narrows the first three lines to these roles (e.g. presence to supervisors);
 * it never narrows `userIds`.
 */
export interface Audience {
  center: boolean;
  unitIds?: string[];
  territoryPaths?: string[];
  userIds?: string[];
  roles?: Role[];
}

/** What the hub knows of a connected console: the part of the actor that decides scope. */
export type Viewer = Pick<Actor, 'id' | 'role' | 'cityId' | 'unitId' | 'territoryPath'>;

/** Which of the event's two payloads a viewer gets: the center's, or the one for everyone else. */
export type PayloadKind = 'center' | 'outside';

/** The viewer's scope, exactly as intake's `ticketScopeOf` draws it for tickets. */
export type ViewerScope = { kind: 'center' } | { kind: 'unit'; unitId: string } | { kind: 'territory'; path: string } | { kind: 'none' };

export function scopeOf(v: Viewer): ViewerScope {
  if (CENTER_ROLES.has(v.role)) return { kind: 'center' };
  if (UNIT_ROLES.has(v.role)) return v.unitId ? { kind: 'unit', unitId: v.unitId } : { kind: 'none' };
  if (GRID_ROLES.has(v.role)) return v.territoryPath ? { kind: 'territory', path: v.territoryPath } : { kind: 'none' };
  return { kind: 'none' };
}

/** Whether an event of `cityId` with this audience reaches the viewer. */
export function mayReceive(v: Viewer, cityId: string, a: Audience): boolean {
  if (v.cityId !== cityId) return false;
  if (v.id && a.userIds?.includes(v.id)) return true;
  if (a.roles && !a.roles.includes(v.role)) return false;
  const s = scopeOf(v);
  switch (s.kind) {
    case 'center':
      return a.center;
    case 'unit':
      return !!a.unitIds?.includes(s.unitId);
    case 'territory':
      return !!a.territoryPaths?.some((p) => p.startsWith(s.path));
    default:
      return false;
  }
}

/**
 * The payload a viewer gets: the center's (which may hold a citizen's phone number) only for
 * center roles; everyone else, personal events included, gets the outside payload.
 */
export function payloadKindOf(v: Pick<Viewer, 'role'>): PayloadKind {
  return CENTER_ROLES.has(v.role) ? 'center' : 'outside';
}

/** Problems of an audience a producer gave (empty when fine): an event nobody could receive is a bug. */
export function audienceProblems(a: Audience): string[] {
  const problems: string[] = [];
  const ids = (name: string, list: string[] | undefined) => {
    if (list && (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || x.length === 0 || x.includes('|')))) {
      problems.push(`${name} must be non-empty strings without '|'`);
    }
  };
  ids('unitIds', a.unitIds);
  ids('userIds', a.userIds);
  ids('territoryPaths', a.territoryPaths);
  if (a.territoryPaths?.some((p) => !p.startsWith('/') || !p.endsWith('/'))) problems.push("territoryPaths are '/a/b/' paths");
  const anyone = a.center || !!a.unitIds?.length || !!a.territoryPaths?.length || !!a.userIds?.length;
  if (!anyone) problems.push('the audience names nobody');
  return problems;
}

/** The audience without empty lists, as stored and sent between nodes. */
export function normalizeAudience(a: Audience): Audience {
  const out: Audience = { center: !!a.center };
  if (a.unitIds?.length) out.unitIds = [...new Set(a.unitIds)];
  if (a.territoryPaths?.length) out.territoryPaths = [...new Set(a.territoryPaths)];
  if (a.userIds?.length) out.userIds = [...new Set(a.userIds)];
  if (a.roles?.length) out.roles = [...new Set(a.roles)];
  return out;
}
