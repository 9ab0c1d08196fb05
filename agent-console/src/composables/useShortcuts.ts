/**
 * Keyboard shortcuts of a workspace (快捷键). Keys are written like `Alt+N`, `Ctrl+Enter`, `Esc`;
 * letters match the physical key (event.code), so they work whatever the input method. Registered
 * while the component is mounted; the help popover lists them.
 */
import { onActivated, onBeforeUnmount, onDeactivated, onMounted, shallowRef } from 'vue';

export interface Shortcut {
  keys: string;
  /** i18n key of what it does, for the help popover. */
  label: string;
  run: (e: KeyboardEvent) => void;
  /** Also while a dialog is open (default: only when none is). */
  inDialogs?: boolean;
  /** Only while this holds (e.g. the tab the shortcut belongs to is the one on screen). */
  when?: () => boolean;
}

/**
 * A key without Alt/Ctrl (j, k, a, ↓, Enter) belongs to whatever has the focus when that is a field
 * or a control: typing "j" in a filter moves no row, Enter on a button presses the button.
 */
function belongsToFocus(spec: string, e: KeyboardEvent): boolean {
  if (/\b(alt|ctrl)\+/i.test(spec) || /^(esc|f\d+)$/i.test(spec)) return false;
  const el = e.target as HTMLElement | null;
  if (!el || !el.closest) return false;
  if (el.closest('input, textarea, select, [contenteditable="true"], .el-select, .el-date-editor')) return true;
  return spec.toLowerCase() === 'enter' && !!el.closest('button, a, [role="button"], [role="tab"], .el-checkbox');
}

function matches(spec: string, e: KeyboardEvent): boolean {
  const parts = spec.split('+').map((p) => p.trim().toLowerCase());
  const key = parts.pop()!;
  const want = { alt: parts.includes('alt'), ctrl: parts.includes('ctrl'), shift: parts.includes('shift') };
  const ctrl = e.ctrlKey || e.metaKey;
  if (want.alt !== e.altKey || want.ctrl !== ctrl || want.shift !== e.shiftKey) return false;
  if (key === 'enter') return e.key === 'Enter';
  if (key === 'esc') return e.key === 'Escape';
  if (/^[a-z]$/.test(key)) return e.code === `Key${key.toUpperCase()}`;
  if (/^[0-9]$/.test(key)) return e.code === `Digit${key}`;
  if (/^f\d+$/.test(key)) return e.key.toLowerCase() === key;
  return e.key.toLowerCase() === key;
}

const dialogOpen = () => !!document.querySelector('.el-overlay:not([style*="display: none"]) .el-dialog, .el-overlay:not([style*="display: none"]) .el-drawer');

/** The shortcuts of the workspace on screen, for the help popover in the header. */
export const activeShortcuts = shallowRef<Shortcut[]>([]);

export function useShortcuts(list: Shortcut[]) {
  const onKey = (e: KeyboardEvent) => {
    if (e.defaultPrevented || e.isComposing) return;
    for (const s of list) {
      if (!matches(s.keys, e)) continue;
      if (s.when && !s.when()) continue;
      if (belongsToFocus(s.keys, e)) continue;
      if (!s.inDialogs && dialogOpen()) return;
      e.preventDefault();
      e.stopPropagation();
      s.run(e);
      return;
    }
  };
  let attached = false;
  const attach = () => {
    if (!attached) window.addEventListener('keydown', onKey, true);
    attached = true;
    activeShortcuts.value = list;
  };
  const detach = () => {
    if (attached) window.removeEventListener('keydown', onKey, true);
    attached = false;
    if (activeShortcuts.value === list) activeShortcuts.value = [];
  };
  // Kept-alive pages (the agent's) keep their state but not their keys while hidden.
  onMounted(attach);
  onActivated(attach);
  onDeactivated(detach);
  onBeforeUnmount(detach);
  return list;
}
