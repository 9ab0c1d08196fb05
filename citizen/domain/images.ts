/**
 * What a photo really is, read from its first bytes (magic numbers), never from the name or the
 * type the browser claims: JPEG, PNG, WebP, GIF. Anything else is not an image we take.
 */
export type PhotoType = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif';

export const PHOTO_EXTENSION: Readonly<Record<PhotoType, string>> = {
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/webp': '.webp',
  'image/gif': '.gif',
};

export function sniffImageType(body: Buffer): PhotoType | null {
  if (body.length < 12) return null;
  if (body[0] === 0xff && body[1] === 0xd8 && body[2] === 0xff) return 'image/jpeg';
  if (body.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (body.toString('latin1', 0, 4) === 'RIFF' && body.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  const gif = body.toString('latin1', 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') return 'image/gif';
  return null;
}
