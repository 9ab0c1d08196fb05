/**
 * Reports (报表): the daily report, weekly review, monthly bulletin and yearly report as documents,
 * rendered to HTML, PDF and Excel, generated on request or on schedule, kept and listed.
 */
export * from './domain/report-document';
export { renderReportHtml } from './render/html';
export { renderReportExcel, sheetNameFor } from './render/excel';
export { renderChartSvg, DEFAULT_CHART_SIZE, type ChartSize } from './render/charts';
export { createChromiumPrinter, findChromiumBinary, type ReportPrinter, type ChromiumPrinterOptions } from './render/chromium';
export { formatValue, periodChange } from './render/format';
