import { parse as parseCsv } from 'csv-parse/sync';

/** A problem of a CSV file: 1-based line (0: the file as a whole), the column, both languages. */
export interface CsvLineProblem {
  line: number;
  field?: string;
  message: string;
  messageZh: string;
}

/** A data row with the line it starts on in the file (quoted fields may span lines). */
export interface CsvRow {
  line: number;
  get(column: string): string;
}

/**
 * Reads a CSV with a header row, keeping each row's line in the file for problem reports. Reports
 * missing and unknown columns, rows with the wrong number of fields and malformed quoting (which ends
 * the file: what follows cannot be trusted). `rows` is null when the file cannot be used at all.
 */
export function readCsvWithLines(text: string, columns: readonly string[], required: readonly string[]): { rows: CsvRow[] | null; problems: CsvLineProblem[] } {
  const problems: CsvLineProblem[] = [];
  const add = (line: number, field: string | undefined, message: string, messageZh: string) =>
    problems.push(field ? { line, field, message, messageZh } : { line, message, messageZh });
  let header: string[] = [];
  let records: { record: Record<string, string>; info: { lines: number; error?: unknown }; raw: string }[];
  try {
    records = parseCsv(text.replace(/\r\n?/g, '\n'), {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
      raw: true,
      columns: (h: string[]) => {
        header = h.map((c) => c.trim());
        return header;
      },
    });
  } catch (err) {
    const e = err as { lines?: number; message?: string };
    add(e.lines ?? 0, undefined, `malformed CSV: ${e.message}`, `CSV 格式错误（引号不匹配等）：${e.message}`);
    return { rows: null, problems };
  }
  if (header.length === 0) {
    add(1, undefined, `no header row: ${columns.join(',')}`, `缺少表头：${columns.join(',')}`);
    return { rows: null, problems };
  }
  const missing = required.filter((c) => !header.includes(c));
  for (const c of missing) add(1, c, `missing column ${c}`, `缺少列 ${c}`);
  for (const c of header) if (!columns.includes(c)) add(1, c, `unknown column ${c} (expected ${columns.join(',')})`, `未知列 ${c}（应为 ${columns.join(',')}）`);
  if (missing.length) return { rows: null, problems };
  const rows = records.map(({ record, info, raw }) => {
    // info.lines is the record's last line; a quoted field may span lines, and raw holds the empty lines skipped before it.
    const body = raw.replace(/^\n+/, '').replace(/\n$/, '');
    const line = info.lines - (body.match(/\n/g)?.length ?? 0);
    if (info.error) add(line, undefined, `expected ${header.length} fields, as in the header`, `字段数与表头（${header.length}列）不一致`);
    return { line, get: (c: string) => (record[c] ?? '').trim() };
  });
  return { rows, problems };
}
