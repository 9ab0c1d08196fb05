/** How texts read on screen: the kind in words (受理回执, 派单通知 …), the state as a coloured tag. */
import { useI18n } from 'vue-i18n';
import type { SmsInbound, SmsMessage } from '../../api/sms';

const TAG: Record<string, 'success' | 'warning' | 'danger' | 'info' | 'primary'> = {
  queued: 'info', submitting: 'primary', submitted: 'primary', delivered: 'success', failed: 'danger', expired: 'danger', suppressed: 'warning',
};
const INBOUND_TAG: Record<string, 'success' | 'warning' | 'danger' | 'info' | 'primary'> = {
  processing: 'info', awaiting_agent: 'warning', accepted: 'success', dismissed: 'info', handled: 'primary',
};

export function useSmsLabels() {
  const { t, te, locale } = useI18n();
  const kindLabel = (kind: string) => {
    const key = `sms.kind.${kind.replace(/\./g, '_')}`;
    if (te(key)) return t(key);
    return kind.startsWith('reply.') ? t('sms.kind.reply') : kind;
  };
  /** The API's Chinese state in Chinese, the message file's in English. */
  const stateLabel = (m: Pick<SmsMessage, 'state' | 'stateZh'>) =>
    locale.value !== 'en' && m.stateZh ? m.stateZh : te(`sms.state.${m.state}`) ? t(`sms.state.${m.state}`) : m.stateZh || m.state;
  const stateTag = (state: string) => TAG[state] ?? 'info';
  const inboundStatusLabel = (r: Pick<SmsInbound, 'status'>) => (te(`sms.inboundStatus.${r.status}`) ? t(`sms.inboundStatus.${r.status}`) : r.status);
  const inboundTag = (status: string) => INBOUND_TAG[status] ?? 'info';
  const recipientLabel = (m: Pick<SmsMessage, 'recipientKind'>) => (te(`sms.to.${m.recipientKind}`) ? t(`sms.to.${m.recipientKind}`) : m.recipientKind);
  return { kindLabel, stateLabel, stateTag, inboundStatusLabel, inboundTag, recipientLabel };
}
