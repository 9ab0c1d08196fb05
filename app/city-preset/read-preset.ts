/**
 * Reads and checks a city preset folder (城市配置包). Every problem found is reported — with its file,
 * line and column name — not just the first, so that whoever prepares a city's data can fix it all
 * in one pass. Nothing here touches the database.
 *
 * The folder:
 * - city.json                  { id, name, isDemo, settings }
 * - territory.csv              code,name,level,parent_code
 * - units.csv                  code,name,kind,parent_code,territory_code,sms_phone,duty_person,duty_phone
 * - users.csv                  username,display_name,role,unit_code,territory_code,phone,password
 * - categories.csv             code,name,level,parent_code,keywords,default_type,default_urgency,policy_code,utility
 * - time-limit-policies.json   [{ code, name, priority, match, limits }]
 * - hotline-lines.csv          number,name,merged_on
 * and, optional (absent: whatever the city has is kept):
 * - gazetteer.csv              kind,name,aliases,territory_code,number_from,number_to,parity,lat,lng
 *                              (地名库 for territory resolution: roads by segment, compounds, landmarks,
 *                              villages, QR-coded buildings, aliases; aliases separated by |)
 * - grids.geojson              a GeoJSON FeatureCollection of Polygon/MultiPolygon outlines, each with
 *                              properties.code = a territory code (usually a grid's)
 * - responsibility.csv         the responsibility list (责任清单), RESPONSIBILITY_CSV_COLUMNS:
 *                              item_code,category_code,situation_keywords,territory_level,lead_unit_code,
 *                              co_unit_codes,procedure,standard,contact_phone,legal_basis
 * - knowledge.json             the knowledge base (知识库): { "articles": [{ code, question, answer,
 *                              categoryCode, ownerUnitCode, keywords, validFrom, validTo, sourceDocument }] }
 * Both are checked against the preset's own categories.csv and units.csv.
 * CSV files are UTF-8 (a BOM is fine) with a header row; empty lines are skipped.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { z } from 'zod';
import { invalidTemplates } from '../../sms';
import { isAcceptedYear, normalizePhone, parseTicketType, parseUrgency, readCsvWithLines, TicketType, Urgency, type CsvRow, type Role } from '../../core';
import {
  CitySettings, TimeLimitPreset, isTerritoryLevel, isUnitKind, parentLevelOf, territoryLevelForUnitKind, TERRITORY_LEVELS, UNIT_KINDS,
  type CityInput, type HotlineLineInput, type TerritoryInput, type TerritoryLevel, type UnitInput,
} from '../../directory';
import { userProblems } from '../../identity';
import { gridCallSettingsProblems } from '../../gridcalls';
import { MAX_CATEGORY_LEVEL, type CategoryInput } from '../../routing';
import { LIMIT_KINDS, ladderSchema, type PolicyInput } from '../../workorders';
import { timeLimitSchema } from '../../calendar';
import {
  geometryProblems, MAX_HOUSE_NUMBER, normalizeAddress, parseGazetteerKind, parseParity, pointInGeometry, segmentHasNumbers, segmentsOverlap, validLatLng,
  type AreaGeometry, type GazetteerKind, type Parity,
} from '../../routing/territory';
import { parseResponsibilityCsv, type CsvLookups } from '../../routing/responsibility';
import { parseKnowledgeJson, type KnowledgeLookups } from '../../routing/knowledge';

export const PresetFile = {
  city: 'city.json',
  territory: 'territory.csv',
  units: 'units.csv',
  users: 'users.csv',
  categories: 'categories.csv',
  policies: 'time-limit-policies.json',
  hotlineLines: 'hotline-lines.csv',
  gazetteer: 'gazetteer.csv',
  gridPolygons: 'grids.geojson',
  responsibility: 'responsibility.csv',
  knowledge: 'knowledge.json',
} as const;
export type PresetFile = (typeof PresetFile)[keyof typeof PresetFile];
const FILE_ORDER: string[] = Object.values(PresetFile);
/** Files a preset may leave out; when absent, the city's data of that kind is left as it is. */
export const OPTIONAL_PRESET_FILES: readonly PresetFile[] = [PresetFile.gazetteer, PresetFile.gridPolygons, PresetFile.responsibility, PresetFile.knowledge];

/** One problem of a preset. `line` is 1-based; 0 means the file as a whole (missing, unreadable). */
export interface PresetProblem {
  file: string;
  line: number;
  field?: string;
  message: string;
  messageZh: string;
}

/** A user as a preset gives it; unit and territory by code. */
export interface PresetUser {
  /** Where the user is in users.csv, for problems found later (a username taken in another city). */
  line: number;
  username: string;
  displayName: string;
  role: Role;
  unitCode: string | null;
  territoryCode: string | null;
  phone: string | null;
  /** Only used when the user is created; an existing user's password is never reset. */
  password: string;
}

/** A gazetteer entry as a preset gives it: its territory by code. */
export interface PresetGazetteerEntry {
  kind: GazetteerKind;
  name: string;
  aliases: string[];
  territoryCode: string;
  numberFrom: number | null;
  numberTo: number | null;
  parity: Parity;
  lat: number | null;
  lng: number | null;
}

/** A territory's outline as a preset gives it. */
export interface PresetPolygon {
  territoryCode: string;
  geometry: AreaGeometry;
}

/** A checked preset, ready for {@link importPreset}. */
export interface CityPreset {
  city: CityInput;
  territories: TerritoryInput[];
  units: UnitInput[];
  users: PresetUser[];
  categories: CategoryInput[];
  policies: PolicyInput[];
  hotlineLines: HotlineLineInput[];
  /** gazetteer.csv; undefined when the file is absent (the city's gazetteer is then kept). */
  gazetteer?: PresetGazetteerEntry[];
  /** grids.geojson; undefined when the file is absent (the city's outlines are then kept). */
  gridPolygons?: PresetPolygon[];
  /**
   * responsibility.csv as checked (its text: the importer resolves unit codes to the ids the import
   * gives them); undefined when the file is absent (the city's list is then kept).
   */
  responsibility?: PresetTextFile;
  /** knowledge.json as checked (its text); undefined when the file is absent (the city's articles are then kept). */
  knowledge?: PresetTextFile;
}

/** An optional file imported from its text by its part's own importer, after the preset has checked it. */
export interface PresetTextFile {
  text: string;
  /** How many items (list items, articles) it holds. */
  count: number;
}

export type ReadPresetResult = { ok: true; preset: CityPreset } | { ok: false; problems: PresetProblem[] };

/** The text of each preset file, by file name; a file that is absent is `undefined`. */
export type PresetTexts = Partial<Record<PresetFile, string>>;

/** The product's time-limit presets (诸城, 海口, 寿光): `cities/presets/time-limits/<name>.json`. */
export const timeLimitPresetPath = (preset: string) => fileURLToPath(new URL(`../../cities/presets/time-limits/${preset}.json`, import.meta.url));

/**
 * Reads the folder and checks it. A city without its own time-limit-policies.json follows the
 * preset its city.json names (`settings.timeLimitPreset`): switching preset is configuration.
 */
