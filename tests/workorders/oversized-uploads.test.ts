/**
 * An attachment over ATTACHMENTS_MAX_BYTES is refused with 413 ATTACHMENT_TOO_LARGE however it is
 * sent, and nothing is kept: no file in the attachments folder, no row, no audit event. Sent
 * chunked (no Content-Length) it used to be answered 201 and stored cut at the limit, so these
 * requests go over a real socket to a listening server (app.inject does not stream a body in the
 * client's chunks).
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialect } from '../helpers/db';
import { startScenario, THURSDAY_10AM, type Scenario } from './helpers';
import { countRows } from '../helpers/app';

const MAX = 64 * 1024;
let s: Scenario;
let dir: string;
let base: string;
let cookie: string;
let workOrderId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotline-oversized-'));
  s = await startScenario(THURSDAY_10AM, { attachments: { dir, maxBytes: MAX, s3: null }, sweepIntervalSeconds: 3600 });
  await s.t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(s.t.app.server.address() as AddressInfo).port}`;
  const { lead } = await s.dispatched('dept-cgj');
  workOrderId = (await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version })).id;
  const login = await s.t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'chengguan1', password: 'demo12345' } });
  cookie = login.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
}, 60_000);
afterAll(async () => {
  await s?.t.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).sort();
}
async function state() {
  const n = (table: 'work_order_attachments' | 'audit_events') => countRows(s.t, table);
  return { files: await filesUnder(dir), attachments: await n('work_order_attachments'), audit: await n('audit_events') };
}

/**
 * POSTs one file as multipart/form-data: chunked (no Content-Length), the file written in
 * `chunk`-byte pieces, or in one piece with a Content-Length.
 */
function upload(size: number, how: { chunked: true; chunk: number } | { chunked: false }): Promise<{ status: number; body: any }> {
  const boundary = '----hotline' + Math.random().toString(16).slice(2);
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const file = Buffer.alloc(size, 0x41);
  file.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { cookie, 'content-type': `multipart/form-data; boundary=${boundary}` };
    if (how.chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = head.length + file.length + tail.length;
    const req = httpRequest(`${base}/api/v1/work-orders/${workOrderId}/attachments`, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
      });
    });
    // The server may answer and close before the whole body is sent: that is the refusal, not a failure.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    (async () => {
      req.write(head);
      if (how.chunked) {
        for (let at = 0; at < file.length; at += how.chunk) {
          if (!req.write(file.subarray(at, at + how.chunk))) await new Promise((r) => req.once('drain', r));
        }
      } else req.write(file);
      req.end(tail);
    })().catch(reject);
  });
}

describe(`attachments over the limit over a real socket (${testDialect})`, () => {
  const cases: Array<[string, number, { chunked: true; chunk: number } | { chunked: false }]> = [
    ['chunked, one byte over, 4 KiB chunks', MAX + 1, { chunked: true, chunk: 4096 }],
    ['chunked, 4 KiB over, 4 KiB chunks (the limit falls on a chunk boundary)', MAX + 4096, { chunked: true, chunk: 4096 }],
    ['chunked, twice the limit, 1 KiB chunks', 2 * MAX, { chunked: true, chunk: 1024 }],
    ['chunked, ten times the limit, 16 KiB chunks', 10 * MAX, { chunked: true, chunk: 16 * 1024 }],
    ['with a Content-Length, one byte over', MAX + 1, { chunked: false }],
    ['with a Content-Length, twice the limit', 2 * MAX, { chunked: false }],
  ];
  for (const [name, size, how] of cases) {
    it(`${name}: 413 ATTACHMENT_TOO_LARGE, no file, no row, no audit`, async () => {
      const before = await state();
      const res = await upload(size, how);
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ code: 'ATTACHMENT_TOO_LARGE', details: { field: 'file', maxBytes: MAX } });
      expect(res.body.message_zh).toMatch(/附件不能超过/);
      expect(await state()).toEqual(before);
    });
  }

  it('exactly at the limit, chunked: 201, stored whole', async () => {
    const before = await state();
    const res = await upload(MAX, { chunked: true, chunk: 4096 });
    expect(res.status).toBe(201);
    expect(res.body.size).toBe(MAX);
    const after = await state();
    expect(after.files).toHaveLength(before.files.length + 1);
    expect(after.attachments).toBe(before.attachments + 1);
  });
});
