/** The grid-call scenarios: the demo city on a controlled clock (Thursday 2025-10-09 10:00 China time). */
import { expect } from 'vitest';
import { startScenario, THURSDAY_10AM, type Scenario } from '../workorders/helpers';

export { THURSDAY_10AM };

export const CALL = {
  title: '滨江路1号楼道堆放杂物',
  situation: '滨江路1号3单元楼道长期堆放纸箱和旧家具，居民多次劝说无果，存在消防隐患',
  demand: '请社区协调物业清理楼道杂物',
  addressText: '滨江路1号3单元',
};

export interface GridScenario extends Scenario {
  /** Raises a call as a user (default grid1) and returns it. */
  raise(user?: string, extra?: Record<string, unknown>, headers?: Record<string, string>): Promise<any>;
  /** Rows of a table (grid_calls, audit rows of grid calls, tickets) to prove a refused request wrote nothing. */
  counts(): Promise<{ calls: number; audit: number; tickets: number }>;
  liveEventsOf(type: string): Promise<{ type: string; audience: any; data: any }[]>;
}

export async function startGridScenario(at: Date = THURSDAY_10AM): Promise<GridScenario> {
  const s = await startScenario(at);
  const db = s.t.ctx.database.db;
  const count = async (q: any) => Number((await q.select((eb: any) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return Object.assign(s, {
    async raise(user = 'grid1', extra: Record<string, unknown> = {}, headers?: Record<string, string>) {
      const r = await s.api(user, 'POST', '/grid-calls', { ...CALL, ...extra }, headers);
      if (r.status !== 201) throw new Error(`raise: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async counts() {
      return {
        calls: await count(db.selectFrom('grid_calls')),
        audit: await count(db.selectFrom('audit_events').where('entity_type', '=', 'grid_call')),
        tickets: await count(db.selectFrom('tickets')),
      };
    },
    async liveEventsOf(type: string) {
      const rows = await db.selectFrom('live_events').select(['type', 'audience', 'data']).where('type', '=', type).orderBy('seq').execute();
      return rows.map((r) => ({ type: r.type, audience: JSON.parse(r.audience), data: JSON.parse(r.data) }));
    },
  });
}

export function expectError(r: { status: number; body: any }, status: number, code: string) {
  expect({ status: r.status, code: r.body?.code }).toEqual({ status, code });
  expect(r.body.message_zh).toBeTruthy();
  expect(r.body.message).toBeTruthy();
}

export const at = (iso: string) => new Date(iso).getTime();
