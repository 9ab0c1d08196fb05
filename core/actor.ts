/**
 * Who is acting. Roles (角色) of the hotline; the hotline center's roles see citizens' phone numbers,
 * everyone else sees them masked.
 */
export const Role = {
  agent: 'agent', // 话务员/受理员
  dispatcher: 'dispatcher', // 派单/审核员
  unitHandler: 'unit_handler', // 承办单位经办人
  unitManager: 'unit_manager', // 承办单位负责人
  gridMember: 'grid_member', // 网格员
  gridLeader: 'grid_leader', // 网格长
  communitySecretary: 'community_secretary', // 社区书记
  townLeader: 'town_leader', // 镇街分管负责同志
  supervisor: 'supervisor', // 督查/领导
  admin: 'admin', // 系统管理员
  system: 'system', // the product itself: jobs, gateways
} as const;
export type Role = (typeof Role)[keyof typeof Role];

export const ALL_ROLES = Object.values(Role).filter((r) => r !== 'system') as Exclude<Role, 'system'>[];

/** The hotline center (12345 管理办公室): sees every ticket of the city and unmasked numbers. */
export const CENTER_ROLES: ReadonlySet<Role> = new Set([Role.agent, Role.dispatcher, Role.supervisor, Role.admin, Role.system]);
export const UNIT_ROLES: ReadonlySet<Role> = new Set([Role.unitHandler, Role.unitManager]);
export const GRID_ROLES: ReadonlySet<Role> = new Set([Role.gridMember, Role.gridLeader, Role.communitySecretary, Role.townLeader]);

export interface Actor {
  kind: 'user' | 'api_key' | 'system';
  id: string | null;
  name: string;
  role: Role;
  cityId: string;
  unitId: string | null;
  territoryId: string | null;
  /** The territory subtree the actor answers for ('/d/s/c/' path), for grid and town roles. */
  territoryPath: string | null;
}

export interface CommandContext {
  actor: Actor;
  requestId?: string;
  idempotencyKey?: string;
}

export const isCenter = (a: Pick<Actor, 'role'>) => CENTER_ROLES.has(a.role);
/** The hotline center's seats (坐席): the people who take calls and route work, with a seat status on the board. */
export const SEAT_ROLES: ReadonlySet<Role> = new Set([Role.agent, Role.dispatcher]);
export const isSeat = (a: Pick<Actor, 'role' | 'kind'>) => a.kind === 'user' && SEAT_ROLES.has(a.role);

export const systemActor = (cityId: string, name = 'system'): Actor => ({
  kind: 'system',
  id: null,
  name,
  role: Role.system,
  cityId,
  unitId: null,
  territoryId: null,
  territoryPath: null,
});
