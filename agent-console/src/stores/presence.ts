/**
 * Presence (坐席状态): this agent's own status, sent over the live connection, and everyone's, for
 * supervisors (GET /live/presence, then presence.changed events).
 */
import { reactive, readonly } from 'vue';
import type { AgentPresence, PresenceStatus } from '../api/types';

export const PRESENCE_STATUSES: PresenceStatus[] = ['available', 'busy', 'on_call', 'after_call', 'break'];

const state = reactive({
  mine: 'busy' as PresenceStatus,
  since: new Date().toISOString(),
  agents: new Map<string, AgentPresence>(),
});
export const presence = readonly(state);

const listeners = new Set<(status: PresenceStatus) => void>();
/** The live connection listens, to tell the hub. */
export function onMyPresence(fn: (status: PresenceStatus) => void) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export const presenceActions = {
  setMine(status: PresenceStatus) {
    if (status === state.mine) return;
    state.mine = status;
    state.since = new Date().toISOString();
    listeners.forEach((fn) => fn(status));
  },
  /** What the hub says this agent is (after a reconnect or from another tab). */
  adoptMine(status: PresenceStatus) {
    if (PRESENCE_STATUSES.includes(status) && status !== state.mine) {
      state.mine = status;
      state.since = new Date().toISOString();
    }
  },
  setAll(list: AgentPresence[]) {
    state.agents = new Map(list.map((a) => [a.userId, a]));
  },
  changed(data: unknown, at?: string) {
    const d = (data ?? {}) as Partial<AgentPresence> & { id?: string };
    const userId = d.userId ?? d.id;
    if (!userId || !d.status) return;
    const prev = state.agents.get(userId);
    const stamp = d.since ?? d.at ?? at ?? null;
    if (prev && stamp && (prev.since ?? prev.at) && Date.parse(stamp) < Date.parse((prev.since ?? prev.at)!)) return;
    state.agents.set(userId, { ...prev, ...d, userId, since: stamp ?? prev?.since ?? null } as AgentPresence);
  },
};
