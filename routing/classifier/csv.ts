/**
 * Reading the classifier's CSV files: labelled messages (`id,title,text,label`), unlabelled messages
 * (the Teddy Cup 留言 files, for vocabulary and IDF statistics) and the 3-level taxonomy. The files may
 * start with a BOM, use CRLF and hold quoted multi-line text.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { badRequest } from '../../core';
import type { TicketText } from './tokenize';

/** A labelled message: what the classifier learns from and is measured on. */
export interface LabelledExample {
  id: string;
  title: string;
  text: string;
  label: string;
}

/** One row of a 3-level taxonomy (一级分类, 二级分类, 三级分类). */
export interface TaxonomyRow {
  level1: string;
  level2: string;
  level3: string;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The shared data folder (`../shared/data` beside the repository, or `HOTLINE_SHARED_DATA`), or null if it
 * is absent: its messages carry no licence, so they are read in place and never copied into the repository.
 */
export function sharedDataDir(): string | null {
  const dir = process.env.HOTLINE_SHARED_DATA ?? resolve(REPO_ROOT, '../shared/data');
  return existsSync(dir) ? dir : null;
}

/** A file under the shared data folder, or null if the folder or the file is missing. */
export function sharedDataFile(...parts: string[]): string | null {
  const dir = sharedDataDir();
  if (!dir) return null;
  const file = resolve(dir, ...parts);
  return existsSync(file) ? file : null;
}

function readRecords(file: string): Record<string, string>[] {
  if (!existsSync(file)) throw badRequest('CLASSIFIER_FILE_MISSING', `no such file: ${file}`, `文件不存在：${file}`);
  return parse(readFileSync(file), {
    bom: true,
    columns: (header: string[]) => header.map((h) => h.trim()),
    skip_empty_lines: true,
    relax_column_count: true,
    trim: false,
  }) as Record<string, string>[];
}

/**
 * Labelled examples from a CSV with the columns `id,title,text,label` (extra columns ignored). Rows without
 * a label or without any text are skipped; a file lacking a column is refused.
 */
export function readLabelledCsv(file: string): LabelledExample[] {
  const rows = readRecords(file);
  const first = rows[0];
  if (first) {
    const missing = ['id', 'title', 'text', 'label'].filter((c) => !(c in first));
    if (missing.length) {
      throw badRequest('CLASSIFIER_CSV_COLUMNS', `${file}: missing column(s) ${missing.join(', ')}`, `${file} 缺少列：${missing.join('、')}`, { missing });
    }
  }
  const out: LabelledExample[] = [];
  for (const r of rows) {
    const label = (r.label ?? '').trim();
    const title = r.title ?? '';
    const text = r.text ?? '';
    if (!label || !(title.trim() || text.trim())) continue;
    out.push({ id: (r.id ?? '').trim(), title, text, label });
  }
  return out;
}

/**
 * Unlabelled messages for vocabulary statistics: the Teddy files (留言主题, 留言详情) or any CSV with
 * `title`/`text` columns.
 */
export function readUnlabelledCsv(file: string): TicketText[] {
  return readRecords(file)
    .map((r) => ({ title: r['留言主题'] ?? r.title ?? '', text: r['留言详情'] ?? r.text ?? '' }))
    .filter((t) => t.title.trim() || t.text.trim());
}

/** The rows of a 3-level taxonomy CSV (一级分类,二级分类,三级分类). */
export function readTaxonomyCsv(file: string): TaxonomyRow[] {
  return readRecords(file)
    .map((r) => ({ level1: (r['一级分类'] ?? '').trim(), level2: (r['二级分类'] ?? '').trim(), level3: (r['三级分类'] ?? '').trim() }))
    .filter((r) => r.level1);
}

/** A labelled example as the classifier's input. */
export const exampleText = (e: LabelledExample): TicketText => ({ title: e.title, text: e.text });
