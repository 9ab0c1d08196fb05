import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeG711, encodeG711, transcodeG711 } from '../../telephony/edges/builtin/g711';
import { buildSdp, chooseCodec, parseSdp } from '../../telephony/edges/builtin/sdp';
import { monoWav, readMonoWav, readStereoWav, rms, StereoWavWriter, WavFormatError } from '../../telephony/edges/builtin/wav';
import { buildRtp, dtmfDigit, parseRtp } from '../../telephony/edges/builtin/rtp';
import { CallRecorder } from '../../telephony/edges/builtin/recorder';

describe('G.711 codec', () => {
  it('decodes the reference code points of both laws', () => {
    // ITU-T G.711 tables: μ-law 0xFF and A-law 0xD5 are the smallest positive values.
    expect(Array.from(decodeG711('PCMU', Uint8Array.from([0xff, 0x7f, 0x00, 0x80])))).toEqual([0, 0, -32124, 32124]);
    expect(Array.from(decodeG711('PCMA', Uint8Array.from([0xd5, 0x55, 0xaa, 0x2a])))).toEqual([8, -8, 32256, -32256]);
  });

  it('round-trips every code point of both laws (encode(decode(x)) = x, up to μ-law negative zero)', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const law of ['PCMU', 'PCMA'] as const) {
      const back = encodeG711(law, decodeG711(law, all));
      for (let i = 0; i < 256; i++) {
        if (law === 'PCMU' && i === 0x7f) expect(back[i]).toBe(0xff); // -0 encodes as +0
        else expect(back[i]).toBe(i);
      }
    }
  });

  it('keeps a speech-level sine within 1 % of its level through each law and through transcoding', () => {
    const sine = Int16Array.from({ length: 800 }, (_, i) => Math.round(10_000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
    for (const law of ['PCMU', 'PCMA'] as const) {
      const back = decodeG711(law, encodeG711(law, sine));
      expect(Math.abs(rms(back) - rms(sine)) / rms(sine)).toBeLessThan(0.01);
    }
    const viaA = decodeG711('PCMA', transcodeG711('PCMU', 'PCMA', encodeG711('PCMU', sine)));
    expect(Math.abs(rms(viaA) - rms(sine)) / rms(sine)).toBeLessThan(0.02);
  });

  it('clips out-of-range levels to the largest code instead of wrapping', () => {
    expect(decodeG711('PCMU', encodeG711('PCMU', Int16Array.from([32767, -32768])))).toEqual(Int16Array.from([32124, -32124]));
    expect(decodeG711('PCMA', encodeG711('PCMA', Int16Array.from([32767, -32768])))).toEqual(Int16Array.from([32256, -32256]));
  });
});

describe('SDP', () => {
  const offer = [
    'v=0', 'o=- 1 1 IN IP4 10.0.0.9', 's=-', 'c=IN IP4 10.0.0.9', 't=0 0',
    'm=audio 4000 RTP/AVP 18 8 0 96', 'c=IN IP4 10.0.0.10', 'a=rtpmap:18 G729/8000', 'a=rtpmap:96 telephone-event/8000', 'a=fmtp:96 0-15', 'a=sendrecv', '',
  ].join('\r\n');

  it('reads the media-level address, the port, payload types in order and telephone-event', () => {
    const a = parseSdp(offer)!;
    expect(a).toMatchObject({ address: '10.0.0.10', port: 4000, payloadTypes: [18, 8, 0, 96], telephoneEvent: 96, direction: 'sendrecv' });
    expect(chooseCodec(a)).toBe('PCMA'); // G.729 skipped, then the peer's order
  });

  it('refuses an offer without PCMU or PCMA (the 488 case)', () => {
    const a = parseSdp(offer.replace('m=audio 4000 RTP/AVP 18 8 0 96', 'm=audio 4000 RTP/AVP 18 96'))!;
    expect(chooseCodec(a)).toBeNull();
  });

  it('is not fooled by a dynamic payload type named like a static codec, nor by non-SDP', () => {
    const a = parseSdp(offer.replace('m=audio 4000 RTP/AVP 18 8 0 96', 'm=audio 4000 RTP/AVP 97').replace('a=rtpmap:18 G729/8000', 'a=rtpmap:97 PCMU/16000'))!;
    expect(chooseCodec(a)).toBeNull();
    expect(parseSdp('hello')).toBeNull();
    expect(parseSdp('v=0\r\nm=video 5000 RTP/AVP 96\r\n')).toBeNull();
  });

  it('writes an answer that parses back to the same stream', () => {
    const sdp = buildSdp({ address: '192.0.2.1', port: 20002, codecs: ['PCMU'], telephoneEvent: 101, sessionId: 7, sessionVersion: 1 });
    const back = parseSdp(sdp)!;
    expect(back).toMatchObject({ address: '192.0.2.1', port: 20002, payloadTypes: [0, 101], telephoneEvent: 101 });
    expect(chooseCodec(back)).toBe('PCMU');
  });
});

