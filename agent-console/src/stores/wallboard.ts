/** 实时监控 (the supervisors' wallboard): the last numbers the telephony part pushed. */
import { reactive, readonly } from 'vue';
import type { Wallboard } from '../api/telephony';

const state = reactive({ board: null as Wallboard | null });
export const wallboard = readonly(state);

export const wallboardActions = {
  set(data: unknown) {
    const b = data as Wallboard | null;
    if (!b || !Array.isArray(b.queues)) return;
    // An older snapshot arriving late is ignored.
    if (state.board && Date.parse(b.at) < Date.parse(state.board.at)) return;
    state.board = b;
  },
};
