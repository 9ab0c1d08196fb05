/**
 * Items of the responsibility list (责任清单, 寿光: ~5,000 items of 36 units, each split into concrete
 * situations with the responsible section, phone, steps and standard) and their CSV form. Pure: no
 * database, no HTTP.
 */
import { createHash } from 'node:crypto';
import { normalizePhone, readCsvWithLines } from '../../../core';

/**
 * Who acts on an item (承办层级). `city`: the named city department or company (市直部门). The other
 * levels are territorial (属地): the district, street/town or community/village of the ticket's place
 * acts, so the item names the level, never a particular street.
 */
export const ActingLevel = {
  city: 'city', // 市直部门 / 公共服务企业
  district: 'district', // 区/县
  street: 'street', // 街道/镇
  community: 'community', // 社区/村
} as const;
export type ActingLevel = (typeof ActingLevel)[keyof typeof ActingLevel];
export const ACTING_LEVELS = Object.values(ActingLevel) as ActingLevel[];

export const ActingLevelLabelZh: Readonly<Record<ActingLevel, string>> = {
  city: '市直部门',
  district: '区/县',
  street: '街道/镇',
  community: '社区/村',
};

const LEVEL_ALIASES: Record<string, ActingLevel> = {
  '': 'city',
  city: 'city',
  市: 'city',
  市级: 'city',
  市直: 'city',
  市直部门: 'city',
  district: 'district',
  区: 'district',
  县: 'district',
  区县: 'district',
  '区/县': 'district',
  street: 'street',
  街道: 'street',
  镇: 'street',
  镇街: 'street',
  '街道/镇': 'street',
  community: 'community',
  社区: 'community',
  村: 'community',
  村居: 'community',
  '社区/村': 'community',
};

/** An acting level from its code or Chinese label; empty means `city`; null when unknown. */
export function parseActingLevel(s: string): ActingLevel | null {
  return LEVEL_ALIASES[s.trim().toLowerCase()] ?? null;
}

/** The columns of the CSV, in order. Lists inside a field are separated by `|`. */
export const RESPONSIBILITY_CSV_COLUMNS = [
  'item_code',
  'category_code',
  'situation_keywords',
  'territory_level',
  'lead_unit_code',
  'co_unit_codes',
  'procedure',
  'standard',
  'contact_phone',
  'legal_basis',
] as const;

/** A unit reference as stored on an item: the id, and the code it had when the list was imported. */
export interface ItemUnitRef {
  id: string;
  code: string;
}

/** One item (清单事项) as checked from the CSV, its units resolved. */
export interface ResponsibilityItemInput {
  /** The item's line in the CSV (1-based; the header is line 1). */
  line: number;
  itemCode: string;
  categoryCode: string;
  /** 具体情形: words of the caller's text that select this item among the category's items. */
  situationKeywords: string[];
  actingLevel: ActingLevel;
  /** The lead unit (主办) for city items; null for territorial items (the place's unit leads). */
  leadUnit: ItemUnitRef | null;
  /** Co-handling units (协办). */
  coUnits: ItemUnitRef[];
  /** 办理流程. */
  procedure: string;
  /** 办理标准 / 时限. */
  standard: string;
  /** 联系电话 of the responsible section, as written (validated). */
  contactPhone: string | null;
  /** 法律依据. */
  legalBasis: string;
}

/** A problem of the CSV; `line` 1-based (1 is the header), 0 for the file as a whole. */
export interface CsvProblem {
  line: number;
  field?: string;
  message: string;
  messageZh: string;
}

/** What the CSV is checked against: the city's active categories and its units, by code. */
export interface CsvLookups {
  categoryCodes: ReadonlySet<string>;
  units: ReadonlyMap<string, { id: string; code: string; kind: string; active: boolean }>;
}

export type ParseCsvResult = { ok: true; items: ResponsibilityItemInput[] } | { ok: false; problems: CsvProblem[] };

/** More than a city's list will ever hold (寿光: ~5,000); a guard against a wrong file. */
export const MAX_ITEMS = 50_000;

const ITEM_CODE = /^[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff_.\-]{0,63}$/;
const LIMITS = { keyword: 32, keywords: 30, procedure: 4000, standard: 2000, legalBasis: 2000 };
const len = (s: string) => [...s].length;

