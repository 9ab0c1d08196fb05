/**
 * How an error reads: the API's message in the user's language followed by its stable code,
 * e.g. 「六要素不全，不能派单：缺少当事人（SIX_ELEMENTS_INCOMPLETE）」.
 */
import { ApiError } from '../api/http';
import { currentLocale, t } from '../i18n';

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    return currentLocale() === 'en' ? `${e.message} (${e.code})` : `${e.messageZh}（${e.code}）`;
  }
  if (e instanceof Error && e.name === 'AbortError') return '';
  return t('common.unexpectedError');
}

export function errorCode(e: unknown): string | null {
  return e instanceof ApiError ? e.code : null;
}
