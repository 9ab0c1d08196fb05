/**
 * Change counters that list views watch to refetch (debounced): a live event whose record is not on
 * screen, or a reconnect (`resync`, Chatwoot's ReconnectService), bumps the topic.
 */
import { reactive, readonly } from 'vue';

const counters = reactive({ tickets: 0, workOrders: 0, callbacks: 0, presence: 0, resync: 0, sms: 0, hotspots: 0, reports: 0, callbackRequests: 0, gridCalls: 0, gridTasks: 0 });
export type ChangeTopic = keyof typeof counters;

export const changes = readonly(counters);

export function bump(topic: ChangeTopic) {
  counters[topic]++;
}
