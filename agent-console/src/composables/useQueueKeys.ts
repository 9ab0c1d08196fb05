/**
 * The keyboard in a queue (派单审核, 单位办理): j/k or ↓/↑ move a cursor row (turning the page at
 * either end), Enter opens it, and the workspace adds its own (A 签收, Alt+R 办结反馈, Alt+D 按方案派单).
 * Listed in the header's shortcut help while the queue is the one on screen.
 */
import { ref, watch, type Ref } from 'vue';
import { activeShortcuts, useShortcuts, type Shortcut } from './useShortcuts';

export interface QueueKey<T> {
  keys: string;
  label: string;
  run: (row: T) => unknown;
}

export function useQueueKeys<T extends { id: string }>(o: {
  rows: () => T[];
  open: (row: T) => void;
  page: Ref<number>;
  pageSize: Ref<number>;
  total: Ref<number>;
  extra?: QueueKey<T>[];
  /** For a tab among several: only the one on screen answers. */
  active?: () => boolean;
}) {
  const currentId = ref<string | null>(null);
  /** After a page turn by the keyboard, where the cursor lands once the page has loaded. */
  let landing: 'first' | 'last' | null = null;
  const index = () => o.rows().findIndex((r) => r.id === currentId.value);
  const current = () => o.rows()[index()] ?? null;
  const scrollIntoView = () =>
    requestAnimationFrame(() => document.querySelector('.row-kbd-current')?.scrollIntoView({ block: 'nearest' }));

  function move(step: 1 | -1) {
    const rows = o.rows();
    if (!rows.length) return;
    const i = index();
    const next = i < 0 ? (step > 0 ? 0 : rows.length - 1) : i + step;
    if (next >= rows.length) {
      if (o.page.value * o.pageSize.value < o.total.value) {
        landing = 'first';
        o.page.value++;
      }
      return;
    }
    if (next < 0) {
      if (o.page.value > 1) {
        landing = 'last';
        o.page.value--;
      }
      return;
    }
    currentId.value = rows[next].id;
    scrollIntoView();
  }

  watch(o.rows, (rows) => {
    if (landing && rows.length) {
      currentId.value = (landing === 'first' ? rows[0] : rows[rows.length - 1]).id;
      landing = null;
      scrollIntoView();
    }
  });

  const when = o.active ?? (() => true);
  const withRow = (run: (row: T) => unknown) => () => {
    const row = current();
    if (row) run(row);
  };
  const list: Shortcut[] = [
    { keys: 'J', label: 'queue.keys.next', run: () => move(1), when },
    { keys: 'ArrowDown', label: 'queue.keys.next', run: () => move(1), when },
    { keys: 'K', label: 'queue.keys.previous', run: () => move(-1), when },
    { keys: 'ArrowUp', label: 'queue.keys.previous', run: () => move(-1), when },
    { keys: 'Enter', label: 'queue.keys.open', run: withRow(o.open), when },
    ...(o.extra ?? []).map((k) => ({ keys: k.keys, label: k.label, run: withRow(k.run), when })),
  ];
  useShortcuts(list);
  // Several queues on one page (the dispatcher's tabs): the help lists the one on screen.
  if (o.active) watch(o.active, (on) => on && (activeShortcuts.value = list), { immediate: true });
  return { currentId, move };
}