export async function readPreset(dir: string): Promise<ReadPresetResult> {
  const texts: PresetTexts = {};
  for (const f of Object.values(PresetFile)) {
    try {
      texts[f] = await readFile(join(dir, f), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (texts[PresetFile.policies] === undefined) {
    const preset = presetNamed(texts[PresetFile.city]);
    if (preset) texts[PresetFile.policies] = await readFile(timeLimitPresetPath(preset), 'utf8');
  }
  return parsePreset(texts);
}

function presetNamed(cityJson: string | undefined): string | null {
  try {
    const name = (JSON.parse(cityJson ?? '') as { settings?: { timeLimitPreset?: unknown } })?.settings?.timeLimitPreset;
    return typeof name === 'string' && (Object.values(TimeLimitPreset) as string[]).includes(name) ? name : null;
  } catch {
    return null; // checkCity reports the broken city.json
  }
}

// ---------------------------------------------------------------------------------------------
// Problems

class Problems {
  readonly list: PresetProblem[] = [];
  add(file: string, line: number, field: string | undefined, message: string, messageZh: string) {
    this.list.push(field ? { file, line, field, message, messageZh } : { file, line, message, messageZh });
  }
  sorted(): PresetProblem[] {
    return [...this.list].sort((a, b) => FILE_ORDER.indexOf(a.file) - FILE_ORDER.indexOf(b.file) || a.line - b.line);
  }
}

// ---------------------------------------------------------------------------------------------
// CSV

/**
 * Parses a CSV file with a header. Reports a missing file, missing or unknown columns, rows with the
 * wrong number of fields, and malformed quoting (which ends the file: what follows cannot be trusted).
 */
function readCsv(file: string, text: string | undefined, columns: readonly string[], required: readonly string[], p: Problems): CsvRow[] | null {
  if (text === undefined) {
    p.add(file, 0, undefined, `${file} is missing (an empty file with the header row is fine)`, `缺少文件 ${file}（可只含表头）`);
    return null;
  }
  const { rows, problems } = readCsvWithLines(text, columns, required);
  for (const x of problems) p.add(file, x.line, x.field, x.message, x.messageZh);
  return rows;
}

const CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

function checkCode(file: string, row: CsvRow, field: string, p: Problems): string | null {
  const code = row.get(field);
  if (!code) {
    p.add(file, row.line, field, `${field} is required`, `${field} 必填`);
    return null;
  }
  if (!CODE.test(code)) {
    p.add(file, row.line, field, `${field} "${code}": 1-32 letters, digits, . _ - `, `${field}「${code}」须为1-32位字母、数字或 . _ -`);
    return null;
  }
  return code;
}

function checkName(file: string, row: CsvRow, field: string, max: number, p: Problems): string | null {
  const name = row.get(field);
  if (!name) {
    p.add(file, row.line, field, `${field} is required`, `${field} 必填`);
    return null;
  }
  if ([...name].length > max) {
    p.add(file, row.line, field, `${field} is longer than ${max} characters`, `${field} 超过${max}个字符`);
    return null;
  }
  return name;
}

/** Remembers the first line of each key and reports later duplicates. */
function firstLines(file: string, field: string, p: Problems, label: { en: string; zh: string }) {
  const seen = new Map<string, number>();
  return (key: string, line: number): boolean => {
    const first = seen.get(key);
    if (first !== undefined) {
      p.add(file, line, field, `duplicate ${label.en} ${key} (first on line ${first})`, `${label.zh} ${key} 重复（首次出现在第${first}行）`);
      return false;
    }
    seen.set(key, line);
    return true;
  };
}

/**
 * Cycles along parent codes, each reported once on the line of each member. (With the level rules a
 * cycle also breaks level order, but a cycle is the clearer message.)
 */
function reportCycles<T extends { code: string; parentCode: string | null; line: number }>(file: string, rows: T[], p: Problems, label: { en: string; zh: string }) {
  const byCode = new Map(rows.map((r) => [r.code, r]));
  const done = new Set<string>();
  for (const start of rows) {
    if (done.has(start.code)) continue;
    const trail: T[] = [];
    const onTrail = new Map<string, number>();
    let cur: T | undefined = start;
    while (cur && !done.has(cur.code) && !onTrail.has(cur.code)) {
      onTrail.set(cur.code, trail.length);
      trail.push(cur);
      cur = cur.parentCode ? byCode.get(cur.parentCode) : undefined;
    }
    if (cur && onTrail.has(cur.code)) {
      const cycle = trail.slice(onTrail.get(cur.code)!);
      const text = [...cycle.map((c) => c.code), cycle[0].code].join(' → ');
      for (const c of cycle) p.add(file, c.line, 'parent_code', `${label.en} ${c.code} is in a parent cycle: ${text}`, `${label.zh} ${c.code} 的上级关系成环：${text}`);
    }
    for (const t of trail) done.add(t.code);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON

/**
 * The line of every value of a (valid) JSON text, by its path ('0.limits.reply'), so that a problem
 * in a JSON file can name its line like a CSV one.
 */
function jsonLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let i = 0;
  let line = 1;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) {
      if (text[i] === '\n') line++;
      i++;
    }
  };
  const str = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const join = (path: string, k: string | number) => (path ? `${path}.${k}` : String(k));
  const value = (path: string) => {
    ws();
    lines.set(path, line);
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (let k = 0; ; k++) {
        ws();
        if (c === '{') {
          const keyLine = line;
          const key = str();
          ws();
          i++; // ':'
          value(join(path, key));
          lines.set(join(path, key), keyLine);
        } else value(join(path, k));
        ws();
        if (text[i++] === ',') continue;
        return;
      }
    }
    if (c === '"') {
      str();
      return;
    }
    while (i < text.length && !/[\s,\]}]/.test(text[i])) i++;
  };
  value('');
  return lines;
}

function readJson(file: string, text: string | undefined, p: Problems): { value: unknown; lineOf: (path: readonly PropertyKey[]) => number } | null {
  if (text === undefined) {
    p.add(file, 0, undefined, `${file} is missing`, `缺少文件 ${file}`);
    return null;
  }
  const body = text.replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const lineMatch = /line (\d+)/.exec(msg);
    const line = lineMatch ? Number(lineMatch[1]) : pos ? body.slice(0, Number(pos[1])).split('\n').length : 0;
    p.add(file, line, undefined, `malformed JSON: ${msg}`, `JSON 格式错误：${msg}`);
    return null;
  }
  const lines = jsonLines(body);
  return {
    value,
    lineOf: (path) => {
      const parts = path.map(String);
      while (parts.length) {
        const l = lines.get(parts.join('.'));
        if (l !== undefined) return l;
        parts.pop();
      }
      return lines.get('') ?? 1;
    },
  };
}

const ZH_MESSAGES: [RegExp, string][] = [
  [/must end after it starts/, '时段结束时间须晚于开始时间'],
  [/overlaps or precedes the previous period/, '时段须按顺序排列且不能重叠'],
  [/overlaps season/, '季节时间段相互重叠'],
  [/seasons must cover the whole year/, '各季节须覆盖全年每一天'],
  [/HH:MM/, '时间格式须为 HH:MM'],
  [/MM-DD/, '日期格式须为 MM-DD'],
  [/no such day/, '日期不存在'],
  [/^city id:/, '城市代码须为2-32位小写字母、数字或 -，并以字母开头'],
  [/^policy code:/, '时限规则代码须为1-32位字母、数字或 . _ -'],
  [/a time limit must be more than 0/, '时限须大于0'],
  [/a policy needs at least one of/, '至少须设置一项时限（acknowledge、onSite、reply、citizenReply）'],
];

