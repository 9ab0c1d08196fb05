/**
 * The user's notices (通知) for the header's bell, and the alerts new work raises.
 *
 * The server keeps what each user has read (workorders' /notifications): the count follows the user
 * to another desk. A notice arriving live (`notification.sent`) is shown at once and then the list is
 * refetched (debounced) so the count is the server's. A notice is never shown or announced twice:
 * ids already seen (loaded, or received before a reconnect replayed them) are skipped.
 *
 * The alert settings (tone, desktop notification) are per user and per browser: localStorage.
 */
import { reactive, readonly } from 'vue';
import { notificationsApi } from '../api/notifications';
import type { MyNotice, Notice, Role } from '../api/types';
import { i18n } from '../i18n';
import { armSound, askDesktopPermission, chime, desktopNotify, desktopSupported } from '../composables/announce';
import { debounce } from '../composables/useLoader';
import { isUnitRole, onSessionChange, session } from './session';

const state = reactive({
  items: [] as MyNotice[],
  unread: 0,
  loaded: false,
  sound: true,
  desktop: false,
});
export const notifications = readonly(state);

const seen = new Set<string>();
let openTicket: (number: string) => void = () => undefined;

const settingsKey = () => `hotline.alerts.${session.user?.id ?? 'anonymous'}`;
function loadSettings() {
  try {
    const s = JSON.parse(localStorage.getItem(settingsKey()) ?? '{}') as { sound?: boolean; desktop?: boolean };
    state.sound = s.sound !== false;
    state.desktop = s.desktop === true && desktopSupported() && Notification.permission === 'granted';
  } catch {
    state.sound = true;
    state.desktop = false;
  }
}
const saveSettings = () => localStorage.setItem(settingsKey(), JSON.stringify({ sound: state.sound, desktop: state.desktop }));

const t = (key: string, values: Record<string, unknown> = {}) => i18n.global.t(key, values);
const te = (key: string) => i18n.global.te(key);

/** The notice's event in words (临期提醒, 新派工单 …); an unknown event reads as itself. */
export function noticeTitle(event: string): string {
  const key = `shell.notice.event.${event.replace(/\./g, '_')}`;
  return te(key) ? t(key) : event;
}

const numberOf = (n: Notice) => (typeof n.payload?.ticketNumber === 'string' ? n.payload.ticketNumber : null);
const titleOf = (n: Notice) => (typeof n.payload?.title === 'string' ? n.payload.title : '');

function announce(title: string, body: string, tag: string, number: string | null) {
  if (state.sound) chime();
  if (state.desktop) desktopNotify(title, body, tag, () => number && openTicket(number));
}

const refetchSoon = debounce(() => void notificationsActions.refresh().catch(() => undefined), 400);

/** The work-order changes that are new work for the viewer (the tone only: the notice, if any, fills the bell). */
function isNewWorkFor(role: Role | undefined, action: string): boolean {
  if (isUnitRole(role)) return ['dispatch', 'redispatch', 'reassigned', 'supervised', 'rework', 'claim'].includes(action);
  return ['returned', 'extension_requested'].includes(action);
}

export const notificationsActions = {
  /** Where a notice's link leads (set by the shell: the router is not the store's business). */
  setOpener(fn: (number: string) => void) {
    openTicket = fn;
  },

  /** The shell is up: the user's settings, the audio armed, the list loaded. */
  start() {
    loadSettings();
    armSound();
    return notificationsActions.refresh();
  },

  async refresh() {
    const r = await notificationsApi.mine({ limit: 30 });
    for (const n of r.items) seen.add(n.id);
    state.items = r.items;
    state.unread = r.unread;
    state.loaded = true;
  },

  /** `notification.sent` from the live feed. */
  received(data: unknown) {
    const n = (data as { notification?: Notice } | null)?.notification;
    if (!n?.id || seen.has(n.id)) return;
    seen.add(n.id);
    const mine: MyNotice = { ...n, ticketNumber: numberOf(n), read: false, readAt: null };
    state.items = [mine, ...state.items.filter((x) => x.id !== n.id)].slice(0, 30);
    state.unread++;
    announce(noticeTitle(n.event), [mine.ticketNumber, titleOf(n)].filter(Boolean).join(' '), `notice:${n.id}`, mine.ticketNumber);
    refetchSoon();
  },

  /** `workorder.changed`: a new or returned work order chimes even before (or without) a notice. */
  workOrderChanged(data: unknown) {
    const d = data as { action?: string; workOrder?: { ticketNumber?: string; ticketTitle?: string | null; id?: string } } | null;
    if (!d?.action || !isNewWorkFor(session.user?.role, d.action)) return;
    if (state.sound) chime();
  },

  async markRead(id: string) {
    const n = state.items.find((x) => x.id === id);
    if (!n || n.read) return;
    state.items = state.items.map((x) => (x.id === id ? { ...x, read: true } : x));
    state.unread = Math.max(0, state.unread - 1);
    const r = await notificationsApi.markRead([id]);
    state.unread = r.unread;
  },

  async markAllRead() {
    state.items = state.items.map((x) => ({ ...x, read: true }));
    state.unread = 0;
    state.unread = (await notificationsApi.markAllRead()).unread;
  },

  setSound(on: boolean) {
    state.sound = on;
    saveSettings();
    if (on) chime();
  },

  /** Opt-in: the browser is asked for permission only now, from the user's click. */
  async setDesktop(on: boolean) {
    state.desktop = on ? await askDesktopPermission() : false;
    saveSettings();
    return state.desktop;
  },
};

onSessionChange((user) => {
  seen.clear();
  state.items = [];
  state.unread = 0;
  state.loaded = false;
  if (user) {
    loadSettings();
    armSound();
  }
});
