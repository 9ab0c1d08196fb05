/** The embedded notification sink: writes who must act, by when, to the log (SMS and the console add their own). */
import type { NotificationSink } from '../ports';

export function createLogNotificationSink(log: { info(obj: object, msg?: string): void } | null | undefined): NotificationSink {
  return {
    deliver(n) {
      // A citizen's number stays out of the log: only the recipient kind and the ticket.
      log?.info({ notification: n.event, recipient: n.recipient.kind === 'citizen' ? { kind: 'citizen' } : n.recipient, ticketId: n.ticketId, workOrderId: n.workOrderId, actBy: n.actBy }, 'notification');
    },
  };
}
