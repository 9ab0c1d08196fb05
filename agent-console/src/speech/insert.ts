/**
 * Click-to-insert (转写插入): a phrase of the transcript into one of the six elements of the intake
 * form (发生时间 地点 人物 具体情形 诉求) or the title. Text fields take it after what is there; the
 * place replaces the address (one address, resolved again); the time is read from the phrase
 * ("昨天晚上八点半"), and when it names no hour it goes into the situation as 时间：… for the agent.
 */
import type { DraftFields } from '../composables/useTicketDraft';
import { toChinaIso } from '../composables/format';
import { parseSpokenTime } from './spokenTime';

export type InsertTarget = 'occurredAt' | 'place' | 'parties' | 'situation' | 'demand' | 'title';
export const INSERT_TARGETS: InsertTarget[] = ['occurredAt', 'place', 'parties', 'situation', 'demand', 'title'];

const appended = (cur: string, text: string) => {
  const c = cur.trim();
  return c ? `${c}${/[。！？；，,.!?;：:]$/.test(c) ? '' : '，'}${text}` : text;
};

/** Applies the insertion; says which form field to focus and whether the time could not be read. */
export function insertIntoDraft(
  f: Pick<DraftFields, 'occurredAt' | 'addressText' | 'territoryId' | 'parties' | 'situation' | 'demand' | 'title'>,
  target: InsertTarget,
  text: string,
  opts: { now: Date; timeNote: string },
): { focus: 'occurredAt' | 'addressText' | 'parties' | 'situation' | 'demand' | 'title'; timeUnparsed: boolean } {
  switch (target) {
    case 'occurredAt': {
      const at = parseSpokenTime(text, opts.now);
      if (at) {
        f.occurredAt = toChinaIso(at);
        return { focus: 'occurredAt', timeUnparsed: false };
      }
      f.situation = appended(f.situation, `${opts.timeNote}${text}`);
      return { focus: 'occurredAt', timeUnparsed: true };
    }
    case 'place':
      f.addressText = text;
      return { focus: 'addressText', timeUnparsed: false };
    case 'title':
      f.title = text.slice(0, 200);
      return { focus: 'title', timeUnparsed: false };
    default:
      f[target] = appended(f[target], text);
      return { focus: target, timeUnparsed: false };
  }
}
