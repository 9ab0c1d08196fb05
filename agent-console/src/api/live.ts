import { http } from './http';
import type { AgentPresence } from './types';

/** The live hub's HTTP side (GET /api/v1/live/presence); the WebSocket is in realtime/. */
export const liveApi = {
  presence: async (): Promise<AgentPresence[]> => {
    const r = await http.get<AgentPresence[] | { items: AgentPresence[] }>('/live/presence');
    return Array.isArray(r) ? r : r.items ?? [];
  },
};
