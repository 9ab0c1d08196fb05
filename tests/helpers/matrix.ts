/** What the role × endpoint matrices share: a cell's expected outcome and how it reads. */

/** 200/201/204; 'listed'/'unlisted' (200, the item is or is not in the list); or 'status CODE'. */
export type Outcome = number | 'listed' | 'unlisted' | `${number} ${string}`;

export function parseOutcome(o: Outcome): { status: number; code?: string; listed?: boolean } {
  if (typeof o === 'number') return { status: o };
  if (o === 'listed' || o === 'unlisted') return { status: 200, listed: o === 'listed' };
  const [status, code] = o.split(' ');
  return { status: Number(status), code };
}

export const outcomeText = (o: Outcome) => (o === 'listed' ? '200 listed' : o === 'unlisted' ? '200 not listed' : String(o));

/** A complete set of the other five elements (the sixth, the handling unit, comes with dispatch). */
export const SIX = {
  occurredAt: '2025-10-08T09:00:00+08:00',
  addressText: '滨江路1号',
  parties: '居民',
  situation: '整栋楼停水',
  demand: '尽快恢复供水',
};
