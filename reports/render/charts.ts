/**
 * Charts rendered on the server by ECharts' SSR SVG renderer: the same option the console draws,
 * as an SVG string for HTML and PDF (and, through chromium, a PNG for Excel). ECharts escapes the
 * text it writes into the SVG, so a hostile category name stays text.
 */
import * as echarts from 'echarts';
import type { ReportChart } from '../domain/report-document';

export interface ChartSize {
  width: number;
  height: number;
}

export const DEFAULT_CHART_SIZE: ChartSize = { width: 680, height: 320 };

/** The CJK fonts Debian's fonts-noto-cjk installs, then the usual fallbacks. */
export const REPORT_FONT_FAMILY = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif';

/** One chart as a standalone SVG element (no animation: a printed chart is its final frame). */
export function renderChartSvg(chart: ReportChart, size: ChartSize = DEFAULT_CHART_SIZE): string {
  const instance = echarts.init(null, null, { renderer: 'svg', ssr: true, width: size.width, height: size.height });
  try {
    instance.setOption({ textStyle: { fontFamily: REPORT_FONT_FAMILY }, ...chart.option, animation: false });
    return instance.renderToSVGString();
  } finally {
    instance.dispose();
  }
}
