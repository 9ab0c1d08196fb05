/**
 * Ctrl+Enter confirms the open dialog (Esc, which closes it, is Element Plus's own). Listens on the
 * window while the dialog is open, so it works wherever the focus is inside it.
 */
import { onBeforeUnmount, watch, type Ref } from 'vue';

export function useDialogKeys(open: Ref<boolean>, confirm: () => void) {
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.isComposing) {
      e.preventDefault();
      e.stopPropagation();
      confirm();
    }
  };
  const off = () => window.removeEventListener('keydown', onKey, true);
  watch(open, (v) => (v ? window.addEventListener('keydown', onKey, true) : off()), { immediate: true });
  onBeforeUnmount(off);
}