function splitList(s: string): string[] {
  return s
    .split('|')
    .map((x) => x.trim())
    .filter(Boolean);
}

/**
 * Parses and checks a responsibility list CSV: every problem is reported with its line (unknown
 * category or unit codes, a bad level, a duplicate item code, a bad phone, missing fields), and the
 * items are returned only when there is none.
 */
export function parseResponsibilityCsv(text: string, lookups: CsvLookups): ParseCsvResult {
  const problems: CsvProblem[] = [];
  const add = (line: number, field: string | undefined, message: string, messageZh: string) =>
    problems.push(field ? { line, field, message, messageZh } : { line, message, messageZh });

  const read = readCsvWithLines(text, RESPONSIBILITY_CSV_COLUMNS, RESPONSIBILITY_CSV_COLUMNS);
  problems.push(...read.problems);
  if (!read.rows) return { ok: false, problems };
  const records = read.rows;
  if (records.length === 0) {
    add(0, undefined, 'the file holds no items', '文件中没有任何清单事项');
    return { ok: false, problems };
  }
  if (records.length > MAX_ITEMS) {
    add(0, undefined, `more than ${MAX_ITEMS} items`, `清单事项超过 ${MAX_ITEMS} 条`);
    return { ok: false, problems };
  }

  const firstLineOfCode = new Map<string, number>();
  const items: ResponsibilityItemInput[] = [];
  for (const { line, get } of records) {
    const before = problems.length;

    const itemCode = get('item_code');
    if (!itemCode) add(line, 'item_code', 'item_code is required', 'item_code 必填');
    else if (!ITEM_CODE.test(itemCode)) add(line, 'item_code', `item_code "${itemCode}": 1-64 letters, digits, Chinese characters or . _ -`, `item_code「${itemCode}」须为1-64位字母、数字、汉字或 . _ -`);
    else {
      const first = firstLineOfCode.get(itemCode);
      if (first !== undefined) add(line, 'item_code', `duplicate item_code ${itemCode} (first on line ${first})`, `事项编码 ${itemCode} 重复（首次出现在第${first}行）`);
      else firstLineOfCode.set(itemCode, line);
    }

    const categoryCode = get('category_code');
    if (!categoryCode) add(line, 'category_code', 'category_code is required', 'category_code 必填');
    else if (!lookups.categoryCodes.has(categoryCode)) add(line, 'category_code', `unknown or inactive category ${categoryCode}`, `分类 ${categoryCode} 不存在或已停用`);

    const situationKeywords = [...new Set(splitList(get('situation_keywords')))];
    if (situationKeywords.length > LIMITS.keywords) add(line, 'situation_keywords', `more than ${LIMITS.keywords} keywords`, `情形关键词超过${LIMITS.keywords}个`);
    for (const k of situationKeywords) {
      if (len(k) > LIMITS.keyword) add(line, 'situation_keywords', `keyword "${k}" is longer than ${LIMITS.keyword} characters`, `关键词「${k}」超过${LIMITS.keyword}个字符`);
    }

    const levelText = get('territory_level');
    const actingLevel = parseActingLevel(levelText);
    if (!actingLevel) {
      add(line, 'territory_level', `unknown territory_level "${levelText}" (city, district, street, community; empty for city)`, `承办层级「${levelText}」无效（city/district/street/community 或 市直部门/区县/街道/社区，空为市直部门）`);
    }

    const unitOf = (field: string, code: string): ItemUnitRef | null => {
      const u = lookups.units.get(code);
      if (!u) {
        add(line, field, `unknown unit ${code}`, `承办单位 ${code} 不存在`);
        return null;
      }
      if (!u.active) {
        add(line, field, `unit ${code} is inactive`, `承办单位 ${code} 已停用`);
        return null;
      }
      return { id: u.id, code: u.code };
    };

    const leadCode = get('lead_unit_code');
    let leadUnit: ItemUnitRef | null = null;
    if (actingLevel === 'city') {
      if (!leadCode) add(line, 'lead_unit_code', 'lead_unit_code is required when a city department acts', '市直部门承办的事项须填写主办单位 lead_unit_code');
      else leadUnit = unitOf('lead_unit_code', leadCode);
    } else if (actingLevel && leadCode) {
      add(
        line,
        'lead_unit_code',
        `lead_unit_code must be empty when the ${actingLevel} acts: the ${actingLevel} of the ticket's place leads`,
        `承办层级为${ActingLevelLabelZh[actingLevel]}时主办单位须留空：由工单所在地的${ActingLevelLabelZh[actingLevel]}主办`,
      );
    }

    const coCodes = splitList(get('co_unit_codes'));
    const coUnits: ItemUnitRef[] = [];
    const seenCo = new Set<string>();
    for (const code of coCodes) {
      if (seenCo.has(code)) {
        add(line, 'co_unit_codes', `co-handling unit ${code} listed twice`, `协办单位 ${code} 重复`);
        continue;
      }
      seenCo.add(code);
      if (code === leadCode) {
        add(line, 'co_unit_codes', `the lead unit ${code} cannot also co-handle`, `主办单位 ${code} 不能同时为协办单位`);
        continue;
      }
      const u = unitOf('co_unit_codes', code);
      if (u) coUnits.push(u);
    }

    const procedure = get('procedure');
    if (!procedure) add(line, 'procedure', 'procedure is required', '办理流程 procedure 必填');
    else if (len(procedure) > LIMITS.procedure) add(line, 'procedure', `procedure is longer than ${LIMITS.procedure} characters`, `办理流程超过${LIMITS.procedure}个字符`);
    const standard = get('standard');
    if (!standard) add(line, 'standard', 'standard is required', '办理标准 standard 必填');
    else if (len(standard) > LIMITS.standard) add(line, 'standard', `standard is longer than ${LIMITS.standard} characters`, `办理标准超过${LIMITS.standard}个字符`);
    const legalBasis = get('legal_basis');
    if (len(legalBasis) > LIMITS.legalBasis) add(line, 'legal_basis', `legal_basis is longer than ${LIMITS.legalBasis} characters`, `法律依据超过${LIMITS.legalBasis}个字符`);

    const phone = get('contact_phone');
    if (phone && (phone.length > 32 || !normalizePhone(phone))) {
      add(line, 'contact_phone', `contact_phone "${phone}" is not a phone number (mobile, landline with area code, or a service number like 12345)`, `联系电话「${phone}」无效（手机号、带区号的固定电话或12345等服务号码）`);
    }

    if (problems.length === before && actingLevel) {
      items.push({
        line,
        itemCode,
        categoryCode,
        situationKeywords,
        actingLevel,
        leadUnit,
        coUnits,
        procedure,
        standard,
        contactPhone: phone || null,
        legalBasis,
      });
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, items };
}

/** An item as written back to CSV (unit codes as stored). */
export interface CsvItem {
  itemCode: string;
  categoryCode: string;
  situationKeywords: string[];
  actingLevel: ActingLevel;
  leadUnitCode: string | null;
  coUnitCodes: string[];
  procedure: string;
  standard: string;
  contactPhone: string | null;
  legalBasis: string;
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * The CSV of a list: UTF-8 with a BOM (so that Excel shows the Chinese), a header row, one item per
 * line in the list's order. Importing it gives the same items.
 */
export function writeResponsibilityCsv(items: CsvItem[]): string {
  const lines = [RESPONSIBILITY_CSV_COLUMNS.join(',')];
  for (const i of items) {
    lines.push(
      [
        i.itemCode,
        i.categoryCode,
        i.situationKeywords.join('|'),
        i.actingLevel,
        i.leadUnitCode ?? '',
        i.coUnitCodes.join('|'),
        i.procedure,
        i.standard,
        i.contactPhone ?? '',
        i.legalBasis,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return '\uFEFF' + lines.join('\r\n') + '\r\n';
}

/** A fingerprint of the items' content (not of the file's spelling): two files with the same items agree. */
export function itemsHash(items: (ResponsibilityItemInput | CsvItem)[]): string {
  const canonical = items.map((i) => {
    const lead = 'leadUnit' in i ? (i.leadUnit?.code ?? null) : i.leadUnitCode;
    const co = 'coUnits' in i ? i.coUnits.map((u) => u.code) : i.coUnitCodes;
    return [i.itemCode, i.categoryCode, i.situationKeywords, i.actingLevel, lead, co, i.procedure, i.standard, i.contactPhone, i.legalBasis];
  });
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
