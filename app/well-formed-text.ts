import type { FastifyInstance } from 'fastify';
import { badRequest } from '../core';

/**
 * A lone UTF-16 surrogate (JSON allows "\ud800") is not text: MariaDB's utf8mb4 refuses it (a 500
 * on whatever statement meets it first), SQLite stores it and every later reader gets mojibake.
 * Refusing it once, before any route's validation, covers every string of every body, query
 * string and path parameter, including object keys.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The path of the first ill-formed string in a value ('' for the value itself), or null. */
export function illFormedTextAt(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path : null;
  // Bodies are bounded by the body limit; the depth bound only keeps a pathological nest from the stack.
  if (value === null || typeof value !== 'object' || depth > 64) return null;
  if (Buffer.isBuffer(value)) return null;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  for (const [k, v] of entries) {
    const at = path ? `${path}.${k}` : k;
    if (LONE_SURROGATE.test(k)) return at;
    const found = illFormedTextAt(v, at, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

export function registerWellFormedText(app: FastifyInstance) {
  app.addHook('preValidation', async (request) => {
    for (const [where, value] of [['body', request.body], ['querystring', request.query], ['params', request.params]] as const) {
      const at = illFormedTextAt(value);
      if (at !== null) {
        throw badRequest('TEXT_MALFORMED', `${where}${at ? `.${at}` : ''} holds ill-formed text (a lone UTF-16 surrogate)`, '请求中含有无效字符（不完整的 Unicode 编码）', { in: where, field: at || where });
      }
    }
  });
}
