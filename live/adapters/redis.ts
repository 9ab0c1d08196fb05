/**
 * The Redis adapters (several nodes): events go through one pub/sub channel so that every node's
 * hub sees every event; presence is one hash per city, changed by Lua scripts so that two nodes
 * never interleave a read-modify-write.
 *
 * Keys under the prefix (default `hotline`): `<p>:live:events` (channel), `<p>:live:control` (channel:
 * access ended, close those sockets), `<p>:live:direct` (channel, binary:
 * ephemeral per-user messages, see {@link encodeDirect}), `<p>:live:presence:<city>`
 * (hash userId → JSON record), `<p>:live:node:<nodeId>` (liveness, expires unless touched).
 */
import type { Redis } from 'ioredis';
import { connectRedis } from '../../jobs';
import type { ChosenStatus, LiveAccessEnded, LiveBroker, LiveDirect, LiveEvent, PresenceChange, PresenceRecord, PresenceStatus, PresenceStore, PresenceUser } from '../ports';

export interface RedisLiveOptions {
  redisUrl: string;
  prefix?: string;
  /** How long the boot check may take; default 2000 ms. */
  connectTimeoutMs?: number;
  /** Told about connection errors after boot (ioredis reconnects by itself). */
  onError?: (err: unknown) => void;
}

/** Connects and pings, so a wrong REDIS_URL stops the boot with a clear message; later errors go to `onError`. */
async function connectChecked(url: string, timeoutMs: number, onError: (err: unknown) => void): Promise<Redis> {
  const client = await connectRedis(url, {
    timeoutMs,
    who: { en: 'live', zh: '实时推送' },
    hint: 'Check REDIS_URL, or unset it to run on one node.',
    options: { maxRetriesPerRequest: 3 },
  });
  client.on('error', onError);
  return client;
}

/**
 * Builds the broker and the presence store over Redis (three connections: publish and commands,
 * subscribe, none shared with the job queue). Throws when Redis does not answer.
 */
export async function createRedisLiveAdapters(opts: RedisLiveOptions): Promise<{ broker: LiveBroker; presence: PresenceStore }> {
  const prefix = opts.prefix ?? 'hotline';
  const timeout = opts.connectTimeoutMs ?? 2000;
  const onError = opts.onError ?? (() => {});
  const commands = await connectChecked(opts.redisUrl, timeout, onError);
  let subscriber: Redis;
  try {
    subscriber = await connectChecked(opts.redisUrl, timeout, onError);
  } catch (err) {
    commands.disconnect();
    throw err;
  }
  const channel = `${prefix}:live:events`;
  const controlChannel = `${prefix}:live:control`;
  const directChannel = `${prefix}:live:direct`;
  let closed = false;
  const closeAll = async () => {
    if (closed) return;
    closed = true;
    await Promise.allSettled([commands.quit(), subscriber.quit()]);
  };

  const broker: LiveBroker = {
    kind: 'redis',
    async publish(event) {
      await commands.publish(channel, JSON.stringify(event));
    },
    async publishControl(message) {
      await commands.publish(controlChannel, JSON.stringify(message));
    },
    async subscribe(onEvent, onControl) {
      subscriber.on('message', (ch: string, message: string) => {
        if (ch !== channel && ch !== controlChannel) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(message);
        } catch (err) {
          onError(err);
          return;
        }
        if (ch === channel) onEvent(parsed as LiveEvent);
        else onControl?.(parsed as LiveAccessEnded);
      });
      await subscriber.subscribe(channel, controlChannel);
    },
    async publishDirect(message) {
      await commands.publish(directChannel, encodeDirect(message));
    },
    async subscribeDirect(onDirect) {
      subscriber.on('messageBuffer', (ch: Buffer, message: Buffer) => {
        if (ch.toString() !== directChannel) return;
        const m = decodeDirect(message);
        if (m) onDirect(m);
        else onError(new Error('live: a malformed direct message on Redis (直达消息格式不正确)'));
      });
      await subscriber.subscribe(directChannel);
    },
    close: closeAll,
  };

  return { broker, presence: createRedisPresenceStore(commands, prefix, closeAll) };
}

/**
 * One script for the three changes. ARGV: userId, user JSON ('' when unknown), nodeId, at, mode
 * (connect | disconnect | set), status, node key prefix. A node whose liveness key is gone no
 * longer holds anyone. Returns nil (no change) or {before, record JSON}.
 */
