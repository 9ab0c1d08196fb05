/** Shared fixtures of the citizen-page tests: multipart bodies, real images, public requests with a device and an address. */
import QRCode from 'qrcode';
import { systemActor } from '../../core';
import type { Scenario } from '../workorders/helpers';

const dispatcher = () => ({ actor: { ...systemActor('demo'), kind: 'user' as const, id: 'dispatcher-test', role: 'dispatcher' as const, name: 'dispatcher' } });

export const BUILDING = 'QR-990102001001-0001'; // 滨江社区第一网格 (grid1's grid)
export const GRID = '990102001001001';

/** A real PNG (a QR code drawn by the `qrcode` package). */
export const pngPhoto = () => QRCode.toBuffer('photo', { type: 'png', scale: 4 });

/** multipart/form-data by hand: fields, then files. */
export function multipart(fields: Record<string, string>, files: { name: string; fileName: string; type: string; body: Buffer }[] = []) {
  const boundary = `----citizen${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  for (const f of files) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"; filename="${f.fileName}"\r\nContent-Type: ${f.type}\r\n\r\n`), f.body, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

export interface Who {
  device: string;
  ip?: string;
}

export function citizenApi(s: Scenario) {
  const send = async (who: Who, method: 'GET' | 'POST', url: string, body?: { payload: Buffer; headers: Record<string, string> } | object, cookies: Record<string, string> = {}) => {
    const isMultipart = !!body && 'payload' in body && Buffer.isBuffer((body as { payload: unknown }).payload);
    const cookie = Object.entries({ citizen_device: who.device, ...cookies }).map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await s.t.app.inject({
      method, url, remoteAddress: who.ip ?? '10.1.1.1',
      headers: { cookie, ...(isMultipart ? (body as { headers: Record<string, string> }).headers : {}) },
      payload: isMultipart ? (body as { payload: Buffer }).payload : (body as object | undefined) as never,
    });
    let parsed: any = null;
    try {
      parsed = res.body ? JSON.parse(res.body) : null;
    } catch {
      parsed = res.body;
    }
    return { status: res.statusCode, body: parsed, cookies: res.cookies, headers: res.headers };
  };
  return {
    send,
    async report(who: Who, fields: Record<string, string>, files: { name: string; fileName: string; type: string; body: Buffer }[] = []) {
      return send(who, 'POST', '/api/public/citizen/reports', multipart({ idempotencyKey: `k${Math.random().toString(36).slice(2, 12)}`, type: 'help', ...fields }, files));
    },
    token: (code = BUILDING) => s.t.ctx.citizen.buildingToken({ cityId: 'demo', code }),
    /** The last code texted for a ticket (the SMS outbox holds the text). */
    async lastCode(ticketNumber: string) {
      const row = await s.t.ctx.database.db.selectFrom('sms_messages').select(['body']).where('kind', '=', 'citizen.verification_code').where('body', 'like', `%${ticketNumber}%`).orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirst();
      return row?.body?.match(/验证码为(\d{6})/)?.[1] ?? null;
    },
  };
}

/** A QR ticket completed by an agent, dispatched, replied, accepted and called back: ready to rate. */
export async function takeToCallback(s: Scenario, ticketNumber: string) {
  s.clock.set(new Date('2025-10-09T02:00:00Z'));
  const t = await s.t.ctx.intake.getTicketByNumber(systemActor('demo'), ticketNumber);
  const edited = await s.t.ctx.intake.updateElements(dispatcher(), t.id, t.version, {
    categoryId: await s.categoryId('04020302'), parties: '楼内居民', demand: '请尽快处理', occurredAt: '2025-10-09T08:00:00+08:00',
  });
  const unit = await s.unitId('dept-cgj');
  await s.t.ctx.intake.transition(dispatcher(), t.id, edited.version, { action: 'dispatch', handlingUnitId: unit, routing: { rule: 'function', responsibilityVersionId: null, plannedUnitId: unit, coUnitIds: [] } });
  const [lead] = await s.workOrdersOf(t.id);
  const w = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
  await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/notes`, { text: '内部备注：联系物业经理张某' });
  await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/reply`, { version: w.version, result: '已清理楼道堆放杂物，并告知物业加强巡查' });
  await s.ok('dispatcher1', 'POST', `/tickets/${t.id}/reply-review`, { decision: 'accept' });
  await s.at('2025-10-09T02:01:00Z');
  return t.id;
}

