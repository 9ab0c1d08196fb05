/**
 * Dates shown the way the hotline works: China time (UTC+8) whatever the PC's time zone, as the API
 * stores and the deadlines are computed.
 */
const TZ = 'Asia/Shanghai';

const dateTimeFmt = new Intl.DateTimeFormat('zh-CN', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
const shortFmt = new Intl.DateTimeFormat('zh-CN', { timeZone: TZ, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
const timeFmt = new Intl.DateTimeFormat('zh-CN', { timeZone: TZ, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

const valid = (s: string | null | undefined): Date | null => {
  if (!s) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
};

/** 2025/10/09 10:00 */
export const formatDateTime = (s: string | null | undefined) => {
  const d = valid(s);
  return d ? dateTimeFmt.format(d) : '';
};
/** 10/09 10:00 */
export const formatShort = (s: string | null | undefined) => {
  const d = valid(s);
  return d ? shortFmt.format(d) : '';
};
/** 10:00:05 */
export const formatTime = (s: string | null | undefined) => {
  const d = valid(s);
  return d ? timeFmt.format(d) : '';
};

/** An instant as ISO 8601 with the +08:00 offset, the form the API takes. */
export function toChinaIso(d: Date): string {
  const shifted = new Date(d.getTime() + 8 * 3_600_000);
  return `${shifted.toISOString().slice(0, 19)}+08:00`;
}

/** 2时05分 / 3天4时 style durations. */
export function formatDuration(ms: number, locale: string): string {
  const total = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const p2 = (n: number) => String(n).padStart(2, '0');
  if (locale === 'en') return d > 0 ? `${d}d ${p2(h)}h ${p2(m)}m` : `${p2(h)}:${p2(m)}:${p2(s)}`;
  return d > 0 ? `${d}天${p2(h)}时${p2(m)}分` : `${p2(h)}:${p2(m)}:${p2(s)}`;
}

/** 138****0000: numbers for people outside the center come masked from the API already. */
export const phoneText = (p: string | null | undefined) => p ?? '';
