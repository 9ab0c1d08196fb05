/**
 * What a text into the hotline says: a unit's command (签收/到场/办结/退回 + the work order's code),
 * a survey answer (1 满意 / 2 基本满意 / 3 不满意), an opt-out (退订, TD), or anything else (a
 * citizen's request, which an agent turns into a ticket).
 */
export type Satisfaction = 'satisfied' | 'basically_satisfied' | 'unsatisfied';

export type InboundIntent =
  | { kind: 'command'; action: 'acknowledge' | 'on_site' | 'reply' | 'return'; code: string; text: string | null }
  | { kind: 'malformed_command'; action: string }
  | { kind: 'survey'; satisfaction: Satisfaction }
  | { kind: 'opt_out' }
  | { kind: 'free_text' };

const ACTIONS: Record<string, 'acknowledge' | 'on_site' | 'reply' | 'return'> = {
  签收: 'acknowledge', QS: 'acknowledge',
  到场: 'on_site', DC: 'on_site',
  办结: 'reply', BJ: 'reply', 反馈: 'reply',
  退回: 'return', TH: 'return',
};

export const SATISFACTION_ZH: Record<Satisfaction, string> = { satisfied: '满意', basically_satisfied: '基本满意', unsatisfied: '不满意' };

/** Full-width digits and spaces, as Chinese input methods type them, read as ASCII. */
function normalize(text: string): string {
  return text
    .replace(/[\uFF10-\uFF19]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xff10 + 48))
    .replace(/[\uFF21-\uFF3A\uFF41-\uFF5A]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[\u3000\s]+/g, ' ')
    .replace(/[：:，,]/g, ' ')
    .trim();
}

export function readInboundText(raw: string): InboundIntent {
  const text = normalize(raw);
  const head = /^(签收|到场|办结|反馈|退回|QS|DC|BJ|TH)(?=$|\s|\d)/i.exec(text);
  if (head) {
    const word = head[1]!;
    const action = ACTIONS[word.toUpperCase()] ?? ACTIONS[word]!;
    const rest = text.slice(word.length).trim();
    const m = /^(\d{6})(?:\s+(.*))?$/s.exec(rest);
    if (!m) return { kind: 'malformed_command', action };
    const more = m[2]?.trim() || null;
    if ((action === 'reply' || action === 'return') && !more) return { kind: 'malformed_command', action };
    return { kind: 'command', action, code: m[1]!, text: more };
  }
  if (/^(TD|T|退订|取消订阅|N)$/i.test(text)) return { kind: 'opt_out' };
  const survey = /^(1|2|3|满意|基本满意|不满意|非常满意)[。.!！]?$/.exec(text);
  if (survey) {
    const v = survey[1]!;
    const satisfaction: Satisfaction = v === '1' || v === '满意' || v === '非常满意' ? 'satisfied' : v === '2' || v === '基本满意' ? 'basically_satisfied' : 'unsatisfied';
    return { kind: 'survey', satisfaction };
  }
  return { kind: 'free_text' };
}
