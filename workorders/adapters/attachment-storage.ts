/** Attachment storage: a folder on disk (embedded default) or an S3-compatible bucket (production). */
import { mkdir, readFile, writeFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { S3Client, PutObjectCommand, GetObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { AppError } from '../../core';
import type { AttachmentStorage } from '../ports';

/** The attachments volume is full (or over quota): 507, nothing stored; the upload may be retried once space is freed. */
export const attachmentStorageFull = () =>
  new AppError('ATTACHMENT_STORAGE_FULL', 507, 'the attachment store is full; nothing was stored, try again later', '附件存储空间已满，附件未保存，请稍后重试或联系管理员');

/** Files under one root; keys never leave it. Written to a temporary name first, so a crash leaves no half file. */
export function createDiskAttachmentStorage(root: string): AttachmentStorage {
  const base = resolve(root);
  const pathOf = (key: string) => {
    const p = resolve(join(base, key));
    if (!p.startsWith(base + sep)) throw new Error(`attachment key outside the storage root: ${key}`);
    return p;
  };
  return {
    kind: 'disk',
    async put(key, body) {
      const p = pathOf(key);
      await mkdir(dirname(p), { recursive: true });
      const tmp = `${p}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await writeFile(tmp, body);
        await rename(tmp, p);
      } catch (err) {
        // A full disk leaves the part written so far: removed, so a retry finds the space it had.
        await rm(tmp, { force: true }).catch(() => {});
        const code = (err as { code?: string }).code;
        if (code === 'ENOSPC' || code === 'EDQUOT') throw attachmentStorageFull();
        throw err;
      }
    },
    get: (key) => readFile(pathOf(key)),
    delete: (key) => rm(pathOf(key), { force: true }),
  };
}

export interface S3StorageOptions {
  bucket: string;
  region?: string;
  /** An S3-compatible endpoint (MinIO, OSS, COS); path-style addressing is used with it. */
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  prefix?: string;
}

export function createS3AttachmentStorage(o: S3StorageOptions): AttachmentStorage {
  if (!o.bucket) throw new Error('S3 attachment storage needs a bucket (ATTACHMENTS_S3_BUCKET)');
  const client = new S3Client({
    region: o.region ?? 'us-east-1',
    endpoint: o.endpoint,
    forcePathStyle: !!o.endpoint,
    credentials: o.accessKeyId && o.secretAccessKey ? { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey } : undefined,
  });
  const keyOf = (key: string) => `${o.prefix ?? ''}${key}`;
  return {
    kind: 's3',
    async put(key, body, contentType) {
      await client.send(new PutObjectCommand({ Bucket: o.bucket, Key: keyOf(key), Body: body, ContentType: contentType }));
    },
    async get(key) {
      const r = await client.send(new GetObjectCommand({ Bucket: o.bucket, Key: keyOf(key) }));
      return Buffer.from(await r.Body!.transformToByteArray());
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket: o.bucket, Key: keyOf(key) }));
    },
  };
}
