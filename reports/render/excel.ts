/**
 * The report as an Excel workbook (exceljs): a 概要 sheet with the headline figures and 环比, then one
 * sheet per section table — a title row, a bold shaded header frozen in place, numbers kept as
 * numbers with formats (rates as 0.00%, counts with separators), columns sized to their content —
 * and each section's charts as PNG images beside its first table (or on a sheet of their own).
 */
import ExcelJS from 'exceljs';
import type { ReportDocument, ReportTable } from '../domain/report-document';
import { excelNumberFormat, periodChange, formatValue } from './format';
import { renderChartSvg, DEFAULT_CHART_SIZE, type ChartSize } from './charts';
import type { ReportPrinter } from './chromium';
import { splitPngRows } from './png-bands';

export interface ExcelRenderOptions {
  /** Draws the charts as PNG; without it the workbook has the tables only. */
  printer?: ReportPrinter;
  chartSize?: ChartSize;
}

const HEADER_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFF2F3F5' } };
const THIN: Partial<ExcelJS.Border> = { style: 'thin', color: { argb: 'FFC8CCD4' } };
const BORDER: Partial<ExcelJS.Borders> = { top: THIN, left: THIN, bottom: THIN, right: THIN };

/** Excel's rules for sheet names: ≤ 31 characters, none of : \ / ? * [ ], unique ignoring case. */
export function sheetNameFor(title: string, taken: Set<string>): string {
  const base = (title.replace(/[:\\/?*[\]]/g, ' ').replace(/^'+|'+$/g, '').trim() || '表').slice(0, 31);
  let name = base;
  for (let i = 2; taken.has(name.toLowerCase()) || name.toLowerCase() === 'history'; i++) {
    const suffix = `(${i})`;
    name = base.slice(0, 31 - suffix.length) + suffix;
  }
  taken.add(name.toLowerCase());
  return name;
}

/** Display width of a text in Excel's character units: a CJK character takes two. */
function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}

function styleHeader(row: ExcelJS.Row) {
  row.font = { bold: true };
  row.alignment = { vertical: 'middle', horizontal: 'center', wrapText: true };
  row.eachCell((cell) => {
    cell.fill = HEADER_FILL;
    cell.border = BORDER;
  });
}

function writeTable(sheet: ExcelJS.Worksheet, title: string, table: Pick<ReportTable, 'columns' | 'rows'>) {
  const titleRow = sheet.addRow([title]);
  titleRow.font = { bold: true, size: 13 };
  if (table.columns.length > 1) sheet.mergeCells(1, 1, 1, table.columns.length);
  const header = sheet.addRow(table.columns.map((c) => c.labelZh));
  styleHeader(header);
  const widths = table.columns.map((c) => Math.max(8, textWidth(c.labelZh) + 2));
  for (const r of table.rows) {
    const row = sheet.addRow(table.columns.map((c) => r[c.key] ?? null));
    table.columns.forEach((c, i) => {
      const cell = row.getCell(i + 1);
      cell.border = BORDER;
      const v = r[c.key];
      if (typeof v === 'number') {
        const fmt = excelNumberFormat(c.unit);
        if (fmt) cell.numFmt = fmt;
      }
      widths[i] = Math.max(widths[i], Math.min(60, textWidth(typeof v === 'number' ? formatValue(v, c.unit) : String(v ?? '')) + 2));
    });
  }
  table.columns.forEach((_, i) => (sheet.getColumn(i + 1).width = widths[i]));
  // The title and header rows stay in view while scrolling.
  sheet.views = [{ state: 'frozen', xSplit: 0, ySplit: 2 }];
}

/** Every chart of the document, stacked, as one page: one chromium run draws them all. */
function chartsPage(svgs: string[], size: ChartSize): string {
  const blocks = svgs.map((svg) => `<div style="width:${size.width}px;height:${size.height}px;overflow:hidden">${svg}</div>`).join('');
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"><style>html,body{margin:0;padding:0;background:#fff;overflow:hidden}svg{display:block}</style></head><body>${blocks}</body></html>`;
}

const CHART_SCALE = 2;

/** The charts as PNGs, in document order. */
async function chartImages(doc: ReportDocument, printer: ReportPrinter, size: ChartSize): Promise<Buffer[]> {
  const svgs = doc.sections.flatMap((s) => s.charts.map((c) => renderChartSvg(c, size)));
  if (!svgs.length) return [];
  const shot = await printer.png(chartsPage(svgs, size), { width: size.width, height: size.height * svgs.length, scale: CHART_SCALE });
  return splitPngRows(shot, svgs.map((_, i) => ({ y: i * size.height * CHART_SCALE, height: size.height * CHART_SCALE })));
}

/** Renders the document to an .xlsx file's bytes. */
export async function renderReportExcel(doc: ReportDocument, opts: ExcelRenderOptions = {}): Promise<Buffer> {
  const size = opts.chartSize ?? DEFAULT_CHART_SIZE;
  const wb = new ExcelJS.Workbook();
  wb.creator = '12345 热线';
  wb.title = doc.titleZh;
  wb.created = new Date(doc.generatedAt);
  const taken = new Set<string>();
  const images = opts.printer ? await chartImages(doc, opts.printer, size) : [];
  let nextImage = 0;

  const summary = wb.addWorksheet(sheetNameFor('概要', taken));
  writeTable(summary, `${doc.titleZh}（${doc.period.label}）`, {
    columns: [
      { key: 'label', labelZh: '指标', unit: 'text' }, { key: 'value', labelZh: '本期' }, { key: 'previous', labelZh: '上期' }, { key: 'change', labelZh: '环比', unit: 'text' },
    ],
    rows: [],
  });
  for (const f of doc.summary) {
    const row = summary.addRow([f.labelZh, f.value, f.previous ?? null, periodChange(f).text]);
    const fmt = excelNumberFormat(f.unit);
    row.eachCell({ includeEmpty: true }, (cell, col) => {
      cell.border = BORDER;
      if ((col === 2 || col === 3) && fmt) cell.numFmt = fmt;
    });
    summary.getColumn(1).width = Math.max(summary.getColumn(1).width ?? 8, textWidth(f.labelZh) + 2);
  }
  summary.getColumn(4).width = 18;

  for (const section of doc.sections) {
    let chartSheet: ExcelJS.Worksheet | null = null;
    let chartColumn = 0;
    for (const table of section.tables) {
      const sheet = wb.addWorksheet(sheetNameFor(table.titleZh, taken));
      writeTable(sheet, table.titleZh, table);
      if (!chartSheet) {
        chartSheet = sheet;
        chartColumn = table.columns.length + 1;
      }
    }
    if (!section.charts.length || !opts.printer) continue;
    if (!chartSheet) {
      chartSheet = wb.addWorksheet(sheetNameFor(section.titleZh, taken));
      chartSheet.addRow([section.titleZh]).font = { bold: true, size: 13 };
      chartColumn = 0;
    }
    let top = 2;
    for (let i = 0; i < section.charts.length; i++) {
      const png = images[nextImage++];
      const imageId = wb.addImage({ buffer: png as unknown as ExcelJS.Buffer, extension: 'png' });
      chartSheet.addImage(imageId, { tl: { col: chartColumn, row: top }, ext: { width: size.width, height: size.height } });
      // A row is 20 px high by default: the next chart starts below this one.
      top += Math.ceil(size.height / 20) + 1;
    }
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}
