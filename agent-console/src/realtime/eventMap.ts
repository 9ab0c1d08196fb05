/**
 * Live event types → store actions, in one map (Chatwoot's actionCable.js). A `prefix.*` key takes
 * every type under that prefix. Stores apply the staleness guard (version / updatedAt).
 */
import { bump } from '../stores/changes';
import { callsActions } from '../stores/calls';
import { audioEnded, audioStarted } from '../speech/browserRecognizer';
import { notificationsActions } from '../stores/notifications';
import { presenceActions } from '../stores/presence';
import { reportsActions } from '../stores/reports';
import { wallboardActions } from '../stores/wallboard';
import { ticketOfEvent, ticketsStore } from '../stores/tickets';
import { workOrderOfEvent, workOrdersStore } from '../stores/workOrders';
import type { LiveMessage } from './connection';

type Handler = (data: unknown, msg: LiveMessage) => void;

function ticketEvent(data: unknown) {
  const t = ticketOfEvent(data);
  const result = t ? ticketsStore.upsert(t) : 'new';
  // A ticket that no view has loaded yet may belong in one: let lists refetch.
  if (result === 'new' || result === 'applied') bump('tickets');
}

function workOrderEvent(data: unknown) {
  const w = workOrderOfEvent(data);
  const result = w ? workOrdersStore.upsert(w) : 'new';
  if (result === 'new' || result === 'applied') bump('workOrders');
}

export const EVENT_HANDLERS: Record<string, Handler> = {
  'ticket.created': ticketEvent,
  'ticket.updated': ticketEvent,
  'ticket.transitioned': ticketEvent,
  'workorder.*': workOrderEvent,
  'workorder.changed': (d) => {
    workOrderEvent(d);
    notificationsActions.workOrderChanged(d);
  },
  'notification.sent': (d) => notificationsActions.received(d),
  'callback.*': () => bump('callbacks'),
  'call.offered': (d, m) => callsActions.offered(d, m.at),
  'call.answered': (d) => callsActions.answered(d),
  'call.transcript': (d, m) => callsActions.transcript(d, m.at),
  'call.withdrawn': (d) => callsActions.withdrawn(d),
  // 浏览器端转写: the call's audio for this console's recognizer (direct messages, no seq, fields at the top).
  'call.audio.start': (_d, m) => audioStarted(m),
  'call.audio.end': (_d, m) => audioEnded(m),
  'call.ended': (d, m) => callsActions.ended(d, m.at),
  // 短信: a citizen's text in (sms.received), one registered or set aside (sms.inbound_handled), a text that failed (sms.failed).
  'sms.*': () => bump('sms'),
  // 热点预警: a warning raised or its level risen, acknowledged or converted.
  'hotspot.*': () => bump('hotspots'),
  // 报表: an export's progress, and a report ready (with its download link) or failed.
  'report.*': (d, m) => reportsActions.received(m.type, d),
  // 话务: a caller left a callback request; the wallboard's numbers; this agent let a call ring out (未接置忙).
  'telephony.callback_requested': () => bump('callbackRequests'),
  'telephony.wallboard': (d) => wallboardActions.set(d),
  'telephony.agent_not_ready': () => presenceActions.setMine('busy'),
  // 网格呼叫: a call raised, approved, sent back, escalated, rated; its reminders; a matter handled in the grid.
  'gridcall.*': () => bump('gridCalls'),
  'gridmatter.*': () => bump('gridCalls'),
  // 四级联动: a work order handed down to a grid (下派网格), the grid's report (网格反馈).
  'gridtask.*': () => bump('gridTasks'),
  'presence.changed': (d, m) => {
    presenceActions.changed(d, m.at);
    bump('presence');
  },
};

export function routeLiveMessage(msg: LiveMessage) {
  const exact = EVENT_HANDLERS[msg.type];
  if (exact) return exact(msg.data, msg);
  const dot = msg.type.indexOf('.');
  const wildcard = dot > 0 ? EVENT_HANDLERS[`${msg.type.slice(0, dot)}.*`] : undefined;
  wildcard?.(msg.data, msg);
}