function zhOfIssue(issue: z.core.$ZodIssue): string {
  const known = ZH_MESSAGES.find(([re]) => re.test(issue.message));
  if (known) return known[1];
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? '缺少必填字段' : `类型不正确（应为 ${issue.expected}）`;
    case 'invalid_value':
      return `取值无效，可选：${issue.values.map(String).join('、')}`;
    case 'too_small':
      return `取值过小或过短（最小 ${String(issue.minimum)}）`;
    case 'too_big':
      return `取值过大或过长（最大 ${String(issue.maximum)}）`;
    case 'unrecognized_keys':
      return `未知字段：${issue.keys.join('、')}`;
    case 'invalid_format':
      return '格式不正确';
    default:
      return `不符合要求：${issue.message}`;
  }
}

function reportZodIssues(file: string, error: z.ZodError, lineOf: (path: readonly PropertyKey[]) => number, p: Problems, pathPrefix: PropertyKey[] = []) {
  for (const issue of error.issues) {
    const path = [...pathPrefix, ...issue.path];
    const field = path.map(String).join('.') || undefined;
    p.add(file, lineOf(path), field, issue.message, `${field ? `「${field}」` : ''}${zhOfIssue(issue)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The files

const CityFile = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'city id: 2-32 lowercase letters, digits or -, starting with a letter'),
  name: z.string().trim().min(1).max(64),
  isDemo: z.boolean(),
  settings: CitySettings,
});

function checkCity(text: string | undefined, p: Problems): CityInput | null {
  const json = readJson(PresetFile.city, text, p);
  if (!json) return null;
  const r = CityFile.safeParse(json.value);
  if (!r.success) {
    reportZodIssues(PresetFile.city, r.error, json.lineOf, p);
    return null;
  }
  // SMS templates are handlebars: one that does not compile is refused here, not found at 3 a.m. by a unit's phone.
  const bad = invalidTemplates(r.data.settings.sms?.templates ?? {});
  for (const b of bad) {
    p.add(PresetFile.city, json.lineOf(['settings', 'sms', 'templates', b.kind]), `settings.sms.templates.${b.kind}`, `the SMS template ${b.kind} does not compile: ${b.error}`, `短信模板 ${b.kind} 有语法错误：${b.error}`);
  }
  // 网格呼叫: each approval step's time limit (settings.gridCalls.stepLimits), checked by the grid part.
  const grid = gridCallSettingsProblems((r.data.settings as Record<string, unknown>).gridCalls);
  for (const g of grid) p.add(PresetFile.city, json.lineOf(g.field.split('.')), g.field, g.message, g.messageZh);
  return bad.length || grid.length ? null : r.data;
}

/** Level names a gazetteer may use, besides the codes. */
const LEVEL_ALIASES: Record<string, TerritoryLevel> = {
  区: 'district', 县: 'district', 区县: 'district', '区/县': 'district', 县级市: 'district',
  街道: 'street', 镇: 'street', 乡: 'street', 街道办: 'street', '街道/镇': 'street', 镇街: 'street',
  社区: 'community', 村: 'community', 居委会: 'community', 村委会: 'community', '社区/村': 'community',
  网格: 'grid',
};

/**
 * The rows of a file that passed every check, and every code the file defines — with its row, or
 * null when the row has problems of its own — so that references to a flawed row are not reported
 * a second time as unknown.
 */
interface Checked<T> {
  valid: T[];
  known: Map<string, T | null>;
}

type TerritoryRowIn = TerritoryInput & { line: number };

function checkTerritories(text: string | undefined, p: Problems): Checked<TerritoryRowIn> | null {
  const F = PresetFile.territory;
  const rows = readCsv(F, text, ['code', 'name', 'level', 'parent_code'], ['code', 'name', 'level', 'parent_code'], p);
  if (!rows) return null;
  const out: TerritoryRowIn[] = [];
  const known = new Map<string, TerritoryRowIn | null>();
  const firstSeen = firstLines(F, 'code', p, { en: 'territory code', zh: '区域代码' });
  for (const row of rows) {
    const code = checkCode(F, row, 'code', p);
    const name = checkName(F, row, 'name', 128, p);
    const rawLevel = row.get('level');
    const level = isTerritoryLevel(rawLevel) ? rawLevel : LEVEL_ALIASES[rawLevel];
    if (!level) p.add(F, row.line, 'level', `level "${rawLevel}": one of ${TERRITORY_LEVELS.join(', ')}`, `层级「${rawLevel}」无效，应为 ${TERRITORY_LEVELS.join('、')}（或 区/县、街道/镇、社区/村、网格）`);
    const parentCode = row.get('parent_code') || null;
    if (!code || !firstSeen(code, row.line)) continue;
    const t = name && level ? { code, name, level, parentCode, line: row.line } : null;
    known.set(code, t);
    if (t) out.push(t);
  }
  const siblings = new Map<string, number>();
  for (const t of out) {
    const want = parentLevelOf(t.level);
    if (!t.parentCode) {
      if (want) p.add(F, t.line, 'parent_code', `a ${t.level} needs a parent ${want}`, `${t.level} 必须有上级（${want}）`);
    } else if (t.parentCode === t.code) {
      p.add(F, t.line, 'parent_code', `territory ${t.code} is its own parent`, `区域 ${t.code} 不能以自身为上级`);
    } else {
      const parent = known.get(t.parentCode);
      if (!known.has(t.parentCode)) p.add(F, t.line, 'parent_code', `unknown parent code ${t.parentCode}`, `上级代码 ${t.parentCode} 不存在`);
      else if (!want) p.add(F, t.line, 'parent_code', `a district has no parent territory (got ${t.parentCode})`, `区/县为最高层级，不应有上级（${t.parentCode}）`);
      else if (parent && parent.level !== want) p.add(F, t.line, 'parent_code', `level order: a ${t.level}'s parent must be a ${want}, ${t.parentCode} is a ${parent.level}`, `层级顺序错误：${t.level} 的上级应为 ${want}，而 ${t.parentCode} 是 ${parent.level}`);
    }
    const key = `${t.parentCode ?? ''}\u0000${t.name}`;
    const first = siblings.get(key);
    if (first !== undefined) p.add(F, t.line, 'name', `another territory under the same parent is already named ${t.name} (line ${first})`, `同一上级下已有同名区域「${t.name}」（第${first}行）`);
    else siblings.set(key, t.line);
  }
  reportCycles(F, out, p, { en: 'territory', zh: '区域' });
  return { valid: out, known };
}

type UnitRowIn = UnitInput & { line: number };

