/**
 * The citizen pages' service over the real server (SQLite or MariaDB per TEST_DATABASE): a QR
 * report becomes a ticket in the building's grid; the status page opens with a one-time SMS code
 * and takes the rating; forged codes, non-images, huge files, replayed and brute-forced codes are
 * refused with a stable code and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import jsQR from 'jsqr';
import { systemActor } from '../../core';
import { startScenario, type Scenario } from '../workorders/helpers';
import { rowCounts } from '../helpers/app';
import { BUILDING, GRID, citizenApi, pngPhoto, takeToCallback } from './helpers';

let s: Scenario;
let c: ReturnType<typeof citizenApi>;
const START = new Date('2025-10-09T02:00:00Z');

beforeAll(async () => {
  s = await startScenario(START);
  c = citizenApi(s);
}, 60_000);
afterAll(async () => s?.t.close());

const citizenCounts = async () => {
  const db = s.t.ctx.database.db;
  const n = async (t: 'citizen_reports' | 'citizen_photos' | 'citizen_codes') => Number((await db.selectFrom(t).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return { ...(await rowCounts(s.t)), reports: await n('citizen_reports'), photos: await n('citizen_photos'), codes: await n('citizen_codes') };
};

describe('QR report (一码受理)', () => {
  let ticketNumber: string;

  it('a report with a photo becomes a qr ticket in the building\'s grid, seen by that grid; a retry answers with the same ticket', async () => {
    const before = await citizenCounts();
    const photo = await pngPhoto();
    const fields = { token: await c.token(), description: '3单元楼道堆满杂物，堵住了消防通道', phone: '13811112222', idempotencyKey: 'retry-key-0001' };
    const r = await c.report({ device: 'dev-aaaaaaaaaaaaaaaa' }, fields, [{ name: 'photos', fileName: 'a.png', type: 'image/png', body: photo }]);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ duplicate: false, hasPhone: true });
    ticketNumber = r.body.ticketNumber;
    expect(r.body.statusPath).toBe(`/c/s?n=${ticketNumber}`);

    const grid = await s.t.ctx.directory.findTerritoryByCode('demo', GRID);
    const t = await s.t.ctx.intake.getTicketByNumber(systemActor('demo'), ticketNumber);
    expect(t).toMatchObject({ channel: 'qr', territoryId: grid!.id, callerPhone: '13811112222', situation: fields.description, status: 'accepted' });
    expect(t.addressText).toContain(BUILDING);
    // The grid member of that grid sees it; one of the next grid does not.
    expect((await s.api('grid1', 'GET', `/tickets/${t.id}`)).status).toBe(200);
    expect((await s.api('grid2', 'GET', `/tickets/${t.id}`)).status).toBe(404);
    // The photo is stored and the center reads it back, byte for byte.
    const photos = await s.ok('dispatcher1', 'GET', `/citizen/tickets/${t.id}/photos`);
    expect(photos.items).toHaveLength(1);
    expect(photos.items[0]).toMatchObject({ contentType: 'image/png', size: photo.length });
    const img = await s.t.app.inject({ method: 'GET', url: `/api/v1/citizen/tickets/${t.id}/photos/${photos.items[0].id}`, headers: { cookie: await s.t.login('dispatcher1') } });
    expect(img.statusCode).toBe(200);
    expect(img.rawPayload.equals(photo)).toBe(true);
    // Audited with the ticket.
    const audit = await s.t.ctx.intake.auditOf(systemActor('demo'), t.id);
    expect(audit.map((a: any) => a.action)).toEqual(expect.arrayContaining(['ticket.created', 'citizen.qr_report']));

    const again = await c.report({ device: 'dev-aaaaaaaaaaaaaaaa' }, fields, [{ name: 'photos', fileName: 'a.png', type: 'image/png', body: photo }]);
    expect(again.status).toBe(201);
    expect(again.body.ticketNumber).toBe(ticketNumber);
    const after = await citizenCounts();
    expect(after.tickets - before.tickets).toBe(1);
    expect(after.reports - before.reports).toBe(1);
    expect(after.photos - before.photos).toBe(1);
  });

  it('forged, altered or unknown building codes: QR_CODE_INVALID / QR_BUILDING_UNKNOWN, nothing written', async () => {
    const real = await c.token();
    const [payload, sig] = real.split('.');
    const otherCode = Buffer.from('demo\nQR-990103002002-0001').toString('base64url');
    const before = await citizenCounts();
    for (const token of [`${payload}.${sig!.slice(0, -2)}xx`, `${otherCode}.${sig}`, 'QR-990102001001-0001', 'garbage.garbage.garbage', '']) {
      const r = await c.report({ device: 'dev-forger000000001' }, { token, description: '楼道灯坏了很久没人修' });
      expect({ status: r.status, code: r.body.code }).toEqual({ status: 400, code: 'QR_CODE_INVALID' });
      expect(r.body.message_zh).toContain('二维码无效');
      expect(r.body.message).toBeTruthy();
      const page = await c.send({ device: 'dev-forger000000001' }, 'GET', `/api/public/citizen/buildings/${encodeURIComponent(token || 'x')}`);
      expect(page.body.code).toBe('QR_CODE_INVALID');
    }
    // Signed by us, but the building is not in the gazetteer (removed since printing).
    const gone = await s.t.ctx.citizen.buildingToken({ cityId: 'demo', code: 'QR-NOT-THERE' });
    const r = await c.report({ device: 'dev-forger000000001' }, { token: gone, description: '楼道灯坏了很久没人修' });
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 404, code: 'QR_BUILDING_UNKNOWN' });
    expect(await citizenCounts()).toEqual(before);
  });

  it('a non-image, a huge photo, too many photos, a bad phone: clear errors, nothing written or stored', async () => {
    const token = await c.token();
    const before = await citizenCounts();
    const who = { device: 'dev-uploader0000001' };
    const fake = Buffer.from('#!/bin/sh\necho this is not a picture\n'.repeat(20));
    let r = await c.report(who, { token, description: '路灯不亮已经一周了' }, [{ name: 'photos', fileName: 'photo.jpg', type: 'image/jpeg', body: fake }]);
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 400, code: 'PHOTO_NOT_IMAGE' });
    expect(r.body.message_zh).toContain('不是图片');
    const huge = Buffer.concat([await pngPhoto(), Buffer.alloc(6 * 1024 * 1024, 1)]);
    r = await c.report(who, { token, description: '路灯不亮已经一周了' }, [{ name: 'photos', fileName: 'big.png', type: 'image/png', body: huge }]);
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 413, code: 'PHOTO_TOO_LARGE' });
    const p = await pngPhoto();
    r = await c.report(who, { token, description: '路灯不亮已经一周了' }, [1, 2, 3, 4].map((i) => ({ name: 'photos', fileName: `${i}.png`, type: 'image/png', body: p })));
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 400, code: 'TOO_MANY_PHOTOS' });
    r = await c.report(who, { token, description: '路灯不亮已经一周了', phone: '12345' });
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 400, code: 'PHONE_INVALID' });
    r = await c.report(who, { token, description: '坏了' });
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 400, code: 'DESCRIPTION_TOO_SHORT' });
    expect(await citizenCounts()).toEqual(before);
  });

  it('the same problem again from the same device is the first ticket; from another device a new ticket linked as a duplicate', async () => {
    const token = await c.token();
    const text = '5号楼东侧路面塌陷一个大坑，晚上很危险';
    const first = await c.report({ device: 'dev-dup00000000001', ip: '10.2.0.1' }, { token, description: text });
    expect(first.status).toBe(201);
    const same = await c.report({ device: 'dev-dup00000000001', ip: '10.2.0.1' }, { token, description: text });
    expect(same.body).toMatchObject({ ticketNumber: first.body.ticketNumber, duplicate: true });
    const other = await c.report({ device: 'dev-dup00000000002', ip: '10.2.0.2' }, { token, description: text });
    expect(other.status).toBe(201);
    expect(other.body.ticketNumber).not.toBe(first.body.ticketNumber);
    const t = await s.t.ctx.intake.getTicketByNumber(systemActor('demo'), other.body.ticketNumber);
    const links = await s.t.ctx.intake.linksOf(systemActor('demo'), t.id);
    const firstTicket = await s.t.ctx.intake.getTicketByNumber(systemActor('demo'), first.body.ticketNumber);
    expect(links).toEqual([expect.objectContaining({ ticketId: firstTicket.id, kind: 'duplicate' })]);
  });

  it('per-device, per-address and per-code limits: 429 with Retry-After, nothing written', async () => {
    const token = await c.token('QR-990102001001-0002');
    const who = { device: 'dev-flood000000001', ip: '10.3.0.1' };
    for (let i = 0; i < 5; i++) {
      const r = await c.report(who, { token, description: ['小区门口垃圾三天没人清运', '南侧路灯坏了晚上一片漆黑', '地下室水管漏水积了很深', '楼下饭店油烟噪音扰民', '2号电梯故障困人两次'][i] });
      expect(r.body.duplicate).toBe(false);
      expect(r.status).toBe(201);
    }
    const before = await citizenCounts();
    const r = await c.report(who, { token, description: '井盖丢失了很危险' });
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 429, code: 'REPORT_RATE_LIMITED' });
    expect(r.headers['retry-after']).toBe('3600');
    // A device that drops its cookie is still counted by its address.
    // 20 an hour per address: 5 above and 15 more.
    for (let i = 0; i < 15; i++) {
      const r = await c.report({ device: `dev-nocookie${String(i).padStart(6, '0')}`, ip: '10.3.0.1' }, { token, description: ['消防栓被圈占','共享单车堵门','井盖松动异响','墙皮大面积脱落','窗户玻璃碎了','健身器材损坏','绿化带被毁种菜','楼顶有人搭违建','流浪狗伤人','化粪池外溢','楼道广告乱贴乱画','门口路面积水严重','充电线飞线','夜间施工扰民','树枝压断电线'][i] });
      expect(r.status).toBe(201);
    }
    const byIp = await c.report({ device: 'dev-nocookie-last01', ip: '10.3.0.1' }, { token, description: '地址限流之后的问题' });
    expect({ status: byIp.status, code: byIp.body.code }).toEqual({ status: 429, code: 'REPORT_RATE_LIMITED' });
    expect((await citizenCounts()).tickets - before.tickets).toBe(15);
    // And a code spread around is limited per building (30 an hour), whoever scans it.
    for (let i = 0; i < 10; i++) {
      const r = await c.report({ device: `dev-crowd${String(i).padStart(9, '0')}`, ip: `10.3.1.${i}` }, { token, description: `楼栋外墙瓷砖脱落，第${i + 1}位居民反映` });
      expect(r.status).toBe(201);
    }
    const byCode = await c.report({ device: 'dev-crowd-last0001', ip: '10.3.2.1' }, { token, description: '楼栋外墙瓷砖脱落砸坏车辆' });
    expect({ status: byCode.status, code: byCode.body.code }).toEqual({ status: 429, code: 'QR_CODE_RATE_LIMITED' });
    // Another building's code is not affected.
    expect((await c.report({ device: 'dev-crowd-last0001', ip: '10.3.2.1' }, { token: await c.token('江景苑1栋'), description: '江景苑1栋门禁坏了' })).status).toBe(201);
  });
});

describe('status page (进度查询) behind a one-time SMS code', () => {
  let number: string;
  const who = { device: 'dev-status00000001', ip: '10.4.0.1' };

  beforeAll(async () => {
    s.clock.set(START);
    const r = await c.report({ device: 'dev-status-rep0001', ip: '10.4.9.9' }, { token: await c.token('QR-990102001001-0003'), description: '楼顶水箱漏水，顶楼天花板渗水', phone: '13955556666' });
    number = r.body.ticketNumber;
  });

  it('a wrong phone gets the same answer and no text; the right one gets a code by SMS', async () => {
    const before = await citizenCounts();
    const wrong = await c.send(who, 'POST', '/api/public/citizen/status/code', { ticketNumber: number, phone: '13900000000' });
    expect(wrong.status).toBe(200);
    const unknown = await c.send(who, 'POST', '/api/public/citizen/status/code', { ticketNumber: '999999999999', phone: '13955556666' });
    expect(unknown.body).toEqual(wrong.body);
    expect(await citizenCounts()).toEqual(before);
    const right = await c.send(who, 'POST', '/api/public/citizen/status/code', { ticketNumber: number, phone: '13955556666' });
    expect(right.body).toEqual(wrong.body);
    expect(await c.lastCode(number)).toMatch(/^\d{6}$/);
    // A second code at once is refused (60 s between codes).
    const soon = await c.send(who, 'POST', '/api/public/citizen/status/code', { ticketNumber: number, phone: '13955556666' });
    expect({ status: soon.status, code: soon.body.code }).toEqual({ status: 429, code: 'CODE_RESEND_TOO_SOON' });
  });

  it('the right code opens the status once: a replay is refused; the page shows no notes and no staff names', async () => {
    const code = (await c.lastCode(number))!;
    const ok = await c.send(who, 'POST', '/api/public/citizen/status/verify', { ticketNumber: number, code });
    expect(ok.status).toBe(200);
    const access = ok.cookies.find((k) => k.name === 'citizen_status')!;
    expect(access).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/public/citizen/status' });
    const before = await citizenCounts();
    const replay = await c.send({ device: 'dev-attacker000001', ip: '10.4.0.66' }, 'POST', '/api/public/citizen/status/verify', { ticketNumber: number, code });
    expect({ status: replay.status, code: replay.body.code }).toEqual({ status: 409, code: 'CODE_ALREADY_USED' });
    expect(replay.body.message_zh).toContain('已使用');
    expect(await citizenCounts()).toEqual(before);
    expect(replay.cookies.find((k) => k.name === 'citizen_status')).toBeUndefined();

    const status = await c.send(who, 'GET', '/api/public/citizen/status', undefined, { citizen_status: access.value });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ ticketNumber: number, stage: 'accepted', stageZh: '已受理', phone: '139****6666', canRate: false, result: null });
    // Without the cookie, or with a forged one: 401.
    expect((await c.send(who, 'GET', '/api/public/citizen/status')).body.code).toBe('STATUS_ACCESS_REQUIRED');
    expect((await c.send(who, 'GET', '/api/public/citizen/status', undefined, { citizen_status: access.value.slice(0, -3) + 'abc' })).body.code).toBe('STATUS_ACCESS_REQUIRED');
  });

  it('an expired code is refused (CODE_EXPIRED)', async () => {
    s.clock.set(new Date(START.getTime() + 5 * 60_000));
    await c.send(who, 'POST', '/api/public/citizen/status/code', { ticketNumber: number, phone: '13955556666' });
    const code = (await c.lastCode(number))!;
    s.clock.set(new Date(START.getTime() + 16 * 60_000));
    const r = await c.send(who, 'POST', '/api/public/citizen/status/verify', { ticketNumber: number, code });
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 400, code: 'CODE_EXPIRED' });
  });

  it('brute force: five wrong codes lock the ticket out, even for the right code from another device; audited', async () => {
    s.clock.set(new Date(START.getTime() + 20 * 60_000));
    await c.send(who, 'POST', '/api/public/citizen/status/code', { ticketNumber: number, phone: '13955556666' });
    const right = (await c.lastCode(number))!;
    const wrongOf = (i: number) => String((Number(right) + 1 + i) % 900000 + 100000);
    for (let i = 0; i < 4; i++) {
      const r = await c.send({ device: `dev-brute${i}00000000`, ip: `10.5.0.${i}` }, 'POST', '/api/public/citizen/status/verify', { ticketNumber: number, code: wrongOf(i) });
      expect({ status: r.status, code: r.body.code }).toEqual({ status: 400, code: 'CODE_INVALID' });
    }
    const fifth = await c.send({ device: 'dev-brute500000000', ip: '10.5.0.5' }, 'POST', '/api/public/citizen/status/verify', { ticketNumber: number, code: wrongOf(5) });
    expect({ status: fifth.status, code: fifth.body.code }).toEqual({ status: 429, code: 'CODE_LOCKED' });
    expect(Number(fifth.headers['retry-after'])).toBeGreaterThan(0);
    const before = await citizenCounts();
    const locked = await c.send(who, 'POST', '/api/public/citizen/status/verify', { ticketNumber: number, code: right });
    expect({ status: locked.status, code: locked.body.code }).toEqual({ status: 429, code: 'CODE_LOCKED' });
    expect(locked.body.message_zh).toContain('错误次数过多');
    expect(locked.cookies.find((k) => k.name === 'citizen_status')).toBeUndefined();
    expect(await citizenCounts()).toEqual(before);
    const t = await s.t.ctx.intake.getTicketByNumber(systemActor('demo'), number);
    const actions = (await s.t.ctx.intake.auditOf(systemActor('demo'), t.id)).map((a: any) => a.action);
    expect(actions.filter((a: string) => a === 'citizen.code_failed')).toHaveLength(4);
    expect(actions).toContain('citizen.code_locked');
    // After the lockout the right code (if still valid) works again: a new one is asked for.
    s.clock.set(new Date(START.getTime() + 51 * 60_000));
    await c.send(who, 'POST', '/api/public/citizen/status/code', { ticketNumber: number, phone: '13955556666' });
    const fresh = await c.send(who, 'POST', '/api/public/citizen/status/verify', { ticketNumber: number, code: (await c.lastCode(number))! });
    expect(fresh.status).toBe(200);
  });

  it('one device guessing across tickets is locked out by its device and its address', async () => {
    s.clock.set(new Date(START.getTime() + 60 * 60_000));
    const guesser = { device: 'dev-guesser0000001', ip: '10.6.0.1' };
    let last: any;
    for (let i = 0; i < 10; i++) last = await c.send(guesser, 'POST', '/api/public/citizen/status/verify', { ticketNumber: `2025100900${String(i).padStart(4, '0')}`, code: '123456' });
    expect({ status: last.status, code: last.body.code }).toEqual({ status: 429, code: 'CODE_LOCKED' });
    const fromSameDevice = await c.send(guesser, 'POST', '/api/public/citizen/status/code', { ticketNumber: number, phone: '13955556666' });
    expect(fromSameDevice.body.code).toBe('CODE_LOCKED');
  });

  it('the citizen rates the result once it is accepted; the ticket closes as from a callback; a second rating is refused', async () => {
    await takeToCallback(s, number);
    s.clock.set(new Date('2025-10-09T03:00:00Z'));
    const me = { device: 'dev-rater00000001', ip: '10.7.0.1' };
    expect((await c.send(me, 'POST', '/api/public/citizen/status/code', { ticketNumber: number, phone: '13955556666' })).status).toBe(200);
    const v = await c.send(me, 'POST', '/api/public/citizen/status/verify', { ticketNumber: number, code: (await c.lastCode(number))! });
    const cookie = { citizen_status: v.cookies.find((k) => k.name === 'citizen_status')!.value };
    const st = await c.send(me, 'GET', '/api/public/citizen/status', undefined, cookie);
    expect(st.body).toMatchObject({ stage: 'done', canRate: true, result: '已清理楼道堆放杂物，并告知物业加强巡查' });
    const page = JSON.stringify(st.body);
    for (const secret of ['内部备注', '张某', '刘洋', 'chengguan1', '城管局经办人']) expect(page).not.toContain(secret);

    const bad = await c.send(me, 'POST', '/api/public/citizen/status/rating', { satisfaction: 'great' }, cookie);
    expect({ status: bad.status, code: bad.body.code }).toEqual({ status: 400, code: 'SATISFACTION_INVALID' });
    const rated = await c.send(me, 'POST', '/api/public/citizen/status/rating', { satisfaction: 'basically_satisfied', comment: '处理得挺快' }, cookie);
    expect(rated.status).toBe(200);
    expect(rated.body).toMatchObject({ stage: 'rated', satisfaction: 'basically_satisfied', satisfactionZh: '基本满意', canRate: false });
    const t = await s.t.ctx.intake.getTicketByNumber(systemActor('demo'), number);
    expect(t).toMatchObject({ status: 'closed', satisfaction: 'basically_satisfied' });
    const again = await c.send(me, 'POST', '/api/public/citizen/status/rating', { satisfaction: 'unsatisfied' }, cookie);
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: 'NOT_RATEABLE' });
    expect((await s.t.ctx.intake.getTicketByNumber(systemActor('demo'), number)).satisfaction).toBe('basically_satisfied');
  });
});

describe('printable codes', () => {
  it('a building\'s PNG decodes to the URL of its report form; grid staff print only their own territory', async () => {
    const png = await s.t.app.inject({ method: 'GET', url: `/api/v1/citizen/buildings/${BUILDING}/qr.png`, headers: { cookie: await s.t.login('grid1'), host: '12345.demo.gov.cn' } });
    expect(png.statusCode).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    const img = PNG.sync.read(png.rawPayload);
    const decoded = jsQR(new Uint8ClampedArray(img.data), img.width, img.height);
    expect(decoded?.data).toBe(`http://12345.demo.gov.cn/c/q/${await c.token()}`);
    const building = await c.send({ device: 'dev-printer0000001' }, 'GET', `/api/public/citizen/buildings/${decoded!.data.split('/').pop()}`);
    expect(building.body).toMatchObject({ code: BUILDING, place: expect.stringContaining('滨江社区第一网格') });
    // grid2's grid (第二网格) does not hold this building.
    const other = await s.api('grid2', 'GET', `/citizen/buildings/${BUILDING}/qr.png`);
    expect({ status: other.status, code: other.body.code }).toEqual({ status: 404, code: 'BUILDING_NOT_FOUND' });
    expect((await s.api('water1', 'GET', '/citizen/buildings')).body.code).toBe('ROLE_FORBIDDEN');
  });

  it('a community\'s sheet lists its buildings and prints to PDF through chromium', async () => {
    const community = await s.t.ctx.directory.findTerritoryByCode('demo', '990102001001');
    const list = await s.ok('dispatcher1', 'GET', `/citizen/buildings?territoryId=${community!.id}`);
    expect(list.items.map((b: any) => b.code).sort()).toEqual(['QR-990102001001-0001', 'QR-990102001001-0002', 'QR-990102001001-0003', '江景苑1栋', '江景苑2栋', '江景苑5栋'].sort());
    const html = await s.t.app.inject({ method: 'GET', url: `/api/v1/citizen/territories/${community!.id}/qr-sheet?format=html`, headers: { cookie: await s.t.login('dispatcher1') } });
    expect(html.body).toContain('江景苑5栋');
    expect((html.body.match(/<img /g) ?? []).length).toBe(6);
    const pdf = await s.t.app.inject({ method: 'GET', url: `/api/v1/citizen/territories/${community!.id}/qr-sheet`, headers: { cookie: await s.t.login('dispatcher1') } });
    expect(pdf.statusCode).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
  }, 120_000);
});

describe('retries and races', () => {
  it('the same submit twice at once (same idempotency key) is one ticket and one report', async () => {
    s.clock.set(new Date('2025-10-09T05:00:00Z'));
    const before = await citizenCounts();
    const fields = { token: await c.token('江景苑2栋'), description: '江景苑2栋单元门禁坏了外人随便进出', idempotencyKey: 'race-key-000001', phone: '13833334444' };
    const who = { device: 'dev-race000000001', ip: '10.9.0.1' };
    const [a, b] = await Promise.all([c.report(who, fields), c.report(who, fields)]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.ticketNumber).toBe(b.body.ticketNumber);
    const after = await citizenCounts();
    expect(after.tickets - before.tickets).toBe(1);
    expect(after.reports - before.reports).toBe(1);
  });

  it('one code used twice at once: one opens the page, the other is CODE_ALREADY_USED', async () => {
    s.clock.set(new Date('2025-10-09T05:30:00Z'));
    const number = (await s.t.database.db.selectFrom('tickets').select('number').where('caller_phone', '=', '13833334444').executeTakeFirstOrThrow()).number;
    const who = { device: 'dev-race000000002', ip: '10.9.0.2' };
    await c.send(who, 'POST', '/api/public/citizen/status/code', { ticketNumber: number, phone: '13833334444' });
    const code = (await c.lastCode(number))!;
    const both = await Promise.all([1, 2].map(() => c.send(who, 'POST', '/api/public/citizen/status/verify', { ticketNumber: number, code })));
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(both.find((r) => r.status === 409)!.body.code).toBe('CODE_ALREADY_USED');
  });
});
