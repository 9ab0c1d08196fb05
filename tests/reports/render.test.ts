/**
 * The formats, opened and read back: the HTML escapes what a city typed, the PDF (Debian's chromium)
 * holds the report's Chinese text on A4 pages — read with poppler's pdftotext, its first page saved
 * as an image under test-artifacts/reports/ — and the Excel file re-read with exceljs has its sheets,
 * header cells, numbers with formats, a frozen header and the charts as images.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { renderReportHtml, renderReportExcel, createChromiumPrinter, findChromiumBinary, sheetNameFor, periodChange, formatValue } from '../../reports';
import { fixtureDocument, HOSTILE } from './fixture-document';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'reports');
const work = mkdtempSync(join(tmpdir(), 'report-render-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function hasPoppler() {
  try {
    execFileSync('pdftotext', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('figures as read', () => {
  it('formats rates as percentages, durations in seconds or minutes, and nothing as a dash', () => {
    expect(formatValue(0.96342, 'rate')).toBe('96.34%');
    expect(formatValue(12873, 'count')).toBe('12,873');
    expect(formatValue(14.24, 'seconds')).toBe('14.2 秒');
    expect(formatValue(600, 'seconds')).toBe('10.0 分钟');
    expect(formatValue(null, 'rate')).toBe('—');
  });

  it('gives 环比 of a rate in percentage points and of a count as a relative change', () => {
    expect(periodChange({ value: 0.9634, previous: 0.9512, unit: 'rate' })).toEqual({ direction: 'up', text: '↑1.22个百分点' });
    expect(periodChange({ value: 12873, previous: 11920, unit: 'count' })).toEqual({ direction: 'up', text: '↑8.0%' });
    expect(periodChange({ value: 10, previous: 20, unit: 'count' })).toEqual({ direction: 'down', text: '↓50.0%' });
    expect(periodChange({ value: 5, previous: 0, unit: 'count' }).text).toBe('上期为 0');
    expect(periodChange({ value: 5, previous: null, unit: 'count' }).direction).toBe('none');
  });

  it('makes sheet names Excel accepts: 31 characters, no []:*?/\\, unique', () => {
    const taken = new Set<string>();
    expect(sheetNameFor('分类/别[1]', taken)).toBe('分类 别 1');
    const long = '很长的表名'.repeat(10);
    const first = sheetNameFor(long, taken);
    const second = sheetNameFor(long, taken);
    expect(first.length).toBeLessThanOrEqual(31);
    expect(second.length).toBeLessThanOrEqual(31);
    expect(second).not.toBe(first);
  });
});

describe('HTML', () => {
  it('escapes hostile text everywhere (title, city, paragraphs, table cells, chart titles and labels)', () => {
    const html = renderReportHtml(fixtureDocument({ hostile: true }));
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    // Inside the server-drawn SVG too (ECharts escapes its text).
    const svg = html.slice(html.indexOf('<svg'), html.lastIndexOf('</svg>'));
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).not.toContain('<script');
    expect(HOSTILE).toContain('<script>');
  });

  it('is a print-ready A4 page with the summary, 环比, tables and server-side SVG charts, loading and running nothing', () => {
    const html = renderReportHtml(fixtureDocument());
    expect(html).toContain('size: A4');
    expect(html).toContain("default-src 'none'");
    expect(html).toContain('受理总量');
    expect(html).toContain('12,873');
    expect(html).toContain('环比 ↑1.22个百分点');
    expect(html).toContain('<th>按期办结率</th>');
    expect(html).toContain('97.01%');
    expect((html.match(/<svg/g) ?? []).length).toBe(2);
    expect(html).toContain('统计周期：2025年11月（2025-11-01 至 2025-11-30）');
  });
});

const chromium = findChromiumBinary(process.env.CHROMIUM_PATH);
const skipPdf = !chromium && process.env.CI !== 'true';

describe.skipIf(skipPdf)('PDF and Excel through chromium', () => {
  const printer = createChromiumPrinter({ executablePath: chromium });

  it.skipIf(!hasPoppler() && process.env.CI !== 'true')('prints an A4 PDF whose text is the report in Chinese, and saves its first page as an image', async () => {
    const pdf = await printer.pdf(renderReportHtml(fixtureDocument({ hostile: true })));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const file = join(work, 'bulletin.pdf');
    writeFileSync(file, pdf);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    for (const s of ['演示市12345热线2025年11月通报', '主要指标', '受理总量', '12,873', '96.34%', '↑1.22个百分点', '承办单位考核指标', '市水务集团', '98.23%', '诉求类别分布', '城乡建设/物业管理', '每日受理量']) {
      expect(text).toContain(s);
    }
    // Hostile text is printed as text.
    expect(text).toContain('<script>alert("x")</script>');
    const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
    expect(info).toMatch(/Page size:\s+59[45](\.\d+)? x 84[12](\.\d+)? pts \(A4\)/);
    expect(Number(/Pages:\s+(\d+)/.exec(info)![1])).toBeGreaterThanOrEqual(1);
    mkdirSync(ARTIFACTS, { recursive: true });
    execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', '-singlefile', file, join(ARTIFACTS, 'monthly-bulletin-page1')]);
    expect(existsSync(join(ARTIFACTS, 'monthly-bulletin-page1.png'))).toBe(true);
  });

  it('writes a workbook that exceljs reads back: sheets, styled frozen headers, numbers with formats, charts as PNG', async () => {
    const xlsx = await renderReportExcel(fixtureDocument(), { printer });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx as unknown as ExcelJS.Buffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['概要', '总体情况', '承办单位考核指标', '诉求类别分布']); // in reading order

    const summary = wb.getWorksheet('概要')!;
    expect(summary.getRow(2).values).toEqual([undefined, '指标', '本期', '上期', '环比']);
    expect(summary.getCell('A3').value).toBe('受理总量');
    expect(summary.getCell('B3').value).toBe(12873);
    expect(summary.getCell('B4').value).toBe(0.9634);
    expect(summary.getCell('B4').numFmt).toBe('0.00%');
    expect(summary.getCell('D4').value).toBe('↑1.22个百分点');

    const units = wb.getWorksheet('承办单位考核指标')!;
    expect(units.getCell('A1').value).toBe('承办单位考核指标');
    expect(units.getRow(2).values).toEqual([undefined, '承办单位', '派单量', '及时签收率', '按期办结率', '群众满意率', '综合得分']);
    expect(units.getCell('A2').font?.bold).toBe(true);
    expect(units.views[0]).toMatchObject({ state: 'frozen', ySplit: 2 });
    expect(units.getCell('B3').value).toBe(3210);
    expect(units.getCell('B3').numFmt).toBe('#,##0');
    expect(units.getCell('C4').value).toBe(0.9987);
    expect(units.getCell('C4').numFmt).toBe('0.00%');
    expect(units.getCell('D5').value).toBe(null);
    expect(units.getColumn(1).width).toBeGreaterThanOrEqual(10);
    // The section's chart sits beside its table; the overview (no table) has a sheet for its chart.
    expect(units.getImages()).toHaveLength(1);
    expect(wb.getWorksheet('总体情况')!.getImages()).toHaveLength(1);
    const media = (wb.model as unknown as { media: { extension: string; buffer: Buffer }[] }).media;
    expect(media).toHaveLength(2);
    // One chromium screenshot of both charts, cut into one PNG per chart at 2× (680×320 CSS px).
    for (const m of media) {
      const png = Buffer.from(m.buffer);
      expect(m.extension).toBe('png');
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1360, 640]);
    }
    expect(Buffer.from(media[0].buffer).equals(Buffer.from(media[1].buffer))).toBe(false);
    // The cut bands are real images: the line chart's band is not blank (a blank band compresses to almost nothing).
    expect(Buffer.from(media[0].buffer).length).toBeGreaterThan(5000);
  });
});