function checkUnits(text: string | undefined, territories: Map<string, TerritoryRowIn | null> | null, p: Problems): Checked<UnitRowIn> | null {
  const F = PresetFile.units;
  const columns = ['code', 'name', 'kind', 'parent_code', 'territory_code', 'sms_phone', 'duty_person', 'duty_phone'];
  const rows = readCsv(F, text, columns, ['code', 'name', 'kind'], p);
  if (!rows) return null;
  const out: UnitRowIn[] = [];
  const known = new Map<string, UnitRowIn | null>();
  const firstSeen = firstLines(F, 'code', p, { en: 'unit code', zh: '单位代码' });
  const phone = (row: CsvRow, field: string): string | null => {
    const raw = row.get(field);
    if (!raw) return null;
    const n = normalizePhone(raw);
    if (!n) p.add(F, row.line, field, `malformed phone number ${raw}`, `电话号码格式不正确：${raw}`);
    return n;
  };
  for (const row of rows) {
    const code = checkCode(F, row, 'code', p);
    const name = checkName(F, row, 'name', 128, p);
    const kind = row.get('kind');
    if (!isUnitKind(kind)) p.add(F, row.line, 'kind', `kind "${kind}": one of ${UNIT_KINDS.join(', ')}`, `单位类型「${kind}」无效，应为 ${UNIT_KINDS.join('、')}`);
    const smsPhone = phone(row, 'sms_phone');
    const dutyPhone = phone(row, 'duty_phone');
    const dutyPerson = row.get('duty_person') || null;
    if (dutyPerson && [...dutyPerson].length > 64) p.add(F, row.line, 'duty_person', 'duty_person is longer than 64 characters', '值班人姓名超过64个字符');
    const territoryCode = row.get('territory_code') || null;
    if (territoryCode && territories && !territories.has(territoryCode)) p.add(F, row.line, 'territory_code', `unknown territory code ${territoryCode}`, `区域代码 ${territoryCode} 不存在`);
    if (!code || !firstSeen(code, row.line)) continue;
    const u = name && isUnitKind(kind) ? { code, name, kind, parentCode: row.get('parent_code') || null, territoryCode, smsPhone, dutyPerson, dutyPhone, line: row.line } : null;
    known.set(code, u);
    if (u) out.push(u);
  }
  const territorialUnit = new Map<string, UnitRowIn>();
  for (const u of out) {
    if (u.parentCode === u.code) p.add(F, u.line, 'parent_code', `unit ${u.code} is its own parent`, `单位 ${u.code} 不能以自身为上级`);
    else if (u.parentCode && !known.has(u.parentCode)) p.add(F, u.line, 'parent_code', `unknown parent unit ${u.parentCode}`, `上级单位代码 ${u.parentCode} 不存在`);
    const want = territoryLevelForUnitKind(u.kind);
    if (!want || !territories) continue;
    const t = u.territoryCode ? territories.get(u.territoryCode) : null;
    if (!u.territoryCode) p.add(F, u.line, 'territory_code', `a ${u.kind} unit answers for a ${want}: territory_code is required`, `属地单位（${u.kind}）必须填写所辖区域代码`);
    else if (t && t.level !== want) p.add(F, u.line, 'territory_code', `a ${u.kind} unit needs a ${want} territory, ${u.territoryCode} is a ${t.level}`, `属地单位（${u.kind}）须对应 ${want} 级区域，而 ${u.territoryCode} 是 ${t.level}`);
    else if (t) {
      const other = territorialUnit.get(t.code);
      if (other) p.add(F, u.line, 'territory_code', `territory ${t.code} already has its ${want} unit ${other.code} (line ${other.line})`, `区域 ${t.code} 已有属地单位 ${other.code}（第${other.line}行）`);
      else territorialUnit.set(t.code, u);
    }
  }
  reportCycles(F, out, p, { en: 'unit', zh: '单位' });
  return { valid: out, known };
}

/** The territory levels each grid-governance role may answer for (网格呼叫: 网格员 → 网格长 → 社区书记 → 镇街). */
const ROLE_TERRITORY_LEVELS: Partial<Record<Role, TerritoryLevel[]>> = {
  grid_member: ['grid'],
  grid_leader: ['grid', 'community'],
  community_secretary: ['community'],
  town_leader: ['street'],
};

const USER_FIELD: Record<string, string> = { username: 'username', displayName: 'display_name', role: 'role', password: 'password', unitId: 'unit_code', territoryId: 'territory_code', phone: 'phone' };

function checkUsers(text: string | undefined, units: Map<string, UnitRowIn | null> | null, territories: Map<string, TerritoryRowIn | null> | null, p: Problems): PresetUser[] | null {
  const F = PresetFile.users;
  const columns = ['username', 'display_name', 'role', 'unit_code', 'territory_code', 'phone', 'password'];
  const rows = readCsv(F, text, columns, ['username', 'display_name', 'role', 'password'], p);
  if (!rows) return null;
  const out: PresetUser[] = [];
  const firstSeen = firstLines(F, 'username', p, { en: 'username', zh: '用户名' });
  for (const row of rows) {
    const u = {
      username: row.get('username'),
      displayName: row.get('display_name'),
      role: row.get('role'),
      unitCode: row.get('unit_code') || null,
      territoryCode: row.get('territory_code') || null,
      phone: row.get('phone') || null,
      password: row.get('password'),
    };
    let ok = true;
    // A preset's password need only pass the import floor; below the policy, the account changes it at first login.
    for (const prob of userProblems({ cityId: '-', username: u.username, displayName: u.displayName, role: u.role, password: u.password, unitId: u.unitCode, territoryId: u.territoryCode, phone: u.phone, fromPreset: { demo: true } })) {
      p.add(F, row.line, USER_FIELD[prob.field] ?? prob.field, prob.message, prob.messageZh);
      ok = false;
    }
    if (u.unitCode && units && !units.has(u.unitCode)) {
      p.add(F, row.line, 'unit_code', `unknown unit code ${u.unitCode}`, `单位代码 ${u.unitCode} 不存在`);
      ok = false;
    }
    const territory = u.territoryCode && territories ? territories.get(u.territoryCode) : null;
    if (u.territoryCode && territories && !territories.has(u.territoryCode)) {
      p.add(F, row.line, 'territory_code', `unknown territory code ${u.territoryCode}`, `区域代码 ${u.territoryCode} 不存在`);
      ok = false;
    }
    const levels = ROLE_TERRITORY_LEVELS[u.role as Role];
    if (territory && levels && !levels.includes(territory.level)) {
      p.add(F, row.line, 'territory_code', `a ${u.role} answers for a ${levels.join(' or ')}, ${territory.code} is a ${territory.level}`, `${u.role} 所辖区域应为 ${levels.join('或')} 级，而 ${territory.code} 是 ${territory.level}`);
      ok = false;
    }
    if (u.username && !firstSeen(u.username, row.line)) continue;
    if (ok) out.push({ ...u, role: u.role as Role, line: row.line, phone: u.phone ? normalizePhone(u.phone) : null });
  }
  return out;
}

const TRUE = new Set(['1', 'true', 'yes', 'y', '是']);
const FALSE = new Set(['', '0', 'false', 'no', 'n', '否']);

type CategoryRowIn = CategoryInput & { line: number };

