/**
 * Loading state for a read: the last answer wins (an older request finishing late is dropped), the
 * previous data stays on screen while reloading (no layout jump), and the error is kept to show.
 */
import { ref, shallowRef, type Ref, type ShallowRef } from 'vue';

export interface Loader<T, A extends unknown[]> {
  data: ShallowRef<T | null>;
  loading: Ref<boolean>;
  error: ShallowRef<unknown>;
  /** Has any load finished (with data or error)? Distinguishes "loading" from "empty". */
  loaded: Ref<boolean>;
  load: (...args: A) => Promise<T | null>;
}

export function useLoader<T, A extends unknown[] = []>(fn: (...args: A) => Promise<T>): Loader<T, A> {
  const data = shallowRef<T | null>(null);
  const loading = ref(false);
  const loaded = ref(false);
  const error = shallowRef<unknown>(null);
  let ticket = 0;
  async function load(...args: A) {
    const mine = ++ticket;
    loading.value = true;
    try {
      const value = await fn(...args);
      if (mine !== ticket) return data.value;
      data.value = value;
      error.value = null;
      return value;
    } catch (e) {
      if (mine === ticket) error.value = e;
      return null;
    } finally {
      if (mine === ticket) {
        loading.value = false;
        loaded.value = true;
      }
    }
  }
  return { data, loading, error, loaded, load };
}

/** Calls `fn` at most once per `ms` after the last call. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const wrapped = (...args: A) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, ms);
  };
  wrapped.cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  wrapped.flush = (...args: A) => {
    wrapped.cancel();
    fn(...args);
  };
  return wrapped;
}
