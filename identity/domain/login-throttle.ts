/**
 * Login throttling (登录限速) as pure rules. Three counters, each a progressive delay rather than a
 * lockout, so that a stranger cannot block a colleague's shift (换班) by typing their username:
 *
 * - `pair` — one account from one address: the guesser at that address slows down fast
 *   (after 5 failures 30 s, then doubling, at most 15 min). Another address is not affected.
 * - `account` — one account from anywhere: looser (after 20 failures 1 s, doubling, at most 60 s),
 *   so guesses spread over many addresses are slowed, while the owner waits at most a minute.
 * - `address` — one address across usernames (password spraying, 撞库): after 30 failures 30 s,
 *   doubling, at most 15 min. Set high enough for a call center's shared NAT at shift change.
 *
 * A counter is forgotten an hour after its last failure (longer than the longest delay, so waiting
 * out the delay does not reset the doubling); a successful login forgets the pair and
 * the account counters (never the address one: logging into one's own account must not reset a spray).
 */
import type { AttemptCounter } from '../ports';

export interface ThrottleRule {
  /** Failures allowed before any delay. */
  free: number;
  /** Delay after the first counted failure beyond `free`; doubles with each further one. */
  baseMs: number;
  maxMs: number;
}

export interface ThrottlePolicy {
  windowMs: number;
  pair: ThrottleRule;
  account: ThrottleRule;
  address: ThrottleRule;
}

export const DEFAULT_THROTTLE_POLICY: ThrottlePolicy = {
  windowMs: 60 * 60_000,
  pair: { free: 5, baseMs: 30_000, maxMs: 15 * 60_000 },
  account: { free: 20, baseMs: 1_000, maxMs: 60_000 },
  address: { free: 30, baseMs: 30_000, maxMs: 15 * 60_000 },
};

export interface ThrottleKeys {
  pair: string;
  account: string;
  address: string;
}

/** Keys under which the counters of one attempt are kept (username lower-cased, address as given). */
export function throttleKeys(account: string, address: string): ThrottleKeys {
  const a = account.trim().toLowerCase();
  return { pair: `pair:${a}|${address}`, account: `account:${a}`, address: `address:${address}` };
}

/** How long after its last failure a counter holds the next attempt back (0: free). */
export function delayOf(rule: ThrottleRule, failures: number): number {
  if (failures < rule.free) return 0;
  const doublings = Math.min(failures - rule.free, 30);
  return Math.min(rule.baseMs * 2 ** doublings, rule.maxMs);
}

/** Milliseconds the attempt must still wait (0: it may go ahead), from the three counters. */
export function waitFor(policy: ThrottlePolicy, now: number, c: { pair: AttemptCounter | null; account: AttemptCounter | null; address: AttemptCounter | null }): number {
  let wait = 0;
  for (const [rule, counter] of [[policy.pair, c.pair], [policy.account, c.account], [policy.address, c.address]] as const) {
    if (!counter || now - counter.lastFailureAt >= policy.windowMs) continue;
    wait = Math.max(wait, counter.lastFailureAt + delayOf(rule, counter.failures) - now);
  }
  return Math.max(0, wait);
}
