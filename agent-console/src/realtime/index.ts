/**
 * The live connection of this browser tab: started on login, stopped on logout; presence changes are
 * sent to the hub as `{type:'presence', status}` (and again after each reconnect).
 */
import type { PresenceStatus } from '../api/types';
import { watch } from 'vue';
import { bump } from '../stores/changes';
import { clearStale, markStale, resync } from '../stores/freshness';
import { onMyPresence, presence, presenceActions } from '../stores/presence';
import { loadSession, onSessionChange, session } from '../stores/session';
import { LiveConnection } from './connection';
import { routeLiveMessage } from './eventMap';
import { audioFrame } from '../speech/browserRecognizer';

export const live = new LiveConnection({
  onMessage: routeLiveMessage,
  onBinary: audioFrame,
  onHello: (hello) => {
    const mine = (hello.presence ?? (hello.data as { presence?: unknown } | undefined)?.presence) as PresenceStatus | undefined;
    if (typeof mine === 'string') presenceActions.adoptMine(mine);
    // Only agents take calls; their status is re-announced on every (re)connect.
    if (session.user?.role === 'agent') live.send({ type: 'presence', status: presence.mine });
  },
  onResync: () => void resync(() => bump('resync')),
  onAuthLost: () => void loadSession().catch(() => undefined),
  onRepeatedFailure: () => {
    // A session that ended makes every upgrade fail: find out, and go to the login page if so.
    void loadSession().catch(() => undefined);
  },
});

let wired = false;
export function wireLive() {
  if (wired) return;
  wired = true;
  // Connected once and then not: the lists on screen may be missing changes until the resync.
  let wasConnected = false;
  onSessionChange((user) => {
    // An account that must change its password first has no live feed until it has.
    if (user && !user.passwordChangeRequired) return live.start();
    // Logging out is not a lost link: the next session starts fresh.
    wasConnected = false;
    clearStale();
    live.stop();
  });
  watch(live.state, (s) => {
    if (s === 'connected') wasConnected = true;
    else if (wasConnected && s !== 'connecting') markStale();
  });
  onMyPresence((status) => live.send({ type: 'presence', status }));
}

export type { LiveState } from './connection';
