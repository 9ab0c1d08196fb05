/**
 * The in-process adapters (the default, one node): the broker hands events straight to this node's
 * hub, presence lives in a map.
 */
import type { ChosenStatus, LiveAccessEnded, LiveBroker, LiveDirect, LiveEvent, PresenceChange, PresenceRecord, PresenceStatus, PresenceStore, PresenceUser } from '../ports';

export function createLocalLiveBroker(): LiveBroker {
  let subscriber: ((e: LiveEvent) => void) | null = null;
  let control: ((m: LiveAccessEnded) => void) | null = null;
  let direct: ((m: LiveDirect) => void) | null = null;
  return {
    kind: 'in-process',
    async publish(event) {
      // Delivered on a later turn, as from Redis: a publisher never re-enters the hub mid-send.
      if (subscriber) {
        const deliver = subscriber;
        setImmediate(() => deliver(event));
      }
    },
    async publishControl(message) {
      if (control) {
        const deliver = control;
        setImmediate(() => deliver(message));
      }
    },
    async subscribe(onEvent, onControl) {
      subscriber = onEvent;
      control = onControl ?? null;
    },
    async publishDirect(message) {
      // One node: the sender delivered to its own consoles already; nothing else to reach.
      if (direct) {
        const deliver = direct;
        setImmediate(() => deliver(message));
      }
    },
    async subscribeDirect(onDirect) {
      direct = onDirect;
    },
    async close() {
      subscriber = null;
      control = null;
      direct = null;
    },
  };
}

interface Held {
  record: PresenceRecord;
  nodes: Set<string>;
}

export function createLocalPresenceStore(): PresenceStore {
  const cities = new Map<string, Map<string, Held>>();
  const cityOf = (cityId: string) => {
    let c = cities.get(cityId);
    if (!c) cities.set(cityId, (c = new Map()));
    return c;
  };
  const effective = (h: Held | undefined): PresenceStatus => (!h || h.nodes.size === 0 ? 'offline' : h.record.status);

  function change(cityId: string, user: PresenceUser | null, userId: string, at: string, apply: (h: Held) => void): PresenceChange | null {
    const city = cityOf(cityId);
    let h = city.get(userId);
    if (!h && !user) return null;
    if (!h) city.set(userId, (h = { record: { ...user!, status: 'offline', since: at }, nodes: new Set() }));
    if (user) Object.assign(h.record, { id: user.id, name: user.name, role: user.role });
    const before = effective(h);
    apply(h);
    if (h.nodes.size === 0) h.record.status = 'offline';
    const after = effective(h);
    if (after === before) return null;
    h.record.since = at;
    return { before, after: { ...h.record } };
  }

  return {
    async connected(cityId, user, nodeId, at) {
      return change(cityId, user, user.id, at, (h) => {
        if (effective(h) === 'offline') h.record.status = 'online';
        h.nodes.add(nodeId);
      });
    },
    async disconnected(cityId, userId, nodeId, at) {
      return change(cityId, null, userId, at, (h) => h.nodes.delete(nodeId));
    },
    async setStatus(cityId, user, nodeId, status: ChosenStatus, at) {
      return change(cityId, user, user.id, at, (h) => {
        h.nodes.add(nodeId);
        h.record.status = status;
      });
    },
    async list(cityId) {
      return [...cityOf(cityId).values()].map((h) => ({ ...h.record, status: effective(h) }));
    },
    async touch() {},
    async close() {
      cities.clear();
    },
  };
}

/** Both in-process adapters: the default, for one node. */
export function createLocalLiveAdapters(): { broker: LiveBroker; presence: PresenceStore } {
  return { broker: createLocalLiveBroker(), presence: createLocalPresenceStore() };
}
