/**
 * Runs a command (a POST that changes something): one at a time, a success toast, and the API's
 * error in Chinese with its code both as a toast and in `error` for the dialog to show.
 */
import { ref, shallowRef } from 'vue';
import { ElMessage } from 'element-plus';
import { errorText } from './useErrorText';

export function useCommand() {
  const busy = ref(false);
  const error = shallowRef<unknown>(null);
  async function run<T>(fn: () => Promise<T>, success?: string): Promise<T | undefined> {
    if (busy.value) return undefined;
    busy.value = true;
    error.value = null;
    try {
      const value = await fn();
      if (success) ElMessage({ type: 'success', message: success, grouping: true });
      return value;
    } catch (e) {
      error.value = e;
      const text = errorText(e);
      if (text) ElMessage({ type: 'error', message: text, duration: 6000, showClose: true, customClass: 'api-error-toast' });
      return undefined;
    } finally {
      busy.value = false;
    }
  }
  return { busy, error, run };
}
