/**
 * The one HTTP client of the console: same-origin fetch to /api/v1 with the session cookie, JSON in
 * and out, and every failure turned into an ApiError that carries the API's stable `code`, both
 * messages and the request id (`{code, message, message_zh, details, request_id}`).
 */

export const API_BASE = '/api/v1';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly messageZh: string,
    readonly details?: unknown,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Field-level problems of a VALIDATION_FAILED answer, when there are any. */
  get fields(): { field: string; message: string }[] {
    const d = this.details as { fields?: { field: string; message: string }[]; field?: string } | undefined;
    if (d?.fields) return d.fields;
    if (d?.field) return [{ field: d.field, message: this.message }];
    return [];
  }
}

export const isApiError = (e: unknown): e is ApiError => e instanceof ApiError;

type Query = Record<string, string | number | boolean | string[] | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** multipart upload instead of JSON */
  form?: FormData;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

let unauthorizedHandler: ((e: ApiError) => void) | null = null;

/** Called on any 401 except the login call itself: the session store sends the user to the login page. */
export function onUnauthorized(handler: (e: ApiError) => void) {
  unauthorizedHandler = handler;
}

export function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      if (v.length) params.set(k, v.join(','));
    } else params.set(k, String(v));
  }
  const qs = params.toString();
  return `${API_BASE}${path}${qs ? `?${qs}` : ''}`;
}

/** The ApiError of a failed answer (its JSON body, when it has one); a 401 also ends the session. */
function failed(res: Response, data: any, path: string): ApiError {
  const err = data && typeof data.code === 'string'
    ? new ApiError(res.status, data.code, data.message ?? data.code, data.message_zh ?? data.message ?? data.code, data.details, data.request_id)
    : new ApiError(res.status, `HTTP_${res.status}`, `the server answered ${res.status}`, `服务器返回错误（${res.status}）`, undefined, res.headers.get('x-request-id') ?? undefined);
  if (res.status === 401 && path !== '/auth/login' && unauthorizedHandler) unauthorizedHandler(err);
  return err;
}

/**
 * A file the API renders (a PNG, a PDF): its bytes and the name from Content-Disposition; a failure
 * is the same ApiError as any other call's (e.g. PDF_UNAVAILABLE with its Chinese message).
 */
export async function requestFile(path: string, query?: Query): Promise<{ blob: Blob; fileName: string | null }> {
  let res: Response;
  try {
    res = await fetch(buildUrl(path, query), { credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'NETWORK_ERROR', 'cannot reach the server; check the network and retry', '无法连接服务器，请检查网络后重试');
  }
  if (!res.ok) {
    const data = await res.json().catch(() => undefined);
    throw failed(res, data, path);
  }
  const m = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '');
  return { blob: await res.blob(), fileName: m ? decodeURIComponent(m[1]) : null };
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  let body: BodyInit | undefined;
  if (opts.form) {
    body = opts.form;
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  } else if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') {
    // Commands without fields still send a JSON body: the API takes JSON only.
    headers['content-type'] = 'application/json';
    body = '{}';
  }
  let res: Response;
  try {
    res = await fetch(buildUrl(path, opts.query), { method, headers, body, credentials: 'same-origin', signal: opts.signal });
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK_ERROR', 'cannot reach the server; check the network and retry', '无法连接服务器，请检查网络后重试');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: any = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) throw failed(res, data, path);
  if (data === undefined && text) {
    throw new ApiError(res.status, 'RESPONSE_INVALID', 'the server answered something that is not JSON', '服务器返回的内容无法识别');
  }
  return data as T;
}

export const http = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal }),
  post: <T>(path: string, body?: unknown, headers?: Record<string, string>) => request<T>('POST', path, { body, headers }),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, { body }),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, { body }),
  delete: <T>(path: string) => request<T>('DELETE', path),
  upload: <T>(path: string, form: FormData) => request<T>('POST', path, { form }),
};

/** A fresh key for the Idempotency-Key header: a retried command then answers with its first result. */
export function idempotencyKey(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
