import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { bigrams, cosine } from '../../intake/domain/similarity';

const FILE = '../shared/data/messages/teddy2020-messages-4326.csv';
const present = existsSync(FILE);
if (!present) console.warn(`duplicates-real-text: ${FILE} is absent, real-text checks skipped`);

describe.skipIf(!present)('duplicate detection on real citizen messages', () => {
  const rows: string[][] = present ? parse(readFileSync(FILE, 'utf8'), { bom: true, relax_quotes: true }).slice(1) : [];
  const texts = rows.map((r) => `${r[2]} ${r[4]}`.trim()).filter((t) => t.length > 60);

  it('a second caller telling the same problem in other words scores high; unrelated messages score low', () => {
    // A deterministic sample: every 37th message.
    const sample = texts.filter((_, i) => i % 37 === 0).slice(0, 100);
    let caught = 0;
    let falseAlarms = 0;
    let pairs = 0;
    for (let i = 0; i < sample.length; i++) {
      const t = sample[i];
      // The retelling: a greeting added, the opening third dropped, the rest kept.
      const retold = '您好，我想反映一下，' + t.slice(Math.floor(t.length / 3)) + '，希望尽快处理，谢谢';
      if (cosine(bigrams(t), bigrams(retold)) >= 0.6) caught++;
      for (let j = i + 1; j < Math.min(sample.length, i + 6); j++) {
        pairs++;
        if (cosine(bigrams(t), bigrams(sample[j])) >= 0.6) falseAlarms++;
      }
    }
    console.log(`retellings caught ${caught}/${sample.length}; false alarms ${falseAlarms}/${pairs} unrelated pairs`);
    expect(caught / sample.length).toBeGreaterThan(0.9);
    expect(falseAlarms / pairs).toBeLessThan(0.02);
  });
});
