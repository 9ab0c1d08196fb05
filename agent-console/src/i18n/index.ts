/**
 * Messages per feature: i18n/<locale>/<feature>.json, addressed as `feature.key`. zh-CN is the
 * default and the fallback; en mirrors it (tests/agent-console/i18n.test.ts checks the keys match).
 */
import { createI18n } from 'vue-i18n';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

const files = import.meta.glob<{ default: Record<string, unknown> }>('./*/*.json', { eager: true });

function messagesOf(locale: Locale) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [path, mod] of Object.entries(files)) {
    const m = path.match(/^\.\/([^/]+)\/([^/]+)\.json$/);
    if (m && m[1] === locale) out[m[2]] = mod.default;
  }
  return out;
}

const STORAGE_KEY = 'hotline.locale';

export function initialLocale(): Locale {
  const saved = typeof localStorage !== 'undefined' ? localStorage.getItem(STORAGE_KEY) : null;
  return (LOCALES as readonly string[]).includes(saved ?? '') ? (saved as Locale) : 'zh-CN';
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': messagesOf('zh-CN'), en: messagesOf('en') },
  missingWarn: import.meta.env.DEV,
  fallbackWarn: false,
});

export function setLocale(locale: Locale) {
  i18n.global.locale.value = locale;
  localStorage.setItem(STORAGE_KEY, locale);
  document.documentElement.lang = locale;
}

/** The active locale, outside components. */
export const currentLocale = () => i18n.global.locale.value as Locale;
export const t = (key: string, named?: Record<string, unknown>) => (named ? i18n.global.t(key, named) : i18n.global.t(key));
