/**
 * WAV files: reading an 8 kHz mono prompt (PCM16, μ-law or A-law) into linear samples, and writing the
 * stereo PCM16 recording as it grows (header sizes patched when it closes).
 */
import { openSync, writeSync, closeSync, readFileSync } from 'node:fs';
import { decodeG711 } from './g711';

const FORMAT_PCM = 1;
const FORMAT_ALAW = 6;
const FORMAT_ULAW = 7;

export class WavFormatError extends Error {}

/** Reads an 8 kHz mono WAV (PCM16, A-law or μ-law) into 16-bit samples; throws WavFormatError otherwise. */
export function readMonoWav(data: Buffer): Int16Array {
  if (data.length < 12 || data.toString('ascii', 0, 4) !== 'RIFF' || data.toString('ascii', 8, 12) !== 'WAVE') {
    throw new WavFormatError('not a RIFF/WAVE file');
  }
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null;
  let off = 12;
  while (off + 8 <= data.length) {
    const id = data.toString('ascii', off, off + 4);
    const size = data.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      const format = data.readUInt16LE(body);
      fmt = {
        // WAVE_FORMAT_EXTENSIBLE carries the real format in its sub-format GUID's first two bytes.
        format: format === 0xfffe && size >= 40 ? data.readUInt16LE(body + 24) : format,
        channels: data.readUInt16LE(body + 2),
        rate: data.readUInt32LE(body + 4),
        bits: data.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new WavFormatError('data chunk before fmt chunk');
      if (fmt.channels !== 1 || fmt.rate !== 8000) throw new WavFormatError(`need 8 kHz mono, got ${fmt.rate} Hz × ${fmt.channels}`);
      const bytes = data.subarray(body, Math.min(body + size, data.length));
      if (fmt.format === FORMAT_PCM && fmt.bits === 16) {
        const out = new Int16Array(bytes.length >> 1);
        for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2);
        return out;
      }
      if (fmt.format === FORMAT_ULAW && fmt.bits === 8) return decodeG711('PCMU', bytes);
      if (fmt.format === FORMAT_ALAW && fmt.bits === 8) return decodeG711('PCMA', bytes);
      throw new WavFormatError(`unsupported WAV format ${fmt.format}/${fmt.bits} bits`);
    }
    off = body + size + (size & 1);
  }
  throw new WavFormatError('no data chunk');
}

export function readMonoWavFile(path: string): Int16Array {
  return readMonoWav(readFileSync(path));
}

/** A canonical 44-byte PCM16 WAV header. */
export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(FORMAT_PCM, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/** A whole mono PCM16 WAV in memory (the default prompts). */
export function monoWav(samples: Int16Array, sampleRate = 8000): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(samples[i], i * 2);
  return Buffer.concat([wavHeader(sampleRate, 1, data.length), data]);
}

/** A stereo PCM16 WAV written frame by frame; `close` patches the sizes into the header. */
export class StereoWavWriter {
  private fd: number;
  private dataBytes = 0;
  private closed = false;

  constructor(readonly path: string, readonly sampleRate = 8000) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, wavHeader(sampleRate, 2, 0));
  }

  /** Appends `left.length` frames (left and right must be the same length). */
  write(left: Int16Array, right: Int16Array): void {
    if (this.closed) throw new Error('WAV writer is closed');
    const n = Math.min(left.length, right.length);
    const buf = Buffer.allocUnsafe(n * 4);
    for (let i = 0; i < n; i++) {
      buf.writeInt16LE(left[i], i * 4);
      buf.writeInt16LE(right[i], i * 4 + 2);
    }
    writeSync(this.fd, buf);
    this.dataBytes += buf.length;
  }

  get frames(): number {
    return this.dataBytes / 4;
  }

  /** Finishes the file; returns its total size in bytes. */
  close(): number {
    if (this.closed) return 44 + this.dataBytes;
    this.closed = true;
    writeSync(this.fd, wavHeader(this.sampleRate, 2, this.dataBytes), 0, 44, 0);
    closeSync(this.fd);
    return 44 + this.dataBytes;
  }
}

/** Reads a stereo PCM16 WAV back into its two channels (for tests and tools). */
export function readStereoWav(data: Buffer): { left: Int16Array; right: Int16Array; sampleRate: number } {
  if (data.toString('ascii', 0, 4) !== 'RIFF' || data.readUInt16LE(22) !== 2 || data.readUInt16LE(34) !== 16) {
    throw new WavFormatError('not a stereo PCM16 WAV');
  }
  const bytes = data.readUInt32LE(40);
  const n = Math.floor(Math.min(bytes, data.length - 44) / 4);
  const left = new Int16Array(n);
  const right = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    left[i] = data.readInt16LE(44 + i * 4);
    right[i] = data.readInt16LE(46 + i * 4);
  }
  return { left, right, sampleRate: data.readUInt32LE(24) };
}

/** Root mean square of samples (0 for none): "is this channel silence?". */
export function rms(samples: Int16Array): number {
  if (!samples.length) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return Math.sqrt(sum / samples.length);
}