const PRESENCE_SCRIPT = `
local key = KEYS[1]
local userId, userJson, nodeId, at, mode, status, nodePrefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local raw = redis.call('HGET', key, userId)
if not raw and userJson == '' then return nil end
local rec
if raw then rec = cjson.decode(raw) else rec = { status = 'offline', since = at } end
if userJson ~= '' then
  local u = cjson.decode(userJson)
  rec.id = u.id; rec.name = u.name; rec.role = u.role
end
local nodes, count = {}, 0
if type(rec.nodes) == 'table' then
  for n, _ in pairs(rec.nodes) do
    if n == nodeId or redis.call('EXISTS', nodePrefix .. n) == 1 then nodes[n] = 1; count = count + 1 end
  end
end
local before = rec.status
if count == 0 then before = 'offline' end
if mode == 'connect' then
  if before == 'offline' then rec.status = 'online' end
  if not nodes[nodeId] then nodes[nodeId] = 1; count = count + 1 end
elseif mode == 'disconnect' then
  if nodes[nodeId] then nodes[nodeId] = nil; count = count - 1 end
else
  rec.status = status
  if not nodes[nodeId] then nodes[nodeId] = 1; count = count + 1 end
end
if count <= 0 then rec.status = 'offline' end
rec.nodes = nodes
if rec.status ~= before then rec.since = at end
local encoded = cjson.encode(rec)
redis.call('HSET', key, userId, encoded)
if rec.status == before then return nil end
return { before, encoded }
`;

interface StoredPresence extends PresenceRecord {
  nodes?: Record<string, 1> | unknown[];
}

function createRedisPresenceStore(redis: Redis, prefix: string, closeAll: () => Promise<void>): PresenceStore {
  const hashKey = (cityId: string) => `${prefix}:live:presence:${cityId}`;
  const nodePrefix = `${prefix}:live:node:`;

  async function run(cityId: string, userId: string, user: PresenceUser | null, nodeId: string, at: string, mode: string, status = ''): Promise<PresenceChange | null> {
    const userJson = user ? JSON.stringify({ id: user.id, name: user.name, role: user.role }) : '';
    const r = (await redis.eval(PRESENCE_SCRIPT, 1, hashKey(cityId), userId, userJson, nodeId, at, mode, status, nodePrefix)) as [string, string] | null;
    if (!r) return null;
    const rec = JSON.parse(r[1]) as StoredPresence;
    return { before: r[0] as PresenceStatus, after: { id: rec.id, name: rec.name, role: rec.role, status: rec.status, since: rec.since } };
  }

  return {
    connected: (cityId, user, nodeId, at) => run(cityId, user.id, user, nodeId, at, 'connect'),
    disconnected: (cityId, userId, nodeId, at) => run(cityId, userId, null, nodeId, at, 'disconnect'),
    setStatus: (cityId, user, nodeId, status: ChosenStatus, at) => run(cityId, user.id, user, nodeId, at, 'set', status),
    async list(cityId) {
      const all = await redis.hgetall(hashKey(cityId));
      const records = Object.values(all).map((s) => JSON.parse(s) as StoredPresence);
      const nodeIds = [...new Set(records.flatMap((r) => (r.nodes && !Array.isArray(r.nodes) ? Object.keys(r.nodes) : [])))];
      const alive = new Set<string>();
      if (nodeIds.length) {
        const flags = await redis.mget(...nodeIds.map((n) => nodePrefix + n));
        nodeIds.forEach((n, i) => flags[i] !== null && alive.add(n));
      }
      return records.map((r) => {
        const held = r.nodes && !Array.isArray(r.nodes) && Object.keys(r.nodes).some((n) => alive.has(n));
        return { id: r.id, name: r.name, role: r.role, status: held ? r.status : 'offline', since: r.since };
      });
    },
    async touch(nodeId, ttlMs) {
      if (ttlMs > 0) await redis.set(nodePrefix + nodeId, '1', 'PX', ttlMs);
      else await redis.del(nodePrefix + nodeId);
    },
    close: closeAll,
  };
}

/**
 * A direct message on the Redis channel, compact and binary-safe (audio is most of them):
 * `[u8 kind: 0 text, 1 binary][u8 n][origin node, n bytes][u8 n][cityId][u8 n][userId][frame bytes]`,
 * strings UTF-8, each at most 255 bytes.
 */
export function encodeDirect(m: LiveDirect): Buffer {
  const parts = [m.origin, m.cityId, m.userId].map((s) => Buffer.from(s, 'utf8'));
  if (parts.some((p) => p.length > 255)) throw new Error('live: a direct message\'s node, city or user id is over 255 bytes');
  const body = typeof m.frame === 'string' ? Buffer.from(m.frame, 'utf8') : Buffer.from(m.frame.buffer, m.frame.byteOffset, m.frame.byteLength);
  return Buffer.concat([Buffer.of(typeof m.frame === 'string' ? 0 : 1), ...parts.flatMap((p) => [Buffer.of(p.length), p]), body]);
}

/** The inverse of {@link encodeDirect}; null when the bytes are not one. */
export function decodeDirect(b: Buffer): LiveDirect | null {
  if (b.length < 4 || b[0] > 1) return null;
  let at = 1;
  const strings: string[] = [];
  for (let i = 0; i < 3; i++) {
    const n = b[at];
    if (n === undefined || at + 1 + n > b.length) return null;
    strings.push(b.toString('utf8', at + 1, at + 1 + n));
    at += 1 + n;
  }
  const body = b.subarray(at);
  return { origin: strings[0], cityId: strings[1], userId: strings[2], frame: b[0] === 0 ? body.toString('utf8') : new Uint8Array(body) };
}