function checkCategories(text: string | undefined, p: Problems): (Checked<CategoryRowIn> & { policyRefs: { line: number; policyCode: string }[] }) | null {
  const F = PresetFile.categories;
  const columns = ['code', 'name', 'level', 'parent_code', 'keywords', 'default_type', 'default_urgency', 'policy_code', 'utility'];
  const rows = readCsv(F, text, columns, ['code', 'name', 'level', 'parent_code'], p);
  if (!rows) return null;
  const out: CategoryRowIn[] = [];
  const known = new Map<string, CategoryRowIn | null>();
  const policyRefs: { line: number; policyCode: string }[] = [];
  const firstSeen = firstLines(F, 'code', p, { en: 'category code', zh: '分类代码' });
  for (const row of rows) {
    const code = checkCode(F, row, 'code', p);
    const name = checkName(F, row, 'name', 128, p);
    const rawLevel = row.get('level');
    const level = /^\d+$/.test(rawLevel) ? Number(rawLevel) : NaN;
    const levelOk = level >= 1 && level <= MAX_CATEGORY_LEVEL;
    if (!levelOk) p.add(F, row.line, 'level', `level "${rawLevel}": 1 to ${MAX_CATEGORY_LEVEL}`, `层级「${rawLevel}」无效，应为1-${MAX_CATEGORY_LEVEL}`);
    const keywords = row.get('keywords').split('|').map((k) => k.trim()).filter(Boolean);
    for (const k of keywords) if ([...k].length > 32) p.add(F, row.line, 'keywords', `keyword "${k}" is longer than 32 characters`, `关键词「${k}」超过32个字符`);
    const rawType = row.get('default_type');
    const defaultType = rawType ? parseTicketType(rawType) : null;
    if (rawType && !defaultType) p.add(F, row.line, 'default_type', `default_type "${rawType}": one of ${Object.values(TicketType).join(', ')} (or 咨询 求助 投诉 举报 建议 表扬)`, `工单类型「${rawType}」无效，应为 咨询、求助、投诉、举报、建议、表扬`);
    const rawUrgency = row.get('default_urgency');
    const defaultUrgency = rawUrgency ? parseUrgency(rawUrgency) : null;
    if (rawUrgency && !defaultUrgency) p.add(F, row.line, 'default_urgency', `default_urgency "${rawUrgency}": one of ${Object.values(Urgency).join(', ')}`, `紧急程度「${rawUrgency}」无效，应为 一般、紧急、特急`);
    const rawUtility = row.get('utility').toLowerCase();
    const utility = TRUE.has(rawUtility) ? true : FALSE.has(rawUtility) ? false : null;
    if (row.get('policy_code')) policyRefs.push({ line: row.line, policyCode: row.get('policy_code') });
    if (utility === null) p.add(F, row.line, 'utility', `utility "${row.get('utility')}": 1 or 0 (empty is 0)`, `utility「${row.get('utility')}」无效，应为 1 或 0`);
    if (!code || !firstSeen(code, row.line)) continue;
    const c = name && levelOk && utility !== null
      ? { code, name, level, parentCode: row.get('parent_code') || null, keywords, defaultType, defaultUrgency, policyCode: row.get('policy_code') || null, utility, line: row.line }
      : null;
    known.set(code, c);
    if (c) out.push(c);
  }
  for (const c of out) {
    if (c.level === 1) {
      if (c.parentCode) p.add(F, c.line, 'parent_code', `a level-1 category has no parent (got ${c.parentCode})`, `一级分类不应有上级（${c.parentCode}）`);
      continue;
    }
    if (!c.parentCode) p.add(F, c.line, 'parent_code', `a level-${c.level} category needs a level-${c.level - 1} parent`, `${c.level}级分类必须有${c.level - 1}级上级`);
    else if (c.parentCode === c.code) p.add(F, c.line, 'parent_code', `category ${c.code} is its own parent`, `分类 ${c.code} 不能以自身为上级`);
    else {
      const parent = known.get(c.parentCode);
      if (!known.has(c.parentCode)) p.add(F, c.line, 'parent_code', `unknown parent category ${c.parentCode}`, `上级分类代码 ${c.parentCode} 不存在`);
      else if (parent && parent.level !== c.level - 1) p.add(F, c.line, 'level', `level ${c.level} does not follow its parent ${parent.code} (level ${parent.level})`, `层级 ${c.level} 与上级分类 ${parent.code}（${parent.level}级）不衔接`);
    }
  }
  reportCycles(F, out, p, { en: 'category', zh: '分类' });
  return { valid: out, known, policyRefs };
}

// The calendar's schema refuses negative amounts; a policy also has no use for a zero limit.
const PositiveLimit = timeLimitSchema.refine((l) => l.amount !== 0, 'a time limit must be more than 0');

const Policy = z.strictObject({
  code: z.string().regex(CODE, 'policy code: 1-32 letters, digits, . _ -'),
  name: z.string().trim().min(1).max(128),
  priority: z.number().int().min(-1000).max(1000),
  match: z.strictObject({
    ticketType: z.enum(TicketType).optional(),
    urgency: z.enum(Urgency).optional(),
    categoryCode: z.string().min(1).optional(),
    utility: z.boolean().optional(),
  }),
  limits: z
    .strictObject({ acknowledge: PositiveLimit.optional(), onSite: PositiveLimit.optional(), reply: PositiveLimit.optional(), citizenReply: PositiveLimit.optional(), centerDispatch: PositiveLimit.optional() })
    .refine((l) => LIMIT_KINDS.some((k) => l[k]), `a policy needs at least one of ${LIMIT_KINDS.join(', ')}`),
  ladder: ladderSchema.optional(),
});

function checkPolicies(text: string | undefined, categories: Map<string, CategoryRowIn | null> | null, p: Problems): { valid: PolicyInput[] | null; codes: Set<string> } | null {
  const F = PresetFile.policies;
  const json = readJson(F, text, p);
  if (!json) return null;
  if (!Array.isArray(json.value)) {
    p.add(F, 1, undefined, 'expected an array of policies', '应为时限规则数组');
    return null;
  }
  const out: PolicyInput[] = [];
  const firstSeen = firstLines(F, 'code', p, { en: 'policy code', zh: '时限规则代码' });
  const sameRule = new Map<string, string>();
  const codes = new Set<string>();
  let ok = true;
  json.value.forEach((raw: unknown, i: number) => {
    // Each policy on its own, and the references even of a malformed one: every problem in one pass.
    const r = Policy.safeParse(raw);
    if (!r.success) {
      reportZodIssues(F, r.error, json.lineOf, p, [i]);
      ok = false;
    }
    const el = (raw && typeof raw === 'object' ? raw : {}) as { code?: unknown; match?: { categoryCode?: unknown } };
    if (typeof el.code === 'string') {
      codes.add(el.code);
      if (!firstSeen(el.code, json.lineOf([i, 'code']))) ok = false;
    }
    const categoryCode = el.match && typeof el.match === 'object' ? el.match.categoryCode : undefined;
    if (typeof categoryCode === 'string' && categories && !categories.has(categoryCode)) {
      p.add(F, json.lineOf([i, 'match', 'categoryCode']), `${i}.match.categoryCode`, `unknown category code ${categoryCode}`, `分类代码 ${categoryCode} 不存在`);
      ok = false;
    }
    if (!r.success) return;
    const pol = r.data;
    // Two policies that fit the same tickets at the same priority leave the choice undefined.
    const key = JSON.stringify([pol.priority, pol.match.ticketType, pol.match.urgency, pol.match.categoryCode, pol.match.utility]);
    const other = sameRule.get(key);
    if (other) {
      p.add(F, json.lineOf([i]), `${i}.match`, `policy ${pol.code} has the same priority and match as ${other}: which applies would be undefined`, `时限规则 ${pol.code} 与 ${other} 优先级和适用条件相同，无法确定适用哪一条`);
      ok = false;
    } else sameRule.set(key, pol.code);
    out.push(pol);
  });
  return { valid: ok ? out : null, codes };
}

