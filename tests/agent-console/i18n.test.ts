/** The console's messages: every key of zh-CN exists in en and the reverse, file by file. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '..', '..', 'agent-console', 'src', 'i18n');

function keys(o: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

describe('console messages', () => {
  const files = readdirSync(join(DIR, 'zh-CN')).filter((f) => f.endsWith('.json'));
  it('has the same files in both languages', () => {
    expect(readdirSync(join(DIR, 'en')).filter((f) => f.endsWith('.json')).sort()).toEqual(files.sort());
  });
  for (const f of files) {
    it(`${f}: en has exactly the keys of zh-CN, none empty, no stray vue-i18n syntax`, () => {
      const zh = JSON.parse(readFileSync(join(DIR, 'zh-CN', f), 'utf8'));
      const en = JSON.parse(readFileSync(join(DIR, 'en', f), 'utf8'));
      expect(keys(en).sort()).toEqual(keys(zh).sort());
      for (const [lang, tree] of [['zh-CN', zh], ['en', en]] as const) {
        for (const k of keys(tree)) {
          const v = k.split('.').reduce<any>((o, p) => o[p], tree);
          expect(typeof v === 'string' && v.length > 0, `${lang} ${f} ${k}`).toBe(true);
          // `@` and `|` are vue-i18n syntax (linked messages, plurals): a literal one breaks the message.
          expect(/[@|]/.test(v), `${lang} ${f} ${k}: ${v}`).toBe(false);
        }
      }
    });
  }
});
