/**
 * Builds cities/demo/categories.csv, the demo city's 4-level category tree (问题分类), from:
 *  - the Teddy Cup 2020 label system (15/118/517, the government-affairs side): levels 1–3;
 *  - GB/T 47678.5-2026 (153 components, 250 matters, 5-digit codes kept in the node codes
 *    B01037 / S06010): level 1 城市管理, level 2 its major classes, level 3 its items;
 *  - cities/demo/sources/category-curation.csv: the fourth level (concrete situations, e.g. 路灯不亮,
 *    井盖缺失) and the keywords, default type/urgency, time-limit policy and utility flag of nodes
 *    the demo city needs.
 * Run: npx tsx cities/tools/build-demo-categories.ts [../shared/data/taxonomy]
 * The output is committed; category names and standard codes are facts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

const taxonomyDir = process.argv[2] ?? '../shared/data/taxonomy';
const read = (f: string) => parse(readFileSync(f, 'utf8'), { bom: true, columns: true, skip_empty_lines: true }) as Record<string, string>[];

interface Node {
  code: string;
  name: string;
  level: number;
  parent: Node | null;
  keywords: string[];
  defaultType: string;
  defaultUrgency: string;
  policyCode: string;
  utility: boolean;
  children: Node[];
}
const byPath = new Map<string, Node>();
const ordered: Node[] = [];
const pathOf = (n: Node): string => (n.parent ? pathOf(n.parent) + '/' : '') + n.name;

function add(parent: Node | null, code: string, name: string): Node {
  const key = (parent ? pathOf(parent) + '/' : '') + name;
  const existing = byPath.get(key);
  if (existing) return existing;
  const n: Node = { code, name, level: parent ? parent.level + 1 : 1, parent, keywords: [], defaultType: '', defaultUrgency: '', policyCode: '', utility: false, children: [] };
  parent?.children.push(n);
  byPath.set(key, n);
  ordered.push(n);
  return n;
}
const nextChildCode = (p: Node) => p.code + String(p.children.length + 1).padStart(2, '0');

// Government affairs: Teddy levels 1–3, numbered in the order of the source.
const l1Codes = new Map<string, string>();
for (const r of read(join(taxonomyDir, 'teddy2020-3level.csv'))) {
  const [a, b, c] = [r['一级分类'], r['二级分类'], r['三级分类']];
  if (!l1Codes.has(a)) l1Codes.set(a, String(l1Codes.size + 1).padStart(2, '0'));
  const n1 = add(null, l1Codes.get(a)!, a);
  const n2 = byPath.get(`${a}/${b}`) ?? add(n1, nextChildCode(n1), b);
  if (!byPath.get(`${a}/${b}/${c}`)) add(n2, nextChildCode(n2), c);
}

// City management (数字化城市管理): GB/T 47678.5-2026, codes kept (B = 部件 component, S = 事项 matter).
const cm = add(null, String(l1Codes.size + 1).padStart(2, '0'), '城市管理');
cm.keywords = ['数字城管', '城市管理'];
for (const r of read(join(taxonomyDir, 'gbt47678.5-2026.csv'))) {
  const prefix = r.kind === '管理部件' ? 'B' : 'S';
  const major = byPath.get(`城市管理/${r.kind}·${r.major_name}`) ?? add(cm, `${cm.code}${prefix}${r.major_code}`, `${r.kind}·${r.major_name}`);
  const item = add(major, `${prefix}${r.code}`, r.name);
  item.keywords.push(r.code);
}

// The demo city's curation: attributes of existing nodes, and the fourth level.
for (const r of read('cities/demo/sources/category-curation.csv')) {
  const parent = byPath.get(r.path);
  if (!parent) throw new Error(`category-curation.csv: no node ${r.path}`);
  const target = r.kind === 'attr' ? parent : add(parent, nextChildCode(parent).replace(/^([A-Z]\d+)(\d{2})$/, '$1-$2'), r.name);
  if (target.level > 4) throw new Error(`category-curation.csv: ${r.path}/${r.name} would be level ${target.level}`);
  target.keywords.push(...r.keywords.split('|').filter(Boolean));
  target.defaultType = r.default_type || target.defaultType;
  target.defaultUrgency = r.default_urgency || target.defaultUrgency;
  target.policyCode = r.policy_code || target.policyCode;
  target.utility = target.utility || r.utility === '1';
}

const esc = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const lines = ['code,name,level,parent_code,keywords,default_type,default_urgency,policy_code,utility'];
for (const n of ordered) {
  lines.push([n.code, n.name, String(n.level), n.parent?.code ?? '', [...new Set(n.keywords)].join('|'), n.defaultType, n.defaultUrgency, n.policyCode, n.utility ? '1' : '0'].map(esc).join(','));
}
writeFileSync('cities/demo/categories.csv', lines.join('\n') + '\n');
const perLevel = [1, 2, 3, 4].map((l) => ordered.filter((n) => n.level === l).length);
console.log(`categories.csv: ${ordered.length} nodes (levels 1-4: ${perLevel.join('/')})`);
