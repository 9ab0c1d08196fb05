/**
 * Generated reports as the live feed tells of them (report.progressed, report.generated,
 * report.failed): the newest state of each export by id, so progress bars move without a refetch,
 * and a notice with the download link when one is ready.
 */
import { reactive } from 'vue';
import { ElNotification } from 'element-plus';
import { i18n } from '../i18n';
import type { ReportExport } from '../api/reports';
import { bump } from './changes';

const state = reactive({ byId: new Map<string, ReportExport>() });

/** Later states win: a progress event that arrives after the finished one is stale. */
function newer(a: ReportExport | undefined, b: ReportExport): boolean {
  if (!a) return true;
  const rank = (e: ReportExport) => (e.status === 'done' || e.status === 'failed' ? 1000 : 0) + e.progress;
  return rank(b) >= rank(a) || b.status === 'queued';
}

export const reportsStore = {
  state,
  /** The list's row with what the feed said since it was loaded. */
  current(e: ReportExport): ReportExport {
    const live = state.byId.get(e.id);
    return live && newer(e, live) ? live : e;
  },
};

export const reportsActions = {
  received(type: string, data: unknown) {
    const e = (data as { export?: ReportExport } | null)?.export;
    if (!e?.id) return;
    const had = state.byId.get(e.id);
    if (newer(had, e)) state.byId.set(e.id, e);
    if (!had) bump('reports');
    if (type === 'report.generated') {
      bump('reports');
      const t = i18n.global.t;
      ElNotification({
        type: 'success',
        title: t('reports.notice.ready'),
        dangerouslyUseHTMLString: false,
        message: `${e.title ?? e.kindZh}（${e.period.label}，${e.format.toUpperCase()}）`,
        duration: 10_000,
        onClick: () => {
          if (e.downloadUrl) window.location.assign(e.downloadUrl);
        },
      });
    }
    if (type === 'report.failed') bump('reports');
  },
};
