/**
 * The report as one self-contained HTML page (handlebars), ready to print on A4: the title and
 * period, the headline figures with 环比, then each section's paragraphs, tables and charts (SVG drawn
 * on the server). Everything from the document is escaped by handlebars' `{{ }}`; the only raw
 * insertion is ECharts' own SVG output, which escapes its text. The page loads nothing and runs no
 * script (a Content-Security-Policy says so), so chromium prints exactly what is here.
 */
import Handlebars from 'handlebars';
import { REPORT_KIND_ZH, type ReportDocument } from '../domain/report-document';
import { formatValue, periodChange } from './format';
import { renderChartSvg, REPORT_FONT_FAMILY, type ChartSize } from './charts';

const TEMPLATE = `<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:">
<title>{{titleZh}}</title>
<style>
  @page { size: A4; margin: 16mm 14mm 18mm 14mm; }
  * { box-sizing: border-box; }
  body { font-family: {{{fontFamily}}}; color: #1f2329; font-size: 10.5pt; line-height: 1.6; margin: 0; }
  header { border-bottom: 2px solid #c0392b; padding-bottom: 6pt; margin-bottom: 10pt; }
  h1 { font-size: 18pt; margin: 0 0 4pt; text-align: center; letter-spacing: 1pt; }
  .meta { display: flex; justify-content: space-between; color: #555; font-size: 9.5pt; }
  h2 { font-size: 13pt; border-left: 4px solid #c0392b; padding-left: 6pt; margin: 14pt 0 6pt; break-after: avoid; }
  h3 { font-size: 11pt; margin: 8pt 0 4pt; break-after: avoid; }
  p { margin: 0 0 5pt; text-indent: 2em; }
  .cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6pt; }
  .card { border: 1px solid #dcdfe6; border-radius: 4pt; padding: 5pt 7pt; break-inside: avoid; }
  .card .label { color: #606266; font-size: 9pt; }
  .card .value { font-size: 15pt; font-weight: bold; }
  .card .change { font-size: 8.5pt; color: #909399; }
  table { width: 100%; border-collapse: collapse; margin: 4pt 0 8pt; font-size: 9pt; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  th, td { border: 1px solid #c8ccd4; padding: 3pt 5pt; }
  th { background: #f2f3f5; font-weight: bold; text-align: center; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  figure { margin: 6pt 0 10pt; break-inside: avoid; text-align: center; }
  figure svg { max-width: 100%; height: auto; }
  figcaption { font-size: 9pt; color: #606266; }
  footer { margin-top: 14pt; font-size: 8.5pt; color: #909399; text-align: right; }
</style>
</head>
<body>
<header>
  <h1>{{titleZh}}</h1>
  <div class="meta"><span>{{cityName}} · {{kindZh}}</span><span>统计周期：{{period.label}}（{{period.from}} 至 {{periodToInclusive}}）</span></div>
  {{#if previousPeriod}}<div class="meta"><span></span><span>环比周期：{{previousPeriod.label}}</span></div>{{/if}}
</header>
{{#if summary.length}}
<section class="summary">
  <h2>主要指标</h2>
  <div class="cards">
  {{#each summary}}
    <div class="card"><div class="label">{{labelZh}}</div><div class="value">{{valueText}}</div><div class="change {{change.direction}}">环比 {{change.text}}</div></div>
  {{/each}}
  </div>
</section>
{{/if}}
{{#each sections}}
<section id="section-{{id}}">
  <h2>{{titleZh}}</h2>
  {{#each paragraphsZh}}<p>{{this}}</p>{{/each}}
  {{#each tables}}
  <h3>{{titleZh}}</h3>
  <table>
    <thead><tr>{{#each columns}}<th>{{labelZh}}</th>{{/each}}</tr></thead>
    <tbody>
    {{#each rows}}<tr>{{#each this}}<td class="{{cls}}">{{text}}</td>{{/each}}</tr>
    {{/each}}
    </tbody>
  </table>
  {{/each}}
  {{#each charts}}
  <figure>{{{svg}}}<figcaption>{{titleZh}}</figcaption></figure>
  {{/each}}
</section>
{{/each}}
<footer>生成时间：{{generatedAt}} · 12345 政务服务便民热线</footer>
</body>
</html>`;

const handlebars = Handlebars.create();
const template = handlebars.compile(TEMPLATE, { strict: false, noEscape: false });

export interface HtmlRenderOptions {
  chartSize?: ChartSize;
}

/** The day before an exclusive end date, for "from … to …" as people read it. */
export function inclusiveEnd(to: string): string {
  const d = new Date(`${to}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

/** Renders the document to a print-ready A4 HTML page. */
export function renderReportHtml(doc: ReportDocument, opts: HtmlRenderOptions = {}): string {
  const view = {
    titleZh: doc.titleZh,
    cityName: doc.cityName,
    kindZh: REPORT_KIND_ZH[doc.kind] ?? doc.kind,
    period: doc.period,
    periodToInclusive: inclusiveEnd(doc.period.to),
    previousPeriod: doc.previousPeriod,
    generatedAt: doc.generatedAt.replace('T', ' ').replace(/\+08:00$/, ''),
    fontFamily: REPORT_FONT_FAMILY,
    summary: doc.summary.map((f) => ({ labelZh: f.labelZh, valueText: formatValue(f.value, f.unit), change: periodChange(f) })),
    sections: doc.sections.map((s) => ({
      id: s.id,
      titleZh: s.titleZh,
      paragraphsZh: s.paragraphsZh,
      tables: s.tables.map((t) => ({
        titleZh: t.titleZh,
        columns: t.columns,
        rows: t.rows.map((row) =>
          t.columns.map((c) => {
            const v = row[c.key];
            return { text: formatValue(v, c.unit), cls: typeof v === 'number' ? 'num' : '' };
          })),
      })),
      charts: s.charts.map((c) => ({ titleZh: c.titleZh, svg: renderChartSvg(c, opts.chartSize) })),
    })),
  };
  return template(view);
}
