/**
 * How a citizen reads a ticket's progress (办理进度): five stages in plain words, never the center's
 * internal states, notes, or who in a unit handles it.
 */
export const CitizenStage = {
  accepted: 'accepted', // 已受理
  handed_over: 'handed_over', // 已转交承办单位
  in_progress: 'in_progress', // 办理中
  done: 'done', // 已办结
  rated: 'rated', // 已评价
} as const;
export type CitizenStage = (typeof CitizenStage)[keyof typeof CitizenStage];

export const CITIZEN_STAGES: readonly CitizenStage[] = ['accepted', 'handed_over', 'in_progress', 'done', 'rated'];

export const CitizenStageZh: Readonly<Record<CitizenStage, string>> = {
  accepted: '已受理',
  handed_over: '已转交承办单位',
  in_progress: '办理中',
  done: '已办结',
  rated: '已评价',
};

/** The stage a ticket status shows as; answered on the spot (即办) is done at once. */
export function stageOf(status: string, satisfaction: string | null): CitizenStage {
  switch (status) {
    case 'accepted':
    case 'returned':
      return 'accepted';
    case 'dispatched':
    case 'acknowledged':
      return 'handed_over';
    case 'in_progress':
    case 'extension_requested':
    case 'replied':
      return 'in_progress';
    case 'closed':
      return satisfaction ? 'rated' : 'done';
    default:
      return 'done'; // answered, reviewed, callback, merged, cancelled
  }
}

/** A short line for statuses that need one beyond the stage. */
export function statusNoteZh(status: string): string | null {
  if (status === 'merged') return '您反映的问题已与同一问题合并办理。';
  if (status === 'cancelled') return '该工单已撤销。';
  if (status === 'answered') return '已当场答复。';
  if (status === 'reviewed' || status === 'callback') return '已办结，欢迎您对办理结果进行评价。';
  return null;
}

/** The result is shown once the center accepted it (审核通过), not while the unit's reply is checked. */
export const RESULT_VISIBLE: ReadonlySet<string> = new Set(['reviewed', 'callback', 'closed', 'answered']);
/** A rating is taken while the center calls back (回访), as from a callback or an SMS reply. */
export const RATEABLE: ReadonlySet<string> = new Set(['reviewed', 'callback']);

export const SatisfactionZh: Readonly<Record<string, string>> = {
  satisfied: '满意',
  basically_satisfied: '基本满意',
  unsatisfied: '不满意',
};