function checkHotlineLines(text: string | undefined, p: Problems): HotlineLineInput[] | null {
  const F = PresetFile.hotlineLines;
  const rows = readCsv(F, text, ['number', 'name', 'merged_on'], ['number', 'name'], p);
  if (!rows) return null;
  const out: HotlineLineInput[] = [];
  const firstSeen = firstLines(F, 'number', p, { en: 'hotline number', zh: '热线号码' });
  for (const row of rows) {
    const raw = row.get('number');
    const number = raw.replace(/[\s-]/g, '');
    let ok = true;
    if (!/^\d{3,20}$/.test(number)) {
      p.add(F, row.line, 'number', `number "${raw}": 3-20 digits`, `号码「${raw}」应为3-20位数字`);
      ok = false;
    } else if (number === '12345') {
      p.add(F, row.line, 'number', '12345 is the hotline itself, not a merged line', '12345 是热线本身，不是归并的热线');
      ok = false;
    }
    const name = checkName(F, row, 'name', 128, p);
    const mergedOn = row.get('merged_on') || null;
    if (mergedOn && !isDate(mergedOn)) {
      p.add(F, row.line, 'merged_on', `merged_on "${mergedOn}": a date YYYY-MM-DD`, `归并日期「${mergedOn}」应为 YYYY-MM-DD 格式的日期`);
      ok = false;
    }
    if (ok && !firstSeen(number, row.line)) continue;
    if (ok && name) out.push({ number, name, mergedOn });
  }
  return out;
}

/** A real day in the years the product accepts (core's isAcceptedYear: 2000–2100). */
function isDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || !isAcceptedYear(Number(s.slice(0, 4)))) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

// ---------------------------------------------------------------------------------------------
// Gazetteer and outlines (optional files)

type GazetteerRowIn = PresetGazetteerEntry & { line: number };
type PolygonIn = PresetPolygon & { line: number };

/** Codes up the territory tree (the code itself first), for "lies within" checks across files. */
function codeChain(code: string, territories: Map<string, TerritoryRowIn | null>): string[] {
  const chain: string[] = [];
  for (let c: string | null = code; c && !chain.includes(c); c = territories.get(c)?.parentCode ?? null) chain.push(c);
  return chain;
}

function checkGazetteer(text: string, territories: Map<string, TerritoryRowIn | null> | null, p: Problems): { rows: GazetteerRowIn[]; ok: boolean } | null {
  const F = PresetFile.gazetteer;
  const columns = ['kind', 'name', 'aliases', 'territory_code', 'number_from', 'number_to', 'parity', 'lat', 'lng'];
  const rows = readCsv(F, text, columns, ['kind', 'name', 'territory_code'], p);
  if (!rows) return null;
  const before = p.list.length;
  const out: GazetteerRowIn[] = [];
  const firstSeen = firstLines(F, 'name', p, { en: 'gazetteer entry', zh: '地名' });
  const buildings = new Map<string, GazetteerRowIn>();
  const number = (row: CsvRow, field: string): number | null | undefined => {
    const raw = row.get(field);
    if (!raw) return null;
    if (!/^\d{1,5}$/.test(raw) || Number(raw) > MAX_HOUSE_NUMBER) {
      p.add(F, row.line, field, `${field} "${raw}": a house number 0..${MAX_HOUSE_NUMBER}`, `门牌号「${raw}」无效，应为 0..${MAX_HOUSE_NUMBER} 的整数`);
      return undefined;
    }
    return Number(raw);
  };
  for (const row of rows) {
    let ok = true;
    const rawKind = row.get('kind');
    const kind = parseGazetteerKind(rawKind);
    if (!kind) {
      p.add(F, row.line, 'kind', `kind "${rawKind}": one of road, compound, landmark, village, building, alias`, `地名类型「${rawKind}」无效，应为 道路、小区、地标、自然村、楼栋、别名（road compound landmark village building alias）`);
      ok = false;
    }
    const name = checkName(F, row, 'name', 128, p);
    const aliases = row.get('aliases').split('|').map((a) => a.trim()).filter(Boolean);
    for (const a of aliases) {
      if ([...a].length > 64) {
        p.add(F, row.line, 'aliases', `alias "${a}" is longer than 64 characters`, `别名「${a}」超过64个字符`);
        ok = false;
      }
    }
    const territoryCode = row.get('territory_code');
    if (!territoryCode) {
      p.add(F, row.line, 'territory_code', 'territory_code is required: the most specific territory the place lies in', '必须填写所在区域代码（所在的最小区域：社区或网格）');
      ok = false;
    } else if (territories && !territories.has(territoryCode)) {
      p.add(F, row.line, 'territory_code', `unknown territory code ${territoryCode}`, `区域代码 ${territoryCode} 不存在`);
      ok = false;
    }
    const numberFrom = number(row, 'number_from');
    const numberTo = number(row, 'number_to');
    const rawParity = row.get('parity');
    const parity = parseParity(rawParity);
    if (!parity) p.add(F, row.line, 'parity', `parity "${rawParity}": all, odd or even (or 单号/双号, empty for all)`, `单双号「${rawParity}」无效，应为 all、odd、even（或 单号、双号，空为全部）`);
    if (numberFrom === undefined || numberTo === undefined || !parity) ok = false;
    else {
      const numbered = numberFrom !== null || numberTo !== null || parity !== 'all';
      if (numbered && kind && kind !== 'road') {
        p.add(F, row.line, 'number_from', `only a road has house-number ranges and sides (this is a ${kind})`, '只有道路可以填写门牌号范围和单双号');
        ok = false;
      } else if (numberFrom !== null && numberTo !== null && numberFrom > numberTo) {
        p.add(F, row.line, 'number_to', `number range ${numberFrom}-${numberTo}: number_from must not be above number_to`, `门牌号范围 ${numberFrom}-${numberTo} 无效：起始号不能大于终止号`);
        ok = false;
      } else if (!segmentHasNumbers({ numberFrom, numberTo, parity })) {
        p.add(F, row.line, 'parity', `no ${parity} number lies in ${numberFrom}-${numberTo}`, `门牌号范围 ${numberFrom}-${numberTo} 内没有${parity === 'odd' ? '单' : '双'}号`);
        ok = false;
      }
    }
    const rawLat = row.get('lat');
    const rawLng = row.get('lng');
    let lat: number | null = null;
    let lng: number | null = null;
    if (rawLat || rawLng) {
      lat = rawLat && /^-?\d+(\.\d+)?$/.test(rawLat) ? Number(rawLat) : NaN;
      lng = rawLng && /^-?\d+(\.\d+)?$/.test(rawLng) ? Number(rawLng) : NaN;
      if (!rawLat || !rawLng) {
        p.add(F, row.line, rawLat ? 'lng' : 'lat', 'lat and lng go together: give both or neither', '纬度和经度须同时填写或同时留空');
        ok = false;
      } else if (!validLatLng(lat, lng)) {
        const swapped = validLatLng(lng, lat) ? ' (swapped? this file gives lat first, then lng)' : '';
        p.add(F, row.line, Number.isFinite(lat) && Math.abs(lat) <= 90 ? 'lng' : 'lat', `lat/lng "${rawLat}, ${rawLng}": lat -90..90, lng -180..180${swapped}`, `坐标「${rawLat}, ${rawLng}」无效：纬度 -90..90，经度 -180..180${swapped ? '（是否填反了？本文件纬度在前）' : ''}`);
        ok = false;
      }
    }
    if (!kind || !name) continue;
    const range = numberFrom !== null || numberTo !== null ? ` ${numberFrom ?? ''}-${numberTo ?? ''}` : '';
    const key = `${kind} ${normalizeAddress(name)} in ${territoryCode}${range}${parity && parity !== 'all' ? ` ${parity}` : ''}`;
    if (!firstSeen(key, row.line)) continue;
    if (!ok || !parity || numberFrom === undefined || numberTo === undefined) continue;
    const e: GazetteerRowIn = { kind, name, aliases, territoryCode, numberFrom, numberTo, parity, lat, lng, line: row.line };
    if (kind === 'building') {
      // A QR code must lead to one building: resolveBuilding never guesses.
      for (const n of [name, ...aliases]) {
        const other = buildings.get(normalizeAddress(n));
        if (other && other.territoryCode !== territoryCode) {
          p.add(F, row.line, 'name', `building ${n} is already on line ${other.line} (territory ${other.territoryCode})`, `楼栋「${n}」已在第${other.line}行登记（区域 ${other.territoryCode}）`);
          ok = false;
        } else buildings.set(normalizeAddress(n), e);
      }
    }
    if (ok) out.push(e);
  }
  // Segments of one road that claim the same house number for different territories.
  const roads = new Map<string, GazetteerRowIn[]>();
  for (const e of out) {
    if (e.kind !== 'road' || (e.numberFrom === null && e.numberTo === null && e.parity === 'all')) continue;
    const k = normalizeAddress(e.name);
    roads.set(k, [...(roads.get(k) ?? []), e]);
  }
  for (const segs of roads.values()) {
    for (let i = 0; i < segs.length; i++) {
      const clash = segs.slice(0, i).find((o) => o.territoryCode !== segs[i].territoryCode && segmentsOverlap(o, segs[i]));
      if (clash) {
        p.add(F, segs[i].line, 'number_from', `${segs[i].name} ${segs[i].numberFrom ?? ''}-${segs[i].numberTo ?? ''} (${segs[i].parity}) overlaps line ${clash.line} (${clash.territoryCode})`, `${segs[i].name} 的门牌号段与第${clash.line}行（${clash.territoryCode}）重叠`);
      }
    }
  }
  return { rows: out, ok: p.list.length === before };
}

