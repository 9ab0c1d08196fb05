/**
 * Work orders on the live feed: every change of a work order (`workorder.changed`, for the unit's
 * countdown table and the dispatchers' queues) and every notice someone must act on
 * (`notification.sent`: reminders, overdue notices, escalations, supervision orders, returns to rule on).
 * A work order's summary holds no citizen data, so the unit gets the same summary as the center.
 */
import { Role } from '../core';
import type { Notification, NotificationSink, WorkOrderEvents } from '../workorders';
import type { EventBus } from '../core';
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import type { LiveEventInput } from './live.service';
import { stageOnFeed, type StagingFeed } from './ticket-feed';

/** The live event of a changed work order: the center and the unit that holds it. */
export function workOrderLiveEvent(e: WorkOrderEvents['workorder.changed']): LiveEventInput {
  const data = { workOrder: e.view, action: e.action };
  return { type: 'workorder.changed', cityId: e.workOrder.city_id, audience: { center: true, unitIds: [e.workOrder.unit_id] }, data, unitData: data };
}

/**
 * The live event of a notice, to whoever must act: a unit's handlers, its manager, a center role.
 * Notices to citizens are the SMS part's; they are not put on the feed.
 */
export function notificationLiveEvent(n: Notification): LiveEventInput | null {
  const data = { notification: n };
  switch (n.recipient.kind) {
    case 'unit':
      return { type: 'notification.sent', cityId: n.cityId, audience: { center: false, unitIds: [n.recipient.id] }, data, unitData: data };
    case 'unit_manager':
      return { type: 'notification.sent', cityId: n.cityId, audience: { center: false, unitIds: [n.recipient.id], roles: [Role.unitManager] }, data, unitData: data };
    case 'role':
      return { type: 'notification.sent', cityId: n.cityId, audience: { center: true, roles: [n.recipient.id as Role] }, data };
    case 'user':
      return { type: 'notification.sent', cityId: n.cityId, audience: { center: false, userIds: [n.recipient.id] }, data, unitData: data };
    default:
      return null;
  }
}

/**
 * The live feed as a notification sink of the work-order outbox: each notice becomes one
 * `notification.sent` event, keyed by the notice's id, so a notice the outbox delivers again (after
 * a node died mid-delivery) is still one event on the consoles. Awaited: the outbox marks a notice
 * delivered only once the event is stored.
 */
export function createLiveNotificationSink(live: { publish(e: LiveEventInput): Promise<unknown> }): NotificationSink {
  return {
    async deliver(n) {
      const e = notificationLiveEvent(n);
      if (e) await live.publish({ ...e, key: `notification:${n.id}` });
    },
  };
}

/** Subscribes the live feed to the work-order part's changes (staged in their transactions); returns the unsubscribe. */
export function publishWorkOrderEvents(events: EventBus<WorkOrderEvents, Kysely<DB>>, live: StagingFeed): () => void {
  return stageOnFeed(events, live, 'workorder.changed', workOrderLiveEvent);
}