describe('RTP packets', () => {
  it('round-trips a header and skips CSRCs and extensions', () => {
    const p = { payloadType: 8, marker: true, sequence: 65535, timestamp: 0xfffffff0, ssrc: 0x12345678, payload: Buffer.from([1, 2, 3]) };
    expect(parseRtp(buildRtp(p))).toEqual(p);
    const withExt = Buffer.concat([Buffer.from([0x91, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xaa, 0xaa, 0xaa, 0xaa, 0xbe, 0xde, 0, 1, 9, 9, 9, 9]), Buffer.from([7, 7])]);
    expect(parseRtp(withExt)!.payload).toEqual(Buffer.from([7, 7]));
    expect(parseRtp(Buffer.from('not rtp at all'))).toBeNull();
    expect(dtmfDigit(11)).toBe('#');
    expect(dtmfDigit(16)).toBeNull();
  });
});

describe('WAV files', () => {
  it('reads PCM16, μ-law and A-law 8 kHz mono and refuses other rates', () => {
    const samples = Int16Array.from([0, 1000, -1000, 32000]);
    expect(readMonoWav(monoWav(samples))).toEqual(samples);
    const law = (format: number, bytes: number[]) => {
      const b = monoWav(new Int16Array(0));
      b.writeUInt16LE(format, 20);
      b.writeUInt16LE(8, 34);
      b.writeUInt32LE(bytes.length, 40);
      return Buffer.concat([b, Buffer.from(bytes)]);
    };
    expect(Array.from(readMonoWav(law(7, [0xff, 0x80])))).toEqual([0, 32124]);
    expect(Array.from(readMonoWav(law(6, [0xd5])))).toEqual([8]);
    expect(() => readMonoWav(monoWav(samples, 16000))).toThrow(WavFormatError);
    expect(() => readMonoWav(Buffer.from('RIFF....WAVEjunk'))).toThrow(WavFormatError);
  });

  it('writes a stereo file whose header sizes match what was written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wav-'));
    try {
      const w = new StereoWavWriter(join(dir, 'a.wav'));
      w.write(Int16Array.from([1, 2, 3]), Int16Array.from([-1, -2, -3]));
      w.write(Int16Array.from([4]), Int16Array.from([-4]));
      expect(w.close()).toBe(44 + 16);
      const data = readFileSync(join(dir, 'a.wav'));
      expect(data.readUInt32LE(4)).toBe(36 + 16);
      expect(data.readUInt32LE(40)).toBe(16);
      const { left, right, sampleRate } = readStereoWav(data);
      expect(sampleRate).toBe(8000);
      expect(Array.from(left)).toEqual([1, 2, 3, 4]);
      expect(Array.from(right)).toEqual([-1, -2, -3, -4]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the recorder keeps both channels the same length and fills a silent side with zeros', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    try {
      const r = new CallRecorder(join(dir, 'r.wav'));
      for (let i = 0; i < 10; i++) r.caller(new Int16Array(160).fill(1000));
      const f = r.close();
      const { left, right } = readStereoWav(readFileSync(f.path));
      expect(left.length).toBe(right.length);
      expect(left.length).toBeGreaterThanOrEqual(1600);
      expect(rms(left)).toBeGreaterThan(900);
      expect(rms(right)).toBe(0);
      expect(f.durationMs).toBe(Math.round((left.length * 1000) / 8000));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shipped default prompts', () => {
  it('are readable 8 kHz mono WAVs, not silence, one per purpose', async () => {
    const { promptFiles } = await import('../../telephony');
    const { readMonoWavFile } = await import('../../telephony/edges/builtin/wav');
    const files = promptFiles();
    expect(Object.keys(files).sort()).toEqual(['callbackOffer', 'goodbye', 'queueMusic', 'welcome']);
    for (const f of Object.values(files)) expect(rms(readMonoWavFile(f))).toBeGreaterThan(1000);
  });
});
