/**
 * The actions a viewer may take on one ticket from its page (工单详情页): the same commands, dialogs
 * (ActionDialog, DispatchDialog) and messages as the queues (DispatcherPage's tabs, UnitPage), chosen
 * by the viewer's role and the state of the ticket, its work orders and callbacks. The server decides
 * in the end (a stale page gets the API's Chinese error); this only spares buttons that cannot work.
 *
 *  - center (dispatcher, supervisor, admin): 派单 a saved ticket; 改派 / 维持原派 a return; 同意 / 驳回
 *    an extension; 督办 an open work order; 审核通过 / 退回重办 a reply;
 *  - center (agent included): 记录评价 / 未接通 a callback due;
 *  - the unit (its own work orders): 签收, 到场, 进展, 办结反馈, 申请延期, 退回.
 */
import { computed, ref, type Ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { ElMessageBox } from 'element-plus';
import { workOrdersApi } from '../api/workOrders';
import type { StoryWorkOrder, Ticket, TicketCallback, WorkOrder } from '../api/types';
import { isCenterRole, isUnitRole, session } from '../stores/session';
import { useActionDialog } from './useActionDialog';
import { useCommand } from './useCommand';

export interface TicketAction {
  key: string;
  label: string;
  type?: 'primary' | 'success' | 'warning' | 'danger';
  run: () => void;
}

const RULERS = ['dispatcher', 'supervisor', 'admin'];
const OPEN = ['dispatched', 'acknowledged', 'on_site', 'extension_requested'];

export function useTicketActions(
  ticket: Ref<Ticket | null>,
  workOrders: Ref<StoryWorkOrder[]>,
  callbacks: Ref<TicketCallback[] | null>,
  changed: () => void,
) {
  const { t } = useI18n();
  const dlg = useActionDialog();
  const cmd = useCommand();
  const dispatchOpen = ref(false);
  const role = computed(() => session.user?.role ?? null);

  const woSubject = (w: WorkOrder) => `${w.ticketNumber}  ${w.ticketTitle ?? ''}${w.unitName ? `\n${w.unitName}` : ''}`;
  const tkSubject = (tk: Ticket) => `${tk.number}  ${tk.title ?? ''}\n${t('tickets.result')}：${tk.result ?? ''}`;
  const done = (_result?: unknown) => changed();

  // --- the center -----------------------------------------------------------------------------
  const redispatch = (w: WorkOrder) => dlg.ask(
    { title: t('dispatcher.redispatch'), subject: woSubject(w), unit: 'required', unitLabel: t('dispatcher.newUnit'), reason: 'required', reasonLabel: t('dispatcher.rulingReason'), confirmText: t('dispatcher.redispatch') },
    async (v) => done(await workOrdersApi.returnRuling(w, { decision: 'redispatch', handlingUnitId: v.unitId, reason: v.reason })),
    t('dispatcher.done.redispatch', { number: w.ticketNumber }),
  );
  const confirmReturn = (w: WorkOrder) => dlg.ask(
    { title: t('dispatcher.confirmUnit'), subject: woSubject(w), reason: 'required', reasonLabel: t('dispatcher.rulingReason'), confirmText: t('dispatcher.confirmUnit') },
    async (v) => done(await workOrdersApi.returnRuling(w, { decision: 'confirm', reason: v.reason })),
    t('dispatcher.done.confirm', { number: w.ticketNumber }),
  );
  const grant = (w: WorkOrder) => dlg.ask(
    { title: t('dispatcher.grant'), subject: woSubject(w), deadline: { label: t('dispatcher.newDeadline'), default: w.extension?.proposedDeadline ?? null }, reason: 'optional', confirmText: t('dispatcher.grant') },
    async (v) => done(await workOrdersApi.extensionRuling(w, { decision: 'grant', ...(v.deadline ? { newDeadline: v.deadline } : {}), ...(v.reason ? { reason: v.reason } : {}) })),
    t('dispatcher.done.grant', { number: w.ticketNumber }),
  );
  const refuse = (w: WorkOrder) => dlg.ask(
    { title: t('dispatcher.refuse'), subject: woSubject(w), reason: 'required', reasonLabel: t('dispatcher.refuseReason'), confirmText: t('dispatcher.refuse'), danger: true },
    async (v) => done(await workOrdersApi.extensionRuling(w, { decision: 'refuse', reason: v.reason })),
    t('dispatcher.done.refuse', { number: w.ticketNumber }),
  );
  const supervise = (w: WorkOrder) => dlg.ask(
    { title: t('dispatcher.supervise'), subject: woSubject(w), reason: 'required', reasonLabel: t('dispatcher.superviseReason'), reasonDefault: t('dispatcher.superviseDefault'), confirmText: t('dispatcher.supervise') },
    async (v) => done(await workOrdersApi.supervise(w.id, v.reason)),
    t('dispatcher.done.supervise', { number: w.ticketNumber }),
  );
  const accept = (tk: Ticket) => dlg.ask(
    { title: t('dispatcher.accept'), subject: tkSubject(tk), reason: 'optional', reasonLabel: t('dispatcher.reviewNote'), confirmText: t('dispatcher.accept') },
    async (v) => done(await workOrdersApi.replyReview(tk.id, { decision: 'accept', ...(v.reason ? { reason: v.reason } : {}) })),
    t('dispatcher.done.accept', { number: tk.number }),
  );
  const rework = (tk: Ticket) => dlg.ask(
    { title: t('dispatcher.rework'), subject: tkSubject(tk), reason: 'required', reasonLabel: t('dispatcher.reworkReason'), confirmText: t('dispatcher.rework'), danger: true },
    async (v) => done(await workOrdersApi.replyReview(tk.id, { decision: 'rework', reason: v.reason })),
    t('dispatcher.done.rework', { number: tk.number }),
  );
  const recordCallback = (tk: Ticket, c: TicketCallback) => dlg.ask(
    { title: t('dispatcher.callbackResult'), subject: `${tk.number}  ${tk.title ?? ''}`, satisfaction: true, reason: 'optional', reasonLabel: t('dispatcher.callbackComment'), confirmText: t('common.save') },
    async (v) => done(await workOrdersApi.callbackResult(c.id, v.satisfaction as 'satisfied', v.reason || undefined)),
    t('dispatcher.done.callback', { number: tk.number }),
  );
  async function noAnswer(tk: Ticket, c: TicketCallback) {
    try {
      await ElMessageBox.confirm(t('dispatcher.noAnswerConfirm', { number: tk.number }), t('dispatcher.noAnswer'), { type: 'warning', confirmButtonText: t('common.confirm'), cancelButtonText: t('common.cancel') });
    } catch {
      return;
    }
    if ((await cmd.run(() => workOrdersApi.callbackNoAnswer(c.id), t('dispatcher.done.noAnswer'))) !== undefined) done();
  }

  // --- the unit -------------------------------------------------------------------------------
  async function acknowledge(w: WorkOrder) {
    if ((await cmd.run(() => workOrdersApi.acknowledge(w), t('unit.done.acknowledge', { number: w.ticketNumber }))) !== undefined) done();
  }
  const onSite = (w: WorkOrder) => dlg.ask(
    { title: t('unit.onSite'), subject: woSubject(w), reason: 'optional', reasonLabel: t('unit.onSiteNote'), confirmText: t('unit.onSite') },
    async (v) => done(await workOrdersApi.onSite(w, v.reason || undefined)),
    t('unit.done.onSite', { number: w.ticketNumber }),
  );
  const note = (w: WorkOrder) => dlg.ask(
    { title: t('unit.progress'), subject: woSubject(w), reason: 'required', reasonLabel: t('unit.progressText'), files: true, confirmText: t('common.save') },
    async (v) => {
      for (const f of v.files) await workOrdersApi.upload(w.id, f);
      done(await workOrdersApi.addNote(w.id, v.reason));
    },
    t('unit.noteAdded'),
  );
  const reply = (w: WorkOrder) => dlg.ask(
    { title: t('unit.reply'), subject: woSubject(w), reason: 'required', reasonLabel: t('unit.replyResult'), files: true, confirmText: t('unit.reply') },
    async (v) => {
      // Files first: the reply then reports a result whose evidence is already attached.
      for (const f of v.files) await workOrdersApi.upload(w.id, f);
      done(await workOrdersApi.reply(w, v.reason));
    },
    t('unit.done.reply', { number: w.ticketNumber }),
  );
  const extension = (w: WorkOrder) => dlg.ask(
    { title: t('unit.extension'), subject: woSubject(w), deadline: { label: t('unit.proposedDeadline'), required: true, default: null }, reason: 'required', reasonLabel: t('unit.extensionReason'), confirmText: t('unit.extension') },
    async (v) => done(await workOrdersApi.requestExtension(w, v.reason, v.deadline!)),
    t('unit.done.extension', { number: w.ticketNumber }),
  );
  const returnIt = (w: WorkOrder) => dlg.ask(
    { title: t('unit.return'), subject: woSubject(w), reason: 'required', reasonLabel: t('unit.returnReasonInput'), confirmText: t('unit.return'), danger: true },
    async (v) => done(await workOrdersApi.returnToCenter(w, v.reason)),
    t('unit.done.return', { number: w.ticketNumber }),
  );

  /** The ticket's own actions (派单, 审核, 回访). */
  const ticketActions = computed<TicketAction[]>(() => {
    const tk = ticket.value;
    const r = role.value;
    if (!tk || !isCenterRole(r)) return [];
    const out: TicketAction[] = [];
    if (tk.availableActions.includes('dispatch')) out.push({ key: 'dispatch', label: t('agent.actions.dispatchOnly'), type: 'primary', run: () => (dispatchOpen.value = true) });
    if (tk.status === 'replied' && RULERS.includes(r!)) {
      out.push({ key: 'accept', label: t('dispatcher.accept'), type: 'success', run: () => accept(tk) });
      out.push({ key: 'rework', label: t('dispatcher.rework'), type: 'danger', run: () => rework(tk) });
    }
    for (const c of callbacks.value ?? []) {
      if (c.status !== 'pending' && c.status !== 'surveying') continue;
      out.push({ key: `callback-${c.id}`, label: t('dispatcher.callbackResult'), type: 'primary', run: () => recordCallback(tk, c) });
      out.push({ key: `noanswer-${c.id}`, label: t('dispatcher.noAnswer'), run: () => void noAnswer(tk, c) });
    }
    return out;
  });

  /** The actions on one work order, for this viewer. */
  function workOrderActions(w: StoryWorkOrder): TicketAction[] {
    const r = role.value;
    const out: TicketAction[] = [];
    if (isUnitRole(r) && w.unitId === session.user?.unitId) {
      const working = ['acknowledged', 'on_site'].includes(w.status);
      if (w.status === 'dispatched') out.push({ key: 'acknowledge', label: t('unit.acknowledge'), type: 'primary', run: () => void acknowledge(w) });
      if (working && !!w.deadlines?.onSite && !w.onSiteAt && w.status !== 'on_site') out.push({ key: 'onSite', label: t('unit.onSite'), run: () => onSite(w) });
      if (working || w.status === 'extension_requested') out.push({ key: 'note', label: t('unit.progress'), run: () => note(w) });
      if (working) out.push({ key: 'reply', label: t('unit.reply'), type: 'success', run: () => reply(w) });
      if (working) out.push({ key: 'extension', label: t('unit.extension'), type: 'warning', run: () => extension(w) });
      if (w.status === 'dispatched' || w.status === 'acknowledged') out.push({ key: 'return', label: t('unit.return'), type: 'danger', run: () => returnIt(w) });
    } else if (r && RULERS.includes(r)) {
      if (w.status === 'returned') {
        out.push({ key: 'redispatch', label: t('dispatcher.redispatch'), type: 'primary', run: () => redispatch(w) });
        out.push({ key: 'confirm', label: t('dispatcher.confirmUnit'), run: () => confirmReturn(w) });
      }
      if (w.status === 'extension_requested') {
        out.push({ key: 'grant', label: t('dispatcher.grant'), type: 'primary', run: () => grant(w) });
        out.push({ key: 'refuse', label: t('dispatcher.refuse'), type: 'danger', run: () => refuse(w) });
      }
      if (OPEN.includes(w.status)) out.push({ key: 'supervise', label: t('dispatcher.supervise'), type: 'warning', run: () => supervise(w) });
    }
    return out;
  }

  return { dlg, cmd, dispatchOpen, ticketActions, workOrderActions };
}
