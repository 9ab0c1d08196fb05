import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { DB, DialectName } from '../../db';
import { insertIgnore, isUniqueViolation, transactionWithRetry } from '../../db';
import { newId, systemClock, toDbTime, type Clock } from '../../core';
import { CategoryClassifier, type TrainOptions, type TrainingExample } from './model';
import { rulesFromCategories, type CategoryNodeLike } from './keyword-rules';

export interface ClassifierServiceDeps {
  db: Kysely<DB>;
  dialect: DialectName;
  clock?: Clock;
  /** The city's category tree: its leaves' names and keywords are the cold-start rules. */
  categories: (cityId: string) => Promise<(CategoryNodeLike & { level: number })[]>;
  /** A snapshot is saved after this many confirmations (the feedback log is replayed on load). */
  snapshotEvery?: number;
}

/** A correction (the agent chose another category than the top suggestion) counts as three examples. */
const weightOf = (suggested: string | null, chosen: string) => (suggested && suggested !== chosen ? 3 : 1);

export interface CitySuggestion {
  code: string;
  score: number;
  words: string[];
}

/**
 * The city's category classifier (智能分类): a model per city in `classifier_models`, snapshotted, and
 * the agents' confirmations in `classifier_feedback`. Loading takes the newest snapshot and replays
 * the confirmations made after it, so a restart — or another app node — reaches the same model.
 * A city with no trained model starts from keyword rules on its category tree: it is confident only
 * where the tree's keywords clearly point at one leaf (水管爆了 → 供水管道爆裂; not 路灯不亮, which two
 * leaves hear, nor a lone generic word), and the confirmations take over as they accumulate.
 */
export function createClassifierService(deps: ClassifierServiceDeps) {
  const clock = deps.clock ?? systemClock;
  const snapshotEvery = deps.snapshotEvery ?? 500;
  const models = new Map<string, Promise<{ model: CategoryClassifier; version: number; since: string; pending: number }>>();

  async function coldStart(cityId: string) {
    const nodes = await deps.categories(cityId);
    return CategoryClassifier.train([], { rules: rulesFromCategories(nodes) });
  }

  async function load(cityId: string) {
    const row = await deps.db.selectFrom('classifier_models').selectAll().where('city_id', '=', cityId).orderBy('version', 'desc').limit(1).executeTakeFirst();
    const model = row ? CategoryClassifier.fromJSON(row.model) : await coldStart(cityId);
    const since = row?.trained_at ?? '0000-00-00 00:00:00.000';
    // Replay what agents confirmed after the snapshot, in the order they did.
    const feedback = await deps.db
      .selectFrom('classifier_feedback').select(['text', 'category_code', 'suggested_code']).where('city_id', '=', cityId).where('at', '>', since).orderBy('at').orderBy('id').execute();
    for (const f of feedback) model.learn(f.text, f.category_code, weightOf(f.suggested_code, f.category_code));
    return { model, version: row ? Number(row.version) : 0, since, pending: feedback.length };
  }

  function modelOf(cityId: string) {
    let m = models.get(cityId);
    if (!m) {
      m = load(cityId);
      m.catch(() => models.delete(cityId));
      models.set(cityId, m);
    }
    return m;
  }

  async function saveSnapshot(cityId: string, model: CategoryClassifier, examples: number, source: string): Promise<number> {
    const at = toDbTime(clock.now());
    // The version is the city's highest plus one: two nodes saving at once pick the same one, and
    // the one that loses on the unique key (city, version) saves again as the next.
    for (let attempt = 1; ; attempt++) {
      try {
        return await transactionWithRetry(deps.db, async (trx) => {
          const last = await trx.selectFrom('classifier_models').select(sql<number>`max(version)`.as('v')).where('city_id', '=', cityId).executeTakeFirst();
          const version = Number(last?.v ?? 0) + 1;
          await trx.insertInto('classifier_models').values({ id: newId(), city_id: cityId, version, trained_at: at, examples, source, model: JSON.stringify(model.toJSON()) }).execute();
          return version;
        });
      } catch (err) {
        // n nodes saving at once need up to n tries for the last of them (one wins each round).
        if (attempt >= 20 || !isUniqueViolation(err)) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
      }
    }
  }

  return {
    /** Top-3 category codes with scores and the words behind them; `confident` only when earned. */
    async classify(cityId: string, input: { title?: string; text: string }): Promise<{ suggestions: CitySuggestion[]; confident: boolean; reason?: string }> {
      const { model } = await modelOf(cityId);
      const p = model.predict({ title: input.title, text: input.text }, 3);
      return {
        suggestions: p.suggestions.map((s) => ({ code: s.label, score: s.score, words: [...new Set([...s.keywords, ...s.words.map((w) => w.word)])].slice(0, 8) })),
        confident: p.confident,
        reason: p.reason,
      };
    },

    /**
     * An agent confirmed or corrected a ticket's category: logged (once per ticket and category) and
     * learned at once; every `snapshotEvery` confirmations the model is saved.
     */
    async learn(cityId: string, e: { ticketId: string; text: string; title: string | null; categoryCode: string; suggestedCode: string | null; actorId: string | null }) {
      const text = [e.title, e.text].filter(Boolean).join('\n');
      const inserted = await insertIgnore(deps.db, deps.dialect, 'classifier_feedback', {
        id: newId(), city_id: cityId, ticket_id: e.ticketId, category_code: e.categoryCode, suggested_code: e.suggestedCode,
        text, actor_id: e.actorId, at: toDbTime(clock.now()),
      });
      if (!inserted) return;
      const state = await modelOf(cityId);
      state.model.learn(text, e.categoryCode, weightOf(e.suggestedCode, e.categoryCode));
      if (++state.pending >= snapshotEvery) {
        state.pending = 0;
        state.version = await saveSnapshot(cityId, state.model, -1, 'online learning snapshot');
      }
    },

    /** Trains a new model for the city from labelled history and makes it current. */
    async train(cityId: string, examples: TrainingExample[], source: string, opts: TrainOptions = {}) {
      const nodes = await deps.categories(cityId);
      const model = CategoryClassifier.train(examples, { ...opts, rules: opts.rules ?? rulesFromCategories(nodes) });
      const version = await saveSnapshot(cityId, model, examples.length, source.slice(0, 200));
      models.set(cityId, Promise.resolve({ model, version, since: toDbTime(clock.now()), pending: 0 }));
      return { version, examples: examples.length, labels: model.labelSet.length };
    },

    /** The model in use for a city: its version (0 = keyword rules only) and statistics. */
    async status(cityId: string) {
      const { model, version, pending } = await modelOf(cityId);
      return { version, learnedSinceSnapshot: pending, labels: model.labelSet.length };
    },

    forget(cityId?: string) {
      if (cityId) models.delete(cityId);
      else models.clear();
    },
  };
}

export type ClassifierService = ReturnType<typeof createClassifierService>;
