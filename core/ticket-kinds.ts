/**
 * The kinds of ticket (工单类型) and their urgency (紧急程度), shared by intake, routing, work orders
 * and the city presets. Stored as these language-independent codes; the Chinese labels are what
 * agents and citizens see (the six types used by 12345 centers).
 */
export const TicketType = {
  consultation: 'consultation', // 咨询
  help: 'help', // 求助
  complaint: 'complaint', // 投诉
  report: 'report', // 举报
  suggestion: 'suggestion', // 建议
  praise: 'praise', // 表扬
} as const;
export type TicketType = (typeof TicketType)[keyof typeof TicketType];

export const TICKET_TYPES = Object.values(TicketType) as TicketType[];

export const TicketTypeLabelZh: Readonly<Record<TicketType, string>> = {
  consultation: '咨询',
  help: '求助',
  complaint: '投诉',
  report: '举报',
  suggestion: '建议',
  praise: '表扬',
};

export const Urgency = {
  normal: 'normal', // 一般
  urgent: 'urgent', // 紧急
  emergency: 'emergency', // 特急 (危及人身财产安全)
} as const;
export type Urgency = (typeof Urgency)[keyof typeof Urgency];

export const URGENCIES = Object.values(Urgency) as Urgency[];

export const UrgencyLabelZh: Readonly<Record<Urgency, string>> = {
  normal: '一般',
  urgent: '紧急',
  emergency: '特急',
};

/** A ticket type from its code or its Chinese label ('投诉' → 'complaint'); null when neither. */
export function parseTicketType(s: string): TicketType | null {
  const v = s.trim();
  if ((TICKET_TYPES as string[]).includes(v)) return v as TicketType;
  const hit = (Object.entries(TicketTypeLabelZh) as [TicketType, string][]).find(([, zh]) => zh === v);
  return hit ? hit[0] : null;
}

/** An urgency from its code or its Chinese label ('紧急' → 'urgent'); null when neither. */
export function parseUrgency(s: string): Urgency | null {
  const v = s.trim();
  if ((URGENCIES as string[]).includes(v)) return v as Urgency;
  const hit = (Object.entries(UrgencyLabelZh) as [Urgency, string][]).find(([, zh]) => zh === v);
  return hit ? hit[0] : null;
}

/** How a request reached the hotline (受理渠道). */
export const Channel = {
  phone: 'phone', // 电话 12345
  sms: 'sms', // 短信
  web: 'web', // 网站 / 政务服务网 / 微信小程序 form
  qr: 'qr', // 扫码 (有呼必应一码通: the code carries the building)
  grid: 'grid', // 网格员上报 (网格呼叫)
  app: 'app', // 城市服务 APP
  /** 主动发现 (未诉先办): the hotline's own ticket from a hotspot warning, not a citizen's request; reports count it apart (主动发现率). */
  proactive: 'proactive',
  /** 开放接口: a civic app's request through Open311 GeoReport v2 (the client is recorded with it). */
  open311: 'open311',
} as const;
export type Channel = (typeof Channel)[keyof typeof Channel];

export const CHANNELS = Object.values(Channel) as Channel[];

export const ChannelLabelZh: Readonly<Record<Channel, string>> = {
  phone: '电话',
  sms: '短信',
  web: '网站',
  qr: '扫码',
  grid: '网格上报',
  app: 'APP',
  proactive: '主动发现',
  open311: '开放接口',
};
