/**
 * A cloud SMS provider stand-in on loopback for the webhook gateway (the shape in
 * sms/gateways/webhook.ts): takes `POST /sms/send`, keeps one text per `outId` (the de-duplication
 * the gateway's contract asks of a provider) and answers its `bizId`.
 */
import { createServer, type Server } from 'node:http';

export interface SmsProviderStandIn {
  url: string;
  /** Texts the provider would send, one per outId. */
  sent: { outId: string; to: string; content: string; bizId: string }[];
  /** Submits received, repeats included. */
  submits: number;
  close(): Promise<void>;
}

export async function startSmsProvider(): Promise<SmsProviderStandIn> {
  const sent: SmsProviderStandIn['sent'] = [];
  const state = { submits: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.submits++;
      const b = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { outId: string; phoneNumbers: string; content: string };
      let hit = sent.find((x) => x.outId === b.outId);
      if (!hit) {
        hit = { outId: b.outId, to: b.phoneNumbers, content: b.content, bizId: `biz-${sent.length + 1}` };
        sent.push(hit);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'OK', bizId: hit.bizId }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/sms/send`,
    sent,
    get submits() { return state.submits; },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
