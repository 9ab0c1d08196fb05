/**
 * Typed domain errors. Every error the product shows a person carries a stable code and a message in
 * Chinese and English; the HTTP layer maps `status` and hides the text of anything unexpected (5xx).
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly messageZh: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (code: string, message: string, messageZh: string, details?: unknown) =>
  new AppError(code, 400, message, messageZh, details);
export const notFound = (code: string, message: string, messageZh: string, details?: unknown) =>
  new AppError(code, 404, message, messageZh, details);
export const forbidden = (code: string, message: string, messageZh: string, details?: unknown) =>
  new AppError(code, 403, message, messageZh, details);
export const conflict = (code: string, message: string, messageZh: string, details?: unknown) =>
  new AppError(code, 409, message, messageZh, details);
export const unauthorized = (code: string, message: string, messageZh: string) =>
  new AppError(code, 401, message, messageZh);
export const unprocessable = (code: string, message: string, messageZh: string, details?: unknown) =>
  new AppError(code, 422, message, messageZh, details);

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
