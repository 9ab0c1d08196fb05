/**
 * An in-memory inverted index ranked by BM25 (Okapi), with incremental updates. Pure.
 *
 * Sized for a city's knowledge base (up to ~50k articles): each posting is one small integer
 * (document slot × 256 + term frequency) in a per-term array, so 50k articles of a few hundred
 * characters take some tens of MB. A removed or replaced document leaves a tombstone that queries skip;
 * the arrays are compacted once tombstones pile up.
 */

/** A query term with its weight (a word counts more than a character pair). */
export interface QueryTerm {
  term: string;
  weight: number;
}

export interface Bm25Hit<P> {
  id: string;
  score: number;
  payload: P;
  /** The query terms found in the document. */
  matched: string[];
}

const MAX_TF = 255;

export class Bm25Index<P> {
  private readonly postings = new Map<string, number[]>();
  private readonly df = new Map<string, number>();
  private ids: (string | null)[] = [];
  private lengths: number[] = [];
  private terms: (string[] | null)[] = [];
  private payloads: (P | null)[] = [];
  private readonly slotOf = new Map<string, number>();
  private totalLength = 0;
  private dead = 0;

  constructor(private readonly k1 = 1.2, private readonly b = 0.75) {}

  /** Number of live documents. */
  get size(): number {
    return this.slotOf.size;
  }

  has(id: string): boolean {
    return this.slotOf.has(id);
  }

  /** Adds a document, or replaces the one with the same id. `tf`: term → (weighted) frequency. */
  upsert(id: string, tf: ReadonlyMap<string, number>, payload: P): void {
    this.remove(id);
    if (this.ids.length >= 1 << 22) this.compact();
    const slot = this.ids.length;
    let length = 0;
    const list: string[] = [];
    for (const [term, f] of tf) {
      if (f <= 0) continue;
      const n = Math.min(MAX_TF, Math.round(f));
      length += n;
      list.push(term);
      let p = this.postings.get(term);
      if (!p) this.postings.set(term, (p = []));
      p.push(slot * 256 + n);
      this.df.set(term, (this.df.get(term) ?? 0) + 1);
    }
    this.ids.push(id);
    this.lengths.push(length);
    this.terms.push(list);
    this.payloads.push(payload);
    this.slotOf.set(id, slot);
    this.totalLength += length;
  }

  remove(id: string): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    for (const term of this.terms[slot] ?? []) {
      const n = (this.df.get(term) ?? 1) - 1;
      if (n > 0) this.df.set(term, n);
      else {
        this.df.delete(term);
        this.postings.delete(term);
      }
    }
    this.totalLength -= this.lengths[slot];
    this.ids[slot] = null;
    this.terms[slot] = null;
    this.payloads[slot] = null;
    this.slotOf.delete(id);
    this.dead++;
    if (this.dead > 1000 && this.dead > this.ids.length / 4) this.compact();
    return true;
  }

  /** Inverse document frequency (BM25+, never negative); a term never seen counts as the rarest. */
  idf(term: string): number {
    const n = this.size;
    const df = this.df.get(term) ?? 0;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  /** The idf of a term seen in no document: the most a term can weigh. */
  maxIdf(): number {
    return Math.log(1 + (this.size + 0.5) / 0.5);
  }

  /** Documents that contain a query term, best first; `accept` filters them (validity, category). */
  search(query: readonly QueryTerm[], opts: { limit?: number; accept?: (payload: P, id: string) => boolean; boost?: (payload: P) => number } = {}): Bm25Hit<P>[] {
    const n = this.size;
    if (n === 0 || query.length === 0) return [];
    const avgdl = this.totalLength / n || 1;
    const scores = new Map<number, number>();
    const matched = new Map<number, string[]>();
    for (const { term, weight } of query) {
      const list = this.postings.get(term);
      if (!list) continue;
      const idf = this.idf(term);
      for (const packed of list) {
        const slot = Math.floor(packed / 256);
        if (this.ids[slot] === null) continue;
        const f = packed % 256;
        const s = (weight * idf * (f * (this.k1 + 1))) / (f + this.k1 * (1 - this.b + (this.b * this.lengths[slot]) / avgdl));
        scores.set(slot, (scores.get(slot) ?? 0) + s);
        const m = matched.get(slot);
        if (m) m.push(term);
        else matched.set(slot, [term]);
      }
    }
    const hits: Bm25Hit<P>[] = [];
    for (const [slot, score] of scores) {
      const id = this.ids[slot]!;
      const payload = this.payloads[slot]!;
      if (opts.accept && !opts.accept(payload, id)) continue;
      hits.push({ id, score: score * (opts.boost ? opts.boost(payload) : 1), payload, matched: matched.get(slot)! });
    }
    hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    return opts.limit ? hits.slice(0, opts.limit) : hits;
  }

  /** Drops tombstones: renumbers live documents and rewrites the postings. */
  private compact(): void {
    const remap = new Map<number, number>();
    const ids: (string | null)[] = [];
    const lengths: number[] = [];
    const terms: (string[] | null)[] = [];
    const payloads: (P | null)[] = [];
    this.ids.forEach((id, slot) => {
      if (id === null) return;
      remap.set(slot, ids.length);
      this.slotOf.set(id, ids.length);
      ids.push(id);
      lengths.push(this.lengths[slot]);
      terms.push(this.terms[slot]);
      payloads.push(this.payloads[slot]);
    });
    for (const [term, list] of this.postings) {
      const next: number[] = [];
      for (const packed of list) {
        const to = remap.get(Math.floor(packed / 256));
        if (to !== undefined) next.push(to * 256 + (packed % 256));
      }
      this.postings.set(term, next);
    }
    this.ids = ids;
    this.lengths = lengths;
    this.terms = terms;
    this.payloads = payloads;
    this.dead = 0;
  }
}
