/**
 * Found by the load driver's fill-disk fault (docs/reliability.md): an upload to a full attachments
 * volume answered 500 (an unhandled ENOSPC) and left its half-written temporary file behind, taking
 * more of the space. Now: 507 ATTACHMENT_STORAGE_FULL in both languages, no row, no audit, no file
 * left; once space is free the same upload succeeds.
 *
 * The volume is a real 256 KiB tmpfs, so this needs root (mount); it says so and skips otherwise.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, type Scenario } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'hotline-full-disk-'));
const mounted = typeof process.getuid === 'function' && process.getuid() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]).status === 0;
if (!mounted) console.warn('attachments-on-a-full-disk: skipped, mounting a tmpfs needs root');

let s: Scenario;
beforeAll(async () => {
  if (mounted) s = await startScenario(undefined, { attachments: { dir, maxBytes: 20 * 1024 * 1024, s3: null } });
}, 180_000);
afterAll(async () => {
  await s?.t.close();
  if (mounted) spawnSync('umount', ['-l', dir]);
  rmSync(dir, { recursive: true, force: true });
});

const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [join(d, e.name)]));

async function upload(workOrderId: string, bytes: number) {
  const boundary = 'x-boundary-full-disk';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    Buffer.alloc(bytes, 7),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await s.t.app.inject({ method: 'POST', url: `/api/v1/work-orders/${workOrderId}/attachments`, payload: body, headers: { cookie: await s.t.login('chengguan1'), 'content-type': `multipart/form-data; boundary=${boundary}` } });
  return { status: res.statusCode, body: res.json() as any };
}

describe.skipIf(!mounted)('an upload to a full attachments volume', () => {
  it('is refused with 507 and leaves nothing; after space is freed it is stored', async () => {
    const { lead } = await s.dispatched('dept-cgj');
    const before = files(dir).length;
    const r = await upload(lead.id, 400 * 1024); // more than the volume holds, well under ATTACHMENTS_MAX_BYTES
    expect(r.status).toBe(507);
    expect(r.body).toMatchObject({ code: 'ATTACHMENT_STORAGE_FULL', message: expect.stringContaining('full'), message_zh: expect.stringContaining('已满') });
    expect(files(dir)).toHaveLength(before); // no half-written temporary file
    const rows = await s.t.ctx.database.db.selectFrom('work_order_attachments').select('id').where('work_order_id', '=', lead.id).execute();
    expect(rows).toHaveLength(0);
    const audit = await s.t.ctx.database.db.selectFrom('audit_events').select('id').where('entity_id', '=', lead.id).where('action', '=', 'workorder.attachment_added').execute();
    expect(audit).toHaveLength(0);

    const ok = await upload(lead.id, 100 * 1024);
    expect(ok.status).toBe(201);
    const stored = files(dir).filter((f) => !f.endsWith('.tmp'));
    expect(stored.some((f) => statSync(f).size === 100 * 1024)).toBe(true);
  });
});
