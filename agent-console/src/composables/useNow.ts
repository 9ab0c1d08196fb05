/**
 * One clock for the whole console, ticking every second while something shows a countdown. Only the
 * components that read it re-render (a countdown cell), never the table around them.
 */
import { onBeforeUnmount, ref } from 'vue';

const now = ref(Date.now());
let users = 0;
let timer: ReturnType<typeof setInterval> | null = null;

export function useNow() {
  if (users++ === 0) {
    now.value = Date.now();
    timer = setInterval(() => (now.value = Date.now()), 1000);
  }
  onBeforeUnmount(() => {
    if (--users === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  });
  return now;
}
