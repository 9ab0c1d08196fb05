/**
 * SMS (短信): work-order notices to units' duty phones, receipts, results and surveys to citizens,
 * and texts into the hotline, over SMPP, Kannel, a provider's webhook or a log file, nothing lost.
 */
export type { OutboundSms, SubmitResult, DeliveryReceipt, InboundSms, ReceiptState, SmsGateway, GatewayConfig } from './ports';
export { GatewayError } from './ports';
export { planSegments, splitText, encodingOf, type SegmentPlan, type SmsEncoding } from './domain/segments';
export { createGateway, createLogGateway, createSmppGateway, createKannelGateway, createWebhookGateway, withRateLimit, createFailoverGateway, createGatewaysFromConfig, type FailoverGateway, type GatewayLogger } from './gateways';
