import type { Redis } from 'ioredis';

/**
 * Where agent phones are registered (注册表): username → the contact to INVITE. One binding per
 * username (an agent has one desk phone; a new REGISTER from another device replaces it). In Redis
 * when several app nodes share one drachtio-server (any node may take the REGISTER, any node may
 * ring the phone); in memory for a single node.
 */
export interface Binding {
  username: string;
  /** The Contact URI the phone registered. */
  contact: string;
  /** Where the REGISTER came from (`ip:port`): the address to reach a phone behind NAT. */
  source: string;
  expiresAt: Date;
}

export interface Registrar {
  save(b: Binding): Promise<void>;
  /** Removes the binding (only if it is still `contact`, when given: a late un-REGISTER must not drop a newer binding). */
  remove(username: string, contact?: string): Promise<boolean>;
  lookup(username: string, now?: Date): Promise<Binding | null>;
  list(now?: Date): Promise<Binding[]>;
  close?(): Promise<void>;
}

export function memoryRegistrar(): Registrar {
  const bindings = new Map<string, Binding>();
  const live = (b: Binding | undefined, now: Date) => (b && b.expiresAt > now ? b : null);
  return {
    async save(b) { bindings.set(b.username, b); },
    async remove(username, contact) {
      const b = bindings.get(username);
      if (!b || (contact && b.contact !== contact)) return false;
      return bindings.delete(username);
    },
    async lookup(username, now = new Date()) { return live(bindings.get(username), now); },
    async list(now = new Date()) {
      for (const [u, b] of bindings) if (b.expiresAt <= now) bindings.delete(u);
      return [...bindings.values()];
    },
  };
}

/** Keys `<prefix>:sip:reg:<username>`, expiring with the registration (Redis drops stale phones for us). */
export function redisRegistrar(redis: Redis, prefix: string): Registrar {
  const key = (u: string) => `${prefix}:sip:reg:${u}`;
  const parse = (s: string | null): Binding | null => {
    if (!s) return null;
    const o = JSON.parse(s) as Omit<Binding, 'expiresAt'> & { expiresAt: string };
    return { ...o, expiresAt: new Date(o.expiresAt) };
  };
  // Compare-and-delete in one step, so two nodes racing on REGISTER/un-REGISTER cannot drop the newer binding.
  const removeIfContact = `local v = redis.call('GET', KEYS[1]); if not v then return 0 end
    if ARGV[1] == '' or cjson.decode(v).contact == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
  return {
    async save(b) {
      const ms = b.expiresAt.getTime() - Date.now();
      if (ms <= 0) { await redis.del(key(b.username)); return; }
      await redis.set(key(b.username), JSON.stringify(b), 'PX', ms);
    },
    async remove(username, contact) {
      return Number(await redis.eval(removeIfContact, 1, key(username), contact ?? '')) === 1;
    },
    async lookup(username, now = new Date()) {
      const b = parse(await redis.get(key(username)));
      return b && b.expiresAt > now ? b : null;
    },
    async list(now = new Date()) {
      const out: Binding[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', key('*'), 'COUNT', 200);
        cursor = next;
        if (keys.length) for (const v of await redis.mget(...keys)) { const b = parse(v); if (b && b.expiresAt > now) out.push(b); }
      } while (cursor !== '0');
      return out;
    },
  };
}
