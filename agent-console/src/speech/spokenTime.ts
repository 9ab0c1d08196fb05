/**
 * 发生时间 from what the caller said ("昨天晚上八点半", "今天下午3点20", "前天 9:15"): a China-time
 * instant, or null when the phrase names no hour (then the agent picks the time). Day words:
 * 今天/昨天/前天/大前天/N天前; periods: 凌晨 早上 上午 中午 下午 傍晚 晚上 夜里; hours in digits or
 * Chinese numerals, 半 and N分.
 */
const DIGITS: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

/** 0–99 in Chinese numerals or digits. */
export function chineseNumber(s: string): number | null {
  if (/^\d+$/.test(s)) return Number(s);
  if (!/^[零〇一二两三四五六七八九十]+$/.test(s)) return null;
  const ten = s.indexOf('十');
  if (ten < 0) return s.length === 1 ? DIGITS[s] : null;
  const tens = ten === 0 ? 1 : DIGITS[s.slice(0, ten)];
  const ones = ten === s.length - 1 ? 0 : DIGITS[s.slice(ten + 1)];
  return tens === undefined || ones === undefined ? null : tens * 10 + ones;
}

const NUM = '(\\d{1,2}|[零〇一二两三四五六七八九十]{1,3})';
const DAY = /(大前天|前天|昨天|昨日|今天|今日|(\d+|[一二两三四五六七八九十]+)天前)/;
const PERIOD = /(凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|夜间)/;
const CLOCK = new RegExp(`${NUM}\\s*[点點时:：]\\s*(半|${NUM}\\s*分?)?`);

export function parseSpokenTime(text: string, now: Date): Date | null {
  const clock = text.match(CLOCK);
  if (!clock) return null;
  let hour = chineseNumber(clock[1]);
  const minute = clock[2] === '半' ? 30 : clock[3] ? chineseNumber(clock[3]) : 0;
  if (hour === null || minute === null || hour > 24 || minute > 59) return null;
  const period = text.match(PERIOD)?.[1];
  if (period && ['下午', '傍晚', '晚上', '夜里', '夜间'].includes(period) && hour < 12) hour += 12;
  if (period === '中午' && hour < 6) hour += 12;
  if (hour === 24) hour = 0;
  const day = text.match(DAY);
  let back = 0;
  if (day) {
    const w = day[1];
    back = w === '大前天' ? 3 : w === '前天' ? 2 : w === '昨天' || w === '昨日' ? 1 : w === '今天' || w === '今日' ? 0 : chineseNumber(day[2]) ?? 0;
  }
  // China time has no DST: shift by 8 h, set the wall-clock fields in UTC, shift back.
  const china = new Date(now.getTime() + 8 * 3_600_000);
  china.setUTCDate(china.getUTCDate() - back);
  china.setUTCHours(hour, minute, 0, 0);
  let at = new Date(china.getTime() - 8 * 3_600_000);
  // "八点" said at 07:00 with no day word: last evening's or this morning's eight, never tomorrow's.
  if (!day && at.getTime() > now.getTime() + 10 * 60_000) at = new Date(at.getTime() - 86_400_000);
  return at;
}
