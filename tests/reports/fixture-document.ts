/**
 * A realistic monthly bulletin (月通报) as the figures service would build it: headline figures with
 * the previous month, sections by unit, by category and a ranking, with tables, drill-down queries
 * and ECharts options. `hostile` puts markup and script into every text a city controls.
 */
import type { ReportDocument, ReportKind, ReportPeriod } from '../../reports';

export const HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>&"\'';

export function fixtureDocument(opts: { kind?: ReportKind; period?: ReportPeriod; cityId?: string; unitName?: string; hostile?: boolean } = {}): ReportDocument {
  const bad = opts.hostile ? HOSTILE : '';
  const unitA = `${opts.unitName ?? '市住建局'}${bad}`;
  const period = opts.period ?? { from: '2025-11-01', to: '2025-12-01', label: '2025年11月' };
  return {
    kind: opts.kind ?? 'monthly',
    cityId: opts.cityId ?? 'demo',
    cityName: `演示市${bad}`,
    period,
    previousPeriod: { from: '2025-10-01', to: '2025-11-01', label: '2025年10月' },
    generatedAt: '2025-12-01T08:00:00+08:00',
    titleZh: `演示市12345热线${period.label}通报${bad}`,
    summary: [
      { kpi: 'accepted', labelZh: '受理总量', value: 12873, unit: 'count', previous: 11920, drill: '/api/v1/reports/drill?kpi=accepted&from=2025-11-01&to=2025-12-01' },
      { kpi: 'onTimeCompletionRate', labelZh: '按期办结率', value: 0.9634, unit: 'rate', numerator: 9821, denominator: 10194, previous: 0.9512 },
      { kpi: 'satisfactionRate', labelZh: '群众满意率', value: 0.9892, unit: 'rate', previous: 0.9901 },
      { kpi: 'averageSpeedOfAnswer', labelZh: '平均应答时长', value: 14.2, unit: 'seconds', previous: 16.8 },
    ],
    sections: [
      {
        id: 'overview',
        titleZh: '总体情况',
        paragraphsZh: [`本月共受理群众诉求12873件，环比增长8.0%。${bad}`, '按期办结率96.34%，群众满意率98.92%。'],
        tables: [],
        charts: [{
          id: 'daily-volume', titleZh: `每日受理量${bad}`,
          option: {
            xAxis: { type: 'category', data: Array.from({ length: 30 }, (_, i) => `11-${String(i + 1).padStart(2, '0')}`) },
            yAxis: { type: 'value' },
            series: [{ type: 'line', name: '受理量', data: Array.from({ length: 30 }, (_, i) => 380 + ((i * 37) % 90)) }],
          },
        }],
      },
      {
        id: 'units',
        titleZh: '分单位情况',
        paragraphsZh: ['各承办单位办理情况如下。'],
        tables: [{
          id: 'unit-kpis',
          titleZh: `承办单位考核指标${bad}`,
          columns: [
            { key: 'unit', labelZh: '承办单位', unit: 'text' }, { key: 'received', labelZh: '派单量', unit: 'count' },
            { key: 'ackRate', labelZh: '及时签收率', unit: 'rate' }, { key: 'onTimeRate', labelZh: '按期办结率', unit: 'rate' },
            { key: 'satisfaction', labelZh: '群众满意率', unit: 'rate' }, { key: 'score', labelZh: '综合得分', unit: 'score' },
          ],
          rows: [
            { unit: unitA, received: 3210, ackRate: 0.9912, onTimeRate: 0.9701, satisfaction: 0.9855, score: 96.42 },
            { unit: '市水务集团', received: 2875, ackRate: 0.9987, onTimeRate: 0.9823, satisfaction: 0.9911, score: 98.1 },
            { unit: '东城街道', received: 1460, ackRate: 0.9521, onTimeRate: null, satisfaction: 0.9633, score: 91.07 },
          ],
          drill: [
            { unit: null, received: '/api/v1/reports/drill?kpi=received&unitId=u-zj', ackRate: null, onTimeRate: null, satisfaction: null, score: null },
            { unit: null, received: '/api/v1/reports/drill?kpi=received&unitId=u-sw', ackRate: null, onTimeRate: null, satisfaction: null, score: null },
            { unit: null, received: '/api/v1/reports/drill?kpi=received&unitId=u-dc', ackRate: null, onTimeRate: null, satisfaction: null, score: null },
          ],
        }],
        charts: [{
          id: 'unit-volume', titleZh: '各单位派单量',
          option: { xAxis: { type: 'category', data: [unitA, '市水务集团', '东城街道'] }, yAxis: { type: 'value' }, series: [{ type: 'bar', name: '派单量', data: [3210, 2875, 1460] }] },
        }],
      },
      {
        id: 'categories',
        titleZh: '分类别情况',
        paragraphsZh: [],
        tables: [{
          id: 'category-counts', titleZh: '诉求类别分布',
          columns: [{ key: 'category', labelZh: '类别', unit: 'text' }, { key: 'count', labelZh: '件数', unit: 'count' }, { key: 'share', labelZh: '占比', unit: 'rate' }],
          rows: [
            { category: '城乡建设/物业管理', count: 2431, share: 0.1888 }, { category: '公用事业/供水', count: 1877, share: 0.1458 },
            { category: '交通运输/出租车', count: 905, share: 0.0703 },
          ],
        }],
        charts: [],
      },
    ],
  };
}
