import { describe, expect, it } from 'vitest';
import { Bm25Index, documentTerms, queryTerms, searchWords } from '../../routing/knowledge';

const tf = (...terms: string[]) => {
  const m = new Map<string, number>();
  for (const t of terms) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
};
const q = (...terms: string[]) => terms.map((term) => ({ term, weight: 1 }));

describe('the BM25 index', () => {
  it('ranks rarer and more frequent terms higher, and shorter documents over longer ones', () => {
    const idx = new Bm25Index<string>();
    idx.upsert('a', tf('社保卡', '补办', '补办'), 'a');
    idx.upsert('b', tf('社保卡', '养老', '缴费', '基数', '灵活', '就业'), 'b');
    idx.upsert('c', tf('身份证', '补办'), 'c');
    expect(idx.search(q('补办')).map((h) => h.id)).toEqual(['a', 'c']);
    expect(idx.search(q('社保卡', '补办'))[0]).toMatchObject({ id: 'a', matched: ['社保卡', '补办'] });
    expect(idx.search(q('社保卡')).map((h) => h.id)).toEqual(['a', 'b']);
    expect(idx.idf('养老')).toBeGreaterThan(idx.idf('补办'));
    expect(idx.idf('从未出现')).toBe(idx.maxIdf());
    expect(idx.search(q('补办'), { accept: (p) => p !== 'a' }).map((h) => h.id)).toEqual(['c']);
    expect(idx.search(q('补办'), { boost: (p) => (p === 'c' ? 10 : 1) })[0].id).toBe('c');
    expect(idx.search(q('补办'), { limit: 1 })).toHaveLength(1);
  });

  it('replaces and removes documents; compaction after many removals keeps the answers', () => {
    const idx = new Bm25Index<number>();
    for (let i = 0; i < 3000; i++) idx.upsert(`d${i}`, tf('共同', `词${i % 7}`, ...(i % 100 === 0 ? ['稀有'] : [])), i);
    expect(idx.size).toBe(3000);
    expect(idx.search(q('稀有'))).toHaveLength(30);
    idx.upsert('d0', tf('共同', '更新'), -1);
    expect(idx.search(q('更新')).map((h) => [h.id, h.payload])).toEqual([['d0', -1]]);
    expect(idx.search(q('稀有'))).toHaveLength(29);
    for (let i = 1; i < 2500; i++) idx.remove(`d${i}`);
    expect(idx.remove('d1')).toBe(false);
    expect(idx.size).toBe(501);
    expect(idx.search(q('稀有')).map((h) => h.id).sort()).toEqual(['d2500', 'd2600', 'd2700', 'd2800', 'd2900']);
    expect(idx.search(q('更新')).map((h) => h.id)).toEqual(['d0']);
    expect(idx.search(q('共同'))).toHaveLength(501);
    expect(idx.has('d2999') && !idx.has('d5')).toBe(true);
  });
});

describe('search tokens', () => {
  it('segments in search mode, drops stopwords and single characters, adds character pairs', () => {
    expect(searchWords('我的社保卡丢了怎么补办')).toEqual(['社保', '社保卡', '补办']);
    const terms = queryTerms('公积金怎么提取');
    expect(terms.filter((t) => t.weight === 1).map((t) => t.term)).toEqual(['公积', '积金', '公积金', '提取']);
    expect(terms.some((t) => t.term === '~提取' && t.weight < 1)).toBe(true);
    const doc = documentTerms({ question: '社保卡丢失了怎么补办？', answer: '到社保卡服务网点补办', keywords: ['补卡'] });
    expect(doc.get('社保卡')).toBeGreaterThan(doc.get('网点') ?? 0);
    expect(doc.get('补卡')).toBeGreaterThan(0);
  });
});
