/**
 * The texts (短信模板), in handlebars, per kind of message. Every city gets these defaults; a city
 * preset overrides any of them (`settings.sms.templates` in city.json) or turns one off with an empty
 * string. The operator's signature (签名, e.g. 【诸城12345】) starts every text: carriers refuse texts
 * without the registered one.
 *
 * What a template may use is the {@link TemplateContext}; `{{time x}}` prints a time as 12月5日17:30
 * (China time), `{{cut x 20}}` keeps the first 20 characters (a long title must not turn a unit's
 * notice into five texts).
 */
import Handlebars from 'handlebars';

export interface TemplateContext {
  ticketNumber?: string | null;
  title?: string | null;
  place?: string | null;
  category?: string | null;
  unitName?: string | null;
  /** When the unit must act by (ISO). */
  actBy?: string | null;
  /** The code a unit replies with (签收 123456). */
  code?: string | null;
  result?: string | null;
  reason?: string | null;
  /** Free text of a reply (what went wrong, what was done). */
  detail?: string | null;
  round?: number | null;
  urgencyZh?: string | null;
}

/** Defaults; keys are the message kinds. Units' texts carry the code; citizens' never a unit staff name. */
export const DEFAULT_TEMPLATES: Readonly<Record<string, string>> = {
  // To units (承办单位值班手机)
  'workorder.dispatched':
    '{{#if urgencyZh}}【{{urgencyZh}}】{{/if}}工单{{ticketNumber}}：{{cut title 24}}。地点：{{cut place 24}}。请于{{time actBy}}前签收。回复“签收 {{code}}”签收，办结回复“办结 {{code}} 办理结果”。',
  'workorder.second_handling':
    '工单{{ticketNumber}}群众不满意，转二次办理：{{cut title 24}}。请于{{time actBy}}前签收，回复“签收 {{code}}”。',
  'workorder.rework': '工单{{ticketNumber}}办理结果未通过审核，请重新办理：{{cut reason 30}}。办结回复“办结 {{code}} 办理结果”。',
  'workorder.reminder': '提醒：工单{{ticketNumber}}（{{cut title 20}}）将于{{time actBy}}到期，请抓紧办理。回复“签收 {{code}}”或“办结 {{code}} 办理结果”。',
  'workorder.overdue': '工单{{ticketNumber}}（{{cut title 20}}）已超过{{time actBy}}的办理时限，请立即办理并反馈。',
  'supervision.raised': '督办：工单{{ticketNumber}}（{{cut title 20}}）{{cut reason 30}}。请于{{time actBy}}前办理反馈。',
  'workorder.extension_granted': '工单{{ticketNumber}}延期申请已同意，新的办结时限为{{time actBy}}。',
  'workorder.extension_refused': '工单{{ticketNumber}}延期申请未同意：{{cut reason 30}}。请于{{time actBy}}前办结。',
  'workorder.return_refused': '工单{{ticketNumber}}退回申请未同意：{{cut reason 30}}。请于{{time actBy}}前签收办理，回复“签收 {{code}}”。',
  // To citizens
  'ticket.receipt': '您反映的问题已受理，工单编号{{ticketNumber}}，我们将尽快转交有关单位办理。',
  'ticket.result': '您反映的问题（工单{{ticketNumber}}）办理结果：{{cut result 120}}',
  'callback.survey': '您反映的问题（工单{{ticketNumber}}）已办理，请评价：回复1满意，2基本满意，3不满意。回复TD退订评价短信。',
  // Answers to texts in
  'reply.draft_received': '您的短信已收到，工作人员将尽快为您登记，受理后将短信告知工单编号。紧急情况请拨打12345。',
  'reply.survey_thanks': '感谢您对工单{{ticketNumber}}的评价：{{detail}}。',
  'reply.survey_unknown': '未找到需要您评价的工单。如需反映问题，请直接发送问题内容或拨打12345。',
  'reply.opted_out': '您已退订12345评价短信，办理进度仍会短信告知。',
  'reply.command_done': '工单{{ticketNumber}}已{{detail}}。',
  'reply.command_failed': '工单{{ticketNumber}}未能{{detail}}：{{cut reason 40}}',
  'reply.command_unknown_code': '未找到编号为{{code}}的待办工单，请核对短信中的处理码。格式：签收 处理码；办结 处理码 办理结果。',
  'reply.command_malformed': '指令格式有误。格式：签收 处理码；到场 处理码；办结 处理码 办理结果；退回 处理码 原因。',
  'reply.command_unregistered': '本号码未登记为承办单位值班手机，不能办理工单。请联系12345热线中心登记。',
};

/** Kinds a city may configure (the defaults' keys). */
export const TEMPLATE_KINDS = Object.keys(DEFAULT_TEMPLATES);

const hb = Handlebars.create();
const CHINA = new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
hb.registerHelper('time', (iso: unknown) => {
  if (typeof iso !== 'string' || !iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = Object.fromEntries(CHINA.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.month}月${p.day}日${p.hour}:${p.minute}`;
});
hb.registerHelper('cut', (v: unknown, n: unknown) => {
  const s = typeof v === 'string' ? v.replace(/\s+/g, ' ').trim() : '';
  const max = typeof n === 'number' ? n : 30;
  const chars = [...s];
  return chars.length > max ? chars.slice(0, max - 1).join('') + '…' : s;
});

const compiled = new Map<string, HandlebarsTemplateDelegate>();
function compile(source: string) {
  let t = compiled.get(source);
  if (!t) {
    // Texts, not HTML: nothing is escaped (a title with & or < is sent as written).
    t = hb.compile(source, { noEscape: true, strict: false });
    compiled.set(source, t);
  }
  return t;
}

/** Checks a city's templates at import: each must compile. Returns the kinds that do not. */
export function invalidTemplates(templates: Record<string, string>): { kind: string; error: string }[] {
  const bad: { kind: string; error: string }[] = [];
  for (const [kind, source] of Object.entries(templates)) {
    try {
      compile(source)({});
    } catch (err) {
      bad.push({ kind, error: (err as Error).message });
    }
  }
  return bad;
}

/**
 * The text of one message, signature first; null when the city turned this kind off (an empty
 * template) or there is no template for it.
 */
export function renderText(kind: string, ctx: TemplateContext, city: { signature: string; templates?: Record<string, string> }): string | null {
  const source = city.templates?.[kind] ?? DEFAULT_TEMPLATES[kind];
  if (!source) return null;
  const body = compile(source)(ctx).trim();
  return body ? `${city.signature}${body}` : null;
}