function checkGridPolygons(text: string, territories: Map<string, TerritoryRowIn | null> | null, p: Problems): { rows: PolygonIn[]; ok: boolean } | null {
  const F = PresetFile.gridPolygons;
  const json = readJson(F, text, p);
  if (!json) return null;
  const before = p.list.length;
  const v = json.value as { type?: unknown; features?: unknown } | null;
  if (!v || typeof v !== 'object' || v.type !== 'FeatureCollection' || !Array.isArray(v.features)) {
    p.add(F, json.lineOf(['type']), 'type', 'expected a GeoJSON FeatureCollection with a features array', '应为 GeoJSON FeatureCollection（含 features 数组）');
    return null;
  }
  const out: PolygonIn[] = [];
  const seen = new Map<string, number>();
  v.features.forEach((raw: unknown, i: number) => {
    const line = json.lineOf(['features', i]);
    const f = (raw && typeof raw === 'object' ? raw : {}) as { type?: unknown; properties?: Record<string, unknown> | null; geometry?: unknown };
    if (f.type !== 'Feature') p.add(F, json.lineOf(['features', i, 'type']), `features.${i}.type`, 'expected a Feature', '应为 Feature');
    const props = f.properties && typeof f.properties === 'object' ? f.properties : {};
    const code = typeof props.code === 'string' ? props.code : typeof props.territory_code === 'string' ? props.territory_code : null;
    let ok = true;
    if (!code) {
      p.add(F, line, `features.${i}.properties.code`, 'properties.code is required: the territory (grid) code', '缺少 properties.code（区域/网格代码）');
      ok = false;
    } else if (territories && !territories.has(code)) {
      p.add(F, json.lineOf(['features', i, 'properties', 'code']), `features.${i}.properties.code`, `unknown territory code ${code}`, `区域代码 ${code} 不存在`);
      ok = false;
    } else if (seen.has(code)) {
      p.add(F, line, `features.${i}.properties.code`, `territory ${code} already has an outline (line ${seen.get(code)})`, `区域 ${code} 已有边界（第${seen.get(code)}行）`);
      ok = false;
    } else seen.set(code, line);
    for (const g of geometryProblems(f.geometry)) {
      const path = ['features', i, 'geometry', ...g.path];
      p.add(F, json.lineOf(path), path.join('.'), g.message, g.messageZh);
      ok = false;
    }
    if (ok && code) out.push({ territoryCode: code, geometry: f.geometry as AreaGeometry, line });
  });
  return { rows: out, ok: p.list.length === before };
}

