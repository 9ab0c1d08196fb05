/**
 * A local stand-in for AWS Transcribe streaming: an HTTP/2 (h2c) server that speaks AWS's
 * event-stream format (@smithy/eventstream-codec) both ways. It reads the signed AudioEvent
 * envelopes the real SDK sends, and for every second of audio that is not silence it answers a
 * partial and then a final result (`第N段`, with the second's start/end time and a confidence), so a
 * test proves that audio really went up and results really came back through the SDK's parser.
 */
import { createServer, type Http2Server, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec, type Message } from '@smithy/eventstream-codec';

const codec = new EventStreamCodec((b) => new TextDecoder().decode(b), (s) => new TextEncoder().encode(s));

export interface TranscribeRequestSeen {
  headers: IncomingHttpHeaders;
  audioBytes: number;
  /** RMS of each second of audio received. */
  secondsRms: number[];
  signed: boolean;
}

export interface TranscribeEndpoint {
  url: string;
  requests: TranscribeRequestSeen[];
  /** The next N requests are refused with a 500 InternalFailureException (an engine error to reconnect after). */
  failNext(n: number): void;
  /** The next stream is cut (RST) after this many seconds of audio. */
  cutAfterSeconds(n: number | null): void;
  close(): Promise<void>;
}

function event(type: string, body: unknown): Uint8Array {
  const msg: Message = {
    headers: {
      ':message-type': { type: 'string', value: 'event' },
      ':event-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: new TextEncoder().encode(JSON.stringify(body)),
  };
  return codec.encode(msg);
}

/** Splits a byte stream into event-stream messages (each starts with its total length, big-endian). */
class MessageSplitter {
  private buf = Buffer.alloc(0);
  push(chunk: Buffer): Message[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: Message[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (this.buf.length < len) break;
      out.push(codec.decode(new Uint8Array(this.buf.subarray(0, len))));
      this.buf = this.buf.subarray(len);
    }
    return out;
  }
}

export async function startTranscribeEndpoint(): Promise<TranscribeEndpoint> {
  const requests: TranscribeRequestSeen[] = [];
  let failures = 0;
  let cutAfter: number | null = null;
  const server: Http2Server = createServer();
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    stream.on('error', () => undefined);
    if (failures > 0) {
      failures--;
      stream.respond({ ':status': 500, 'content-type': 'application/json', 'x-amzn-errortype': 'InternalFailureException' });
      stream.end(JSON.stringify({ message: 'test endpoint: induced failure' }));
      return;
    }
    const rate = Number(headers['x-amzn-transcribe-sample-rate'] ?? 8000);
    const seen: TranscribeRequestSeen = { headers, audioBytes: 0, secondsRms: [], signed: false };
    requests.push(seen);
    const cut = cutAfter;
    cutAfter = null;
    stream.respond({ ':status': 200, 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-request-id': `req-${requests.length}` });
    const splitter = new MessageSplitter();
    let pending = Buffer.alloc(0);
    let second = 0;
    let spoken = 0;
    const bytesPerSecond = rate * 2;
    const flushSecond = (audio: Buffer) => {
      const samples = new Int16Array(audio.buffer.slice(audio.byteOffset, audio.byteOffset + audio.byteLength));
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / Math.max(1, samples.length));
      seen.secondsRms.push(rms);
      const start = second;
      const end = second + samples.length / rate;
      second = end;
      if (rms < 100) return; // silence: nothing recognised
      spoken++;
      const id = `result-${requests.length}-${spoken}`;
      const text = `第${spoken}段`;
      stream.write(event('TranscriptEvent', { Transcript: { Results: [{ ResultId: id, StartTime: start, EndTime: end - 0.2, IsPartial: true, Alternatives: [{ Transcript: text.slice(0, 2), Items: [] }] }] } }));
      stream.write(event('TranscriptEvent', {
        Transcript: { Results: [{ ResultId: id, StartTime: start, EndTime: end, IsPartial: false, Alternatives: [{ Transcript: text, Items: [{ Content: text, Confidence: 0.9 }, { Content: '段', Confidence: 0.7 }] }] }] },
      }));
    };
    stream.on('data', (chunk: Buffer) => {
      for (const envelope of splitter.push(chunk)) {
        // The SDK signs each message: an envelope with :date and :chunk-signature around the AudioEvent.
        if (envelope.headers[':chunk-signature']) seen.signed = true;
        if (!envelope.body.length) continue; // the empty signed message that ends the audio
        const inner = codec.decode(envelope.body);
        if (inner.headers[':event-type']?.value !== 'AudioEvent') continue;
        seen.audioBytes += inner.body.length;
        pending = Buffer.concat([pending, Buffer.from(inner.body)]);
        while (pending.length >= bytesPerSecond) {
          flushSecond(pending.subarray(0, bytesPerSecond));
          pending = pending.subarray(bytesPerSecond);
          if (cut !== null && seen.secondsRms.length >= cut) {
            stream.close(2); // NGHTTP2_INTERNAL_ERROR: the connection to AWS broke mid-call
            return;
          }
        }
      }
    });
    stream.on('end', () => {
      if (stream.destroyed || stream.closed) return;
      if (pending.length >= rate / 5) flushSecond(pending);
      stream.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (n) => void (failures = n),
    cutAfterSeconds: (n) => void (cutAfter = n),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
