/**
 * Opens an ActionDialog for a command and runs it: the dialog closes on success, keeps the API's
 * error (Chinese message and code) on failure.
 */
import { ref, shallowRef } from 'vue';
import { ElMessage } from 'element-plus';
import type { ActionDialogConfig, ActionDialogValues } from '../components/common/ActionDialog.vue';
import { errorText } from './useErrorText';

export function useActionDialog() {
  const open = ref(false);
  const config = shallowRef<ActionDialogConfig | null>(null);
  const busy = ref(false);
  const error = shallowRef<unknown>(null);
  let handler: ((v: ActionDialogValues) => Promise<unknown>) | null = null;
  let success = '';

  function ask(c: ActionDialogConfig, run: (v: ActionDialogValues) => Promise<unknown>, successText = '') {
    config.value = c;
    handler = run;
    success = successText;
    error.value = null;
    open.value = true;
  }

  async function submit(values: ActionDialogValues) {
    if (!handler || busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      await handler(values);
      open.value = false;
      if (success) ElMessage.success(success);
    } catch (e) {
      error.value = e;
      ElMessage({ type: 'error', message: errorText(e), duration: 6000, showClose: true });
    } finally {
      busy.value = false;
    }
  }

  return { open, config, busy, error, ask, submit };
}
