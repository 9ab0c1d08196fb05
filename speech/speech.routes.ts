import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Role } from '../core';
import { actorOf, allowRoles, errorResponses } from '../core/http';
import type { SpeechService } from './speech.service';

export interface SpeechRoutesOptions {
  speech: SpeechService;
}

const Party = z.enum(['caller', 'agent']);
const Ms = z.number().int().min(0).max(86_400_000);

export const PostedSegmentSchema = z.strictObject({
  party: Party,
  seq: z.number().int().min(0).max(1_000_000).describe('per call and party, increasing; a final keeps its partials\' number'),
  text: z.string().max(5000),
  final: z.boolean(),
  startMs: Ms.describe("from the start of this party's stream"),
  endMs: Ms,
  confidence: z.number().min(0).max(1).nullable(),
});

const Detail = z.object({ code: z.string(), zh: z.string(), en: z.string() });
export const SpeechStatusSchema = z.object({
  engine: z.enum(['aws', 'sherpa', 'browser', 'none']),
  ok: z.boolean(),
  detail: Detail.optional(),
  stats: z.object({
    activeStreams: z.number(), framesIn: z.number(), framesDropped: z.number(), engineErrors: z.number(), reconnects: z.number(),
    segmentsFinal: z.number(), segmentsPartial: z.number(), segmentsLost: z.number(),
  }),
});

export const TranscriptSearchHitSchema = z.object({
  callId: z.string(),
  ticketId: z.string().nullable(),
  ticketNumber: z.string().nullable(),
  at: z.string(),
  party: Party,
  snippet: z.string().describe('the segment with the matched words in 【】, spoken numbers masked outside the center'),
  startMs: z.number(),
});

/**
 * `POST /calls/:callId/transcript/segments` (the browser engine: the agent the call is offered to),
 * `GET /transcripts/search?q=` (通话内容检索), `GET /speech/status` (the engine's state for the console).
 */
export async function speechRoutes(app: FastifyInstance, opts: SpeechRoutesOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { speech } = opts;

  r.post('/calls/:callId/transcript/segments', {
    preHandler: allowRoles(Role.agent),
    schema: {
      tags: ['speech'],
      summary: 'Segments the console recognised (browser engine); the agent the call is offered to only; each stored once per call+party+seq+final',
      params: z.strictObject({ callId: z.string().min(1).max(64) }),
      body: z.strictObject({ segments: z.array(PostedSegmentSchema).min(1).max(100) }),
      response: { 200: z.object({ accepted: z.number(), duplicates: z.number() }), ...errorResponses },
    },
  }, async (request) => speech.acceptSegments(actorOf(request), request.params.callId, request.body.segments));

  r.get('/transcripts/search', {
    schema: {
      tags: ['speech'],
      summary: 'Search stored call transcripts by words (jieba): the center; a unit only calls of its own tickets, never confidential ones',
      querystring: z.strictObject({ q: z.string().trim().min(1).max(100) }),
      response: { 200: z.array(TranscriptSearchHitSchema), ...errorResponses },
    },
  }, async (request) => speech.search(actorOf(request), request.query.q));

  r.get('/speech/status', {
    schema: {
      tags: ['speech'],
      summary: 'The speech engine of this installation and whether it transcribes (the console shows "no transcript: …" from it)',
      response: { 200: SpeechStatusSchema, ...errorResponses },
    },
  }, async () => speech.status());
}
