import { http } from './http';
import type { BestAnswer, KnowledgeHit } from './types';

/** The knowledge base (知识库): search and the best answer for 即办. */
export const knowledgeApi = {
  search: (q: string, opts: { categoryCode?: string; limit?: number } = {}) =>
    http.get<{ items: KnowledgeHit[] }>('/knowledge/search', { q, categoryCode: opts.categoryCode, limit: opts.limit ?? 10 }),
  best: (q: string, categoryCode?: string) => http.get<{ answer: BestAnswer | null }>('/knowledge/best', { q, categoryCode }),
};
