/**
 * Who is logged in (会话) and where each role works. The cookie is HttpOnly: the console learns the
 * session from GET /auth/me and forgets it on any 401.
 */
import { reactive, readonly } from 'vue';
import { authApi } from '../api/auth';
import { ApiError, onUnauthorized } from '../api/http';
import type { Me, Role } from '../api/types';

type Status = 'unknown' | 'anonymous' | 'authenticated';

const state = reactive({
  status: 'unknown' as Status,
  user: null as Me | null,
  /** Set when a 401 sent the user back to the login page mid-work. */
  expired: false,
});

export const session = readonly(state);

const listeners = new Set<(user: Me | null) => void>();
/** Called on login and logout (the live connection follows the session). */
export function onSessionChange(fn: (user: Me | null) => void) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
const changed = () => listeners.forEach((fn) => fn(state.user));

export async function loadSession(): Promise<Me | null> {
  try {
    state.user = await authApi.me();
    state.status = 'authenticated';
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      state.user = null;
      state.status = 'anonymous';
    } else throw e;
  }
  changed();
  return state.user;
}

export async function login(username: string, password: string): Promise<Me> {
  await authApi.login(username, password);
  state.expired = false;
  const me = await authApi.me();
  state.user = me;
  state.status = 'authenticated';
  changed();
  return me;
}

/** The user changed their password: the session goes on, now without a required change. */
export async function changePassword(currentPassword: string, newPassword: string): Promise<{ sessionsEnded: number }> {
  const result = await authApi.changePassword(currentPassword, newPassword);
  if (state.user?.passwordChangeRequired) await loadSession();
  return result;
}

export async function logout() {
  try {
    await authApi.logout();
  } finally {
    state.user = null;
    state.status = 'anonymous';
    changed();
  }
}

onUnauthorized(() => {
  if (state.status !== 'authenticated') return;
  state.user = null;
  state.status = 'anonymous';
  state.expired = true;
  changed();
});

export const CENTER_ROLES: readonly Role[] = ['agent', 'dispatcher', 'supervisor', 'admin'];
export const UNIT_ROLES: readonly Role[] = ['unit_handler', 'unit_manager'];
export const GRID_ROLES: readonly Role[] = ['grid_member', 'grid_leader', 'community_secretary', 'town_leader'];

export const isCenterRole = (r?: Role | null) => !!r && CENTER_ROLES.includes(r);
export const isUnitRole = (r?: Role | null) => !!r && UNIT_ROLES.includes(r);
export const isGridRole = (r?: Role | null) => !!r && GRID_ROLES.includes(r);

/** Each role lands in its own workspace. */
export function homeRouteOf(role: Role | undefined | null): string {
  switch (role) {
    case 'agent': return 'agent';
    case 'dispatcher': return 'dispatch';
    case 'unit_handler':
    case 'unit_manager': return 'unit';
    case 'supervisor':
    case 'admin': return 'supervise';
    case 'grid_member':
    case 'grid_leader':
    case 'community_secretary':
    case 'town_leader': return 'grid';
    default: return 'tickets';
  }
}
