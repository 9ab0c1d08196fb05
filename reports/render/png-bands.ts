/**
 * Cuts a PNG into horizontal bands (whole rows), so that one chromium screenshot of all of a
 * document's charts, stacked, gives one image per chart: a chromium start costs about a second,
 * a band costs a few milliseconds. Reads 8-bit non-interlaced PNGs (what chromium writes), writes
 * each band with filter 0 (none).
 */
import { deflateSync, inflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** The image's rows, unfiltered. */
function decode(png: Buffer): { width: number; height: number; header: Buffer; rows: Buffer[]; stride: number } {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('png-bands: not a PNG');
  let offset = 8;
  let header: Buffer | null = null;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') header = Buffer.from(data);
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  if (!header) throw new Error('png-bands: no IHDR');
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  const [depth, colorType, , , interlace] = [header[8], header[9], header[10], header[11], header[12]];
  const channels = CHANNELS[colorType];
  if (depth !== 8 || !channels || interlace !== 0) throw new Error(`png-bands: unsupported PNG (depth ${depth}, colour type ${colorType}, interlace ${interlace})`);
  const bpp = channels;
  const stride = width * bpp;
  const raw = inflateSync(Buffer.concat(idat));
  const rows: Buffer[] = [];
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const start = y * (stride + 1);
    const filter = raw[start];
    const line = Buffer.from(raw.subarray(start + 1, start + 1 + stride));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? line[x - bpp] : 0;
      const b = prev[x];
      const c = x >= bpp ? prev[x - bpp] : 0;
      switch (filter) {
        case 0: break;
        case 1: line[x] = (line[x] + a) & 0xff; break;
        case 2: line[x] = (line[x] + b) & 0xff; break;
        case 3: line[x] = (line[x] + ((a + b) >> 1)) & 0xff; break;
        case 4: line[x] = (line[x] + paeth(a, b, c)) & 0xff; break;
        default: throw new Error(`png-bands: bad filter ${filter} on row ${y}`);
      }
    }
    rows.push(line);
    prev = line;
  }
  return { width, height, header, rows, stride };
}

/** Bands of rows [y, y + height) in device pixels; each becomes a PNG of its own. */
export function splitPngRows(png: Buffer, bands: { y: number; height: number }[]): Buffer[] {
  const img = decode(png);
  return bands.map(({ y, height }) => {
    const from = Math.max(0, Math.min(img.height, Math.round(y)));
    const to = Math.max(from + 1, Math.min(img.height, Math.round(y + height)));
    const header = Buffer.from(img.header);
    header.writeUInt32BE(to - from, 4);
    const raw = Buffer.alloc((to - from) * (img.stride + 1));
    for (let r = from; r < to; r++) img.rows[r].copy(raw, (r - from) * (img.stride + 1) + 1);
    return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
  });
}
