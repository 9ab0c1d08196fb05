/**
 * SMS (短信): work-order notices to units' duty phones, receipts, results and surveys to citizens,
 * and texts into the hotline, over SMPP, Kannel, a provider's webhook or a log file, nothing lost.
 */
export type { OutboundSms, SubmitResult, DeliveryReceipt, InboundSms, ReceiptState, SmsGateway, GatewayConfig, SmsLookups, SmsCommandPort, SmsLiveEvent, CitySms } from './ports';
export { GatewayError } from './ports';
export { planSegments, splitText, encodingOf, type SegmentPlan, type SmsEncoding } from './domain/segments';
export { createGateway, createLogGateway, createSmppGateway, createKannelGateway, createWebhookGateway, withRateLimit, createFailoverGateway, createGatewaysFromConfig, type FailoverGateway, type GatewayLogger } from './gateways';
export { DEFAULT_TEMPLATES, TEMPLATE_KINDS, renderText, invalidTemplates, type TemplateContext } from './domain/templates';
export { readInboundText, type InboundIntent } from './domain/inbound-text';
export { notBeforeQuietEnd, DEFERRABLE_KINDS, type QuietHours } from './domain/quiet-hours';
/**
 * The SMS service: `createSmsService(deps)`; app/ gives it the gateways (failover + rate limits),
 * lookups over the directory and intake, the work-order and intake commands a text may carry, and the
 * live feed. `deliverNotice` is the notification outbox's SMS sink; `queueWithin` queues a text inside
 * another part's transaction; `deliverDue` is the delivery run (a job); `receive`/`applyReceipt` take
 * what the gateways bring.
 */
export {
  createSmsService, toMessageView, retryDelayMs, MESSAGE_STATE_ZH,
  type SmsService, type SmsDeps, type QueueInput, type SmsMessageView,
} from './sms.service';
export { toInboundView, type SmsInboundView } from './inbound';
export { smsRoutes, type SmsRoutesOptions } from './sms.routes';