/** A gazetteer point inside the outline of a territory it is not part of: one of the two files is wrong. */
function checkPointsAgainstOutlines(entries: GazetteerRowIn[], polygons: PolygonIn[], territories: Map<string, TerritoryRowIn | null>, p: Problems) {
  const outlineOf = new Map(polygons.map((poly) => [poly.territoryCode, poly]));
  for (const e of entries) {
    if (e.lat === null || e.lng === null) continue;
    const own = codeChain(e.territoryCode, territories);
    // Outside the outline of its own territory (or of a territory it lies in).
    const ownOutline = own.map((c) => outlineOf.get(c)).find((poly) => poly && !pointInGeometry(e.lat!, e.lng!, poly.geometry));
    if (ownOutline) {
      p.add(PresetFile.gazetteer, e.line, 'lat', `${e.name} at ${e.lat}, ${e.lng} lies outside the outline of ${ownOutline.territoryCode} (grids.geojson line ${ownOutline.line}), which it belongs to`, `「${e.name}」的坐标 ${e.lat}, ${e.lng} 不在其所属区域 ${ownOutline.territoryCode} 的边界内（grids.geojson 第${ownOutline.line}行）`);
      continue;
    }
    for (const poly of polygons) {
      if (!pointInGeometry(e.lat, e.lng, poly.geometry)) continue;
      const theirs = codeChain(poly.territoryCode, territories);
      if (own.includes(poly.territoryCode) || theirs.includes(e.territoryCode)) continue;
      p.add(PresetFile.gazetteer, e.line, 'lat', `${e.name} at ${e.lat}, ${e.lng} lies in the outline of ${poly.territoryCode} (grids.geojson line ${poly.line}), outside its territory ${e.territoryCode}`, `「${e.name}」的坐标 ${e.lat}, ${e.lng} 落在 ${poly.territoryCode} 的边界内（grids.geojson 第${poly.line}行），不在其所属区域 ${e.territoryCode} 内`);
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Responsibility list and knowledge base (optional files, checked by their parts' own parsers)

type PresetUnitRef = { id: string; code: string; kind: string; active: boolean };

/** A unit before the import gave it an id: the parsers only need to know that the code exists. */
const placeholderUnit = (code: string, kind: string): PresetUnitRef => ({ id: `preset-unit:${code}`, code, kind, active: true });

/** Every code, when the file that defines them could not be read: its own problems say so, once. */
class AnyCode extends Set<string> {
  override has(_code: string): boolean {
    return true;
  }
}
class AnyUnit extends Map<string, PresetUnitRef> {
  override has(_code: string): boolean {
    return true;
  }
  override get(code: string): PresetUnitRef {
    return placeholderUnit(code, 'department');
  }
}

/**
 * What the optional files are checked against: the codes categories.csv and units.csv define — a
 * flawed row's too, so that a reference to it is not a second problem.
 */
function presetLookups(categories: Map<string, CategoryRowIn | null> | null, units: Map<string, UnitRowIn | null> | null): CsvLookups & KnowledgeLookups {
  return {
    categoryCodes: categories ? new Set(categories.keys()) : new AnyCode(),
    units: units ? new Map([...units].map(([code, u]) => [code, placeholderUnit(code, u?.kind ?? 'department')])) : new AnyUnit(),
  };
}

function checkResponsibility(text: string, lookups: CsvLookups, p: Problems): PresetTextFile | null {
  const F = PresetFile.responsibility;
  const r = parseResponsibilityCsv(text, lookups);
  if (r.ok) return { text, count: r.items.length };
  for (const x of r.problems) p.add(F, x.line, x.field, x.message, x.messageZh);
  return null;
}

function checkKnowledge(text: string, lookups: KnowledgeLookups, p: Problems): PresetTextFile | null {
  const F = PresetFile.knowledge;
  const json = readJson(F, text, p); // malformed JSON, with its line
  if (!json) return null;
  const r = parseKnowledgeJson(text, lookups);
  if (r.ok) return { text, count: r.articles.length };
  const list: unknown[] = Array.isArray(json.value) ? json.value : ((json.value as { articles?: unknown[] } | null)?.articles ?? []);
  const prefix = Array.isArray(json.value) ? [] : ['articles'];
  for (const x of r.problems) {
    if (x.index < 0) {
      p.add(F, json.lineOf(x.field ? [x.field] : []), x.field, x.message, x.messageZh);
      continue;
    }
    // A field is a path ('keywords.2'), or the unknown keys of the article ('foo,bar').
    const fieldPath = x.field ? x.field.split(',')[0].split('.') : [];
    const raw = list[x.index] as { code?: unknown } | null | undefined;
    const code = x.code ?? (raw && typeof raw === 'object' && typeof raw.code === 'string' ? raw.code : null);
    const which = code ? `article ${code}` : `article ${x.index + 1}`;
    const whichZh = code ? `第${x.index + 1}条（${code}）` : `第${x.index + 1}条`;
    p.add(F, json.lineOf([...prefix, x.index, ...fieldPath]), [...prefix, x.index, ...(x.field ? [x.field] : [])].join('.'), `${which}: ${x.message}`, `${whichZh}：${x.messageZh}`);
  }
  return null;
}

/** Checks the preset's texts (file name → content). Pure: tests and tools may call it without a folder. */
export function parsePreset(texts: PresetTexts): ReadPresetResult {
  const p = new Problems();
  const city = checkCity(texts[PresetFile.city], p);
  const territories = checkTerritories(texts[PresetFile.territory], p);
  const units = checkUnits(texts[PresetFile.units], territories?.known ?? null, p);
  const users = checkUsers(texts[PresetFile.users], units?.known ?? null, territories?.known ?? null, p);
  const categories = checkCategories(texts[PresetFile.categories], p);
  const policies = checkPolicies(texts[PresetFile.policies], categories?.known ?? null, p);
  if (categories && policies) {
    for (const c of categories.policyRefs) {
      if (!policies.codes.has(c.policyCode)) p.add(PresetFile.categories, c.line, 'policy_code', `unknown policy code ${c.policyCode}`, `时限规则代码 ${c.policyCode} 不存在`);
    }
  }
  const hotlineLines = checkHotlineLines(texts[PresetFile.hotlineLines], p);
  const gazetteerText = texts[PresetFile.gazetteer];
  const polygonsText = texts[PresetFile.gridPolygons];
  const gazetteer = gazetteerText === undefined ? undefined : checkGazetteer(gazetteerText, territories?.known ?? null, p);
  const gridPolygons = polygonsText === undefined ? undefined : checkGridPolygons(polygonsText, territories?.known ?? null, p);
  // The rows that passed their own checks, even beside rows that did not: every problem in one pass.
  if (gazetteer && gridPolygons && territories) checkPointsAgainstOutlines(gazetteer.rows, gridPolygons.rows, territories.known, p);
  const responsibilityText = texts[PresetFile.responsibility];
  const knowledgeText = texts[PresetFile.knowledge];
  const lookups = presetLookups(categories?.known ?? null, units?.known ?? null);
  const responsibility = responsibilityText === undefined ? undefined : checkResponsibility(responsibilityText, lookups, p);
  const knowledge = knowledgeText === undefined ? undefined : checkKnowledge(knowledgeText, lookups, p);
  if (
    p.list.length || !city || !territories || !units || !users || !categories || !policies?.valid || !hotlineLines ||
    gazetteer === null || gridPolygons === null || gazetteer?.ok === false || gridPolygons?.ok === false || responsibility === null || knowledge === null
  ) {
    return { ok: false, problems: p.sorted() };
  }
  const strip = <T extends { line: number }>(rows: T[]): Omit<T, 'line'>[] => rows.map(({ line: _line, ...rest }) => rest);
  return {
    ok: true,
    preset: {
      city,
      territories: strip(territories.valid),
      units: strip(units.valid),
      users,
      categories: strip(categories.valid),
      policies: policies.valid,
      hotlineLines,
      ...(gazetteer ? { gazetteer: strip(gazetteer.rows) } : {}),
      ...(gridPolygons ? { gridPolygons: strip(gridPolygons.rows) } : {}),
      ...(responsibility ? { responsibility } : {}),
      ...(knowledge ? { knowledge } : {}),
    },
  };
}

/**
 * Checks a category tree CSV on its own (`hotline categories import FILE`), with the same rules as a
 * preset's categories.csv; `policyCodes` are the city's existing time-limit policies.
 */
export function parseCategoriesCsv(text: string, policyCodes: ReadonlySet<string>): { ok: true; categories: CategoryInput[] } | { ok: false; problems: PresetProblem[] } {
  const p = new Problems();
  const checked = checkCategories(text, p);
  for (const ref of checked?.policyRefs ?? []) {
    if (!policyCodes.has(ref.policyCode)) p.add(PresetFile.categories, ref.line, 'policy_code', `unknown policy code ${ref.policyCode}`, `时限规则代码 ${ref.policyCode} 不存在`);
  }
  if (p.list.length || !checked) return { ok: false, problems: p.sorted() };
  return { ok: true, categories: checked.valid.map(({ line: _line, ...rest }) => rest) };
}

/** Problems as lines for a terminal: `units.csv:12 sms_phone: malformed phone number … / 电话号码格式不正确`. */
export function formatProblems(problems: PresetProblem[]): string {
  return problems.map((x) => `${x.file}:${x.line}${x.field ? ` ${x.field}` : ''}: ${x.message} / ${x.messageZh}`).join('\n');
}

