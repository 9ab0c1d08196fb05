import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/**
 * ulid asks for one random number per character (16 per id) and by default each is its own
 * crypto call; here they come from a pool of crypto-random bytes refilled 4 KB at a time.
 */
const pool = new Uint8Array(4096);
let next = pool.length;
const pooledRandom = (): number => {
  if (next >= pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++] / 256;
};

const nextUlid = monotonicFactory(pooledRandom);

/** Application-generated ids (ULID, 26 chars, sortable by time): portable across SQLite and MySQL. */
export const newId = (): string => nextUlid();
