import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { isAppError } from '../core';
import { isRetryableTransactionError, uniqueViolationOf } from '../db';

interface ErrorBody {
  code: string;
  message: string;
  message_zh: string;
  details?: unknown;
  request_id: string;
}

/** Fastify's own error codes, mapped to ours with a Chinese message. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; en: string; zh: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'BODY_TOO_LARGE', en: 'request body too large', zh: '请求内容过大' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', en: 'unsupported content type; send application/json', zh: '不支持的内容类型，请使用 application/json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'BODY_INVALID', en: 'empty JSON body', zh: '请求内容为空' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'BODY_INVALID', en: 'malformed JSON body', zh: '请求内容不是合法的 JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BODY_INVALID', en: 'invalid content length', zh: '请求长度不正确' },
};

/** Errors fastify's router raises before any route runs (a URL it cannot decode, a parameter over 100 characters). */
const ROUTER_ERRORS: Record<string, { status: number; code: string; en: string; zh: string }> = {
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_URL', en: 'the URL is not valid', zh: '请求地址格式不正确' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'PARAM_TOO_LONG', en: 'a path parameter is too long', zh: '请求地址中的参数过长' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: 'BAD_URL', en: 'the request matches no route', zh: '请求无法匹配任何接口' },
};

/**
 * fastify's `frameworkErrors`: the router's own refusals in the product's error shape (code and
 * both messages), never echoing the URL back (it may be 100 KB of someone's payload).
 */
export function routerErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const known = ROUTER_ERRORS[err.code] ?? { status: 400, code: 'BAD_URL', en: 'the URL is not valid', zh: '请求地址格式不正确' };
  reply.code(known.status).header('x-content-type-options', 'nosniff').header('cache-control', 'no-store')
    .send({ code: known.code, message: known.en, message_zh: known.zh, request_id: String(request.id) });
}

/**
 * One error handler for the whole API: typed domain errors keep their code and both messages;
 * validation errors list the fields; anything unexpected is logged and answered with a generic 500
 * that hides its text.
 */
export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const send = (status: number, body: Omit<ErrorBody, 'request_id'>) =>
      reply.code(status).send({ ...body, request_id: String(request.id) });

    if (isAppError(err)) {
      // A throttled client is told when to come back (LOGIN_THROTTLED and any other 429 that knows).
      const retry = (err.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
      if (err.status === 429 && typeof retry === 'number') reply.header('retry-after', String(retry));
      return send(err.status, { code: err.code, message: err.message, message_zh: err.messageZh, details: err.details });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      // Unknown keys (strict objects) come as params.keys: one entry per key, named, not "body".
      const fields = err.validation.flatMap((v) => {
        const at = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
        const keys = (v.params as { keys?: string[] })?.keys;
        const join = (k: string) => [at, k].filter(Boolean).join('.');
        return keys?.length ? keys.map((k) => ({ field: join(k), message: v.message })) : [{ field: at || err.validationContext, message: v.message }];
      });
      return send(400, {
        code: 'VALIDATION_FAILED',
        message: `invalid ${err.validationContext}: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`,
        message_zh: `请求参数不正确：${fields.map((f) => f.field).join('、')}`,
        details: { in: err.validationContext, fields },
      });
    }
    // A unique key the service did not translate (a race between two requests that both passed
    // its "does it exist?" check): the client's conflict, not our fault. The database's text
    // holds the duplicate value and the key name, so it is logged, not sent.
    const duplicate = uniqueViolationOf(err);
    if (duplicate) {
      request.log.warn({ key: duplicate.key }, 'unique key violation answered 409');
      return send(409, { code: 'CONFLICT_DUPLICATE', message: 'this already exists (a concurrent request created it first)', message_zh: '该记录已存在（可能已被同时提交的请求创建），请刷新后重试' });
    }
    // Still a deadlock victim after the transaction's own retries (a burst on the same counters):
    // nothing was written, and the client may simply come back.
    if (isRetryableTransactionError(err)) {
      request.log.warn({ err: err.message }, 'transaction kept losing to concurrent ones: answered 503');
      reply.header('retry-after', '1');
      return send(503, { code: 'DATABASE_BUSY', message: 'the database is busy with concurrent changes; nothing was saved, please retry', message_zh: '数据库正忙于并发处理，本次未保存，请稍后重试' });
    }
    const mapped = err.code ? FASTIFY_ERRORS[err.code] : undefined;
    if (mapped) return send(mapped.status, { code: mapped.code, message: mapped.en, message_zh: mapped.zh });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500 && !isResponseSerializationError(err)) {
      return send(err.statusCode, { code: 'BAD_REQUEST', message: err.message, message_zh: '请求不正确' });
    }
    request.log.error({ err }, 'unhandled error');
    return send(500, { code: 'INTERNAL_ERROR', message: 'internal error', message_zh: '系统内部错误，请稍后重试' });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      code: 'ROUTE_NOT_FOUND',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
      message_zh: '请求的接口不存在',
      request_id: String(request.id),
    });
  });
}
