/**
 * A small cron reader for repeatable jobs: the in-process runner computes run times with it, and both
 * adapters validate patterns with it, so a pattern accepted on a laptop is accepted in production
 * (BullMQ reads the same pattern with cron-parser).
 *
 * Supported: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first; `*`,
 * `?` (as `*`, day fields), numbers, ranges `a-b`, steps (a star or range or start, then `/n`), lists `a,b`, month
 * names JAN–DEC and day names SUN–SAT; day-of-week 0–7 (0 and 7 are Sunday). When both day fields are
 * restricted, a day matches either (classic cron). Not supported: L, W, #, @yearly-style macros.
 */

export interface CronSpec {
  source: string;
  tz: string;
  hasSeconds: boolean;
  seconds: ReadonlySet<number>;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  daysOfWeek: ReadonlySet<number>;
  domRestricted: boolean;
  dowRestricted: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldDef {
  label: string;
  min: number;
  max: number;
  names?: string[];
  namesBase?: number;
}

const SECOND: FieldDef = { label: 'second', min: 0, max: 59 };
const MINUTE: FieldDef = { label: 'minute', min: 0, max: 59 };
const HOUR: FieldDef = { label: 'hour', min: 0, max: 23 };
const DOM: FieldDef = { label: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldDef = { label: 'month', min: 1, max: 12, names: MONTHS, namesBase: 1 };
const DOW: FieldDef = { label: 'day-of-week', min: 0, max: 7, names: DAYS, namesBase: 0 };

function cronError(expr: string, why: string): Error {
  return new Error(`jobs: invalid cron pattern "${expr}": ${why} (定时表达式无效)`);
}

function parseValue(expr: string, def: FieldDef, s: string): number {
  const upper = s.toUpperCase();
  if (def.names) {
    const i = def.names.indexOf(upper);
    if (i >= 0) return i + (def.namesBase ?? 0);
  }
  if (!/^\d+$/.test(s)) throw cronError(expr, `"${s}" is not a number in the ${def.label} field`);
  const n = Number(s);
  if (n < def.min || n > def.max) throw cronError(expr, `${n} is outside ${def.min}-${def.max} in the ${def.label} field`);
  return n;
}

function parseField(expr: string, def: FieldDef, text: string): { values: Set<number>; restricted: boolean } {
  const values = new Set<number>();
  let restricted = true;
  for (const item of text.split(',')) {
    if (item === '') throw cronError(expr, `empty list item in the ${def.label} field`);
    const [rangePart, stepPart, extra] = item.split('/');
    if (extra !== undefined) throw cronError(expr, `"${item}" has two steps`);
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) < 1) throw cronError(expr, `bad step "${stepPart}" in the ${def.label} field`);
      step = Number(stepPart);
    }
    let lo: number;
    let hi: number;
    if (rangePart === '*' || rangePart === '?') {
      if (rangePart === '?' && def !== DOM && def !== DOW) throw cronError(expr, `"?" is only allowed in the day fields`);
      lo = def.min;
      hi = def === DOW ? 6 : def.max;
      if (stepPart === undefined && text === rangePart) restricted = false;
    } else if (rangePart.includes('-')) {
      const [a, b, more] = rangePart.split('-');
      if (more !== undefined) throw cronError(expr, `bad range "${rangePart}"`);
      lo = parseValue(expr, def, a);
      hi = parseValue(expr, def, b);
      if (lo > hi) throw cronError(expr, `range "${rangePart}" runs backwards`);
    } else {
      lo = parseValue(expr, def, rangePart);
      hi = stepPart !== undefined ? (def === DOW ? 6 : def.max) : lo;
    }
    for (let v = lo; v <= hi; v += step) values.add(def === DOW && v === 7 ? 0 : v);
  }
  return { values, restricted };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
      });
    } catch {
      throw new Error(`jobs: unknown time zone "${tz}" (时区无效)`);
    }
    formatters.set(tz, f);
  }
  return f;
}

/** Offset of `tz` from UTC at an instant, in ms (China: +8 h all year). */
export function tzOffsetMs(tz: string, instantMs: number): number {
  if (tz === 'UTC' || tz === 'Etc/UTC') return 0;
  const parts = formatterFor(tz).formatToParts(new Date(instantMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute'), get('second'));
  return wall - Math.floor(instantMs / 1000) * 1000;
}

/** Parses and checks a pattern; throws a clear error when it is malformed or never matches. */
export function parseCron(expr: string, tz: string): CronSpec {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) throw cronError(expr, `expected 5 or 6 fields, got ${fields.length}`);
  const hasSeconds = fields.length === 6;
  const [sec, min, hour, dom, month, dow] = hasSeconds ? fields : ['0', ...fields];
  formatterFor(tz);
  const d = parseField(expr, DOM, dom);
  const w = parseField(expr, DOW, dow);
  const spec: CronSpec = {
    source: expr,
    tz,
    hasSeconds,
    seconds: parseField(expr, SECOND, sec).values,
    minutes: parseField(expr, MINUTE, min).values,
    hours: parseField(expr, HOUR, hour).values,
    daysOfMonth: d.values,
    months: parseField(expr, MONTH, month).values,
    daysOfWeek: w.values,
    domRestricted: d.restricted,
    dowRestricted: w.restricted,
  };
  nextCronTime(spec, new Date(Date.UTC(2024, 0, 1)));
  return spec;
}

function dayMatches(spec: CronSpec, wall: Date): boolean {
  const domOk = spec.daysOfMonth.has(wall.getUTCDate());
  const dowOk = spec.daysOfWeek.has(wall.getUTCDay());
  if (spec.domRestricted && spec.dowRestricted) return domOk || dowOk;
  return domOk && dowOk;
}

/** Eight years of wall time covers every pattern that can match at all (29 Feb across 2100). */
const SEARCH_SPAN_MS = 8 * 366 * 86_400_000;

/**
 * The first matching instant strictly after `after`. Works on the zone's wall clock: it skips whole
 * months, days, hours and minutes that cannot match, so even rare patterns take few steps. In zones
 * with DST a wall time in the spring gap maps to the instant one offset later (China has no DST).
 */
export function nextCronTime(spec: CronSpec, after: Date): Date {
  const afterMs = after.getTime();
  const step = spec.hasSeconds ? 1000 : 60_000;
  const offset = tzOffsetMs(spec.tz, afterMs);
  let wall = Math.floor((afterMs + offset) / step) * step + step;
  const limit = wall + SEARCH_SPAN_MS;
  while (wall < limit) {
    const d = new Date(wall);
    const y = d.getUTCFullYear();
    const mo = d.getUTCMonth();
    const day = d.getUTCDate();
    const h = d.getUTCHours();
    const mi = d.getUTCMinutes();
    if (!spec.months.has(mo + 1)) {
      wall = Date.UTC(y, mo + 1, 1);
      continue;
    }
    if (!dayMatches(spec, d)) {
      wall = Date.UTC(y, mo, day + 1);
      continue;
    }
    if (!spec.hours.has(h)) {
      wall = Date.UTC(y, mo, day, h + 1);
      continue;
    }
    if (!spec.minutes.has(mi)) {
      wall = Date.UTC(y, mo, day, h, mi + 1);
      continue;
    }
    if (!spec.seconds.has(d.getUTCSeconds())) {
      wall += 1000;
      continue;
    }
    let instant = wall - offset;
    const actual = tzOffsetMs(spec.tz, instant);
    if (actual !== offset) instant = wall - actual;
    if (instant > afterMs) return new Date(instant);
    wall += step;
  }
  throw cronError(spec.source, 'it never matches a real date');
}
