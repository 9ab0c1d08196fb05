/**
 * What the reports need from other parts, as narrow ports; app/reports.ts wires them to the
 * directory, routing, intake and work-order parts (and to telephony's call records when present).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import type { Actor } from '../core';
import type { GridMatterFacts, TicketFacts } from './domain/kpis';

export interface UnitRef { id: string; code: string; name: string }
export interface CategoryRef { id: string; code: string; name: string; level: number; parentId: string | null; path: string }
export interface TerritoryRef { id: string; name: string; level: string; parentId: string | null; path: string }

export interface ReportLookups {
  /** The city's name, or null when there is no such city. */
  cityName(cityId: string): Promise<string | null>;
  /** `settings.reports` of the city as stored (validated by the reports part), or undefined. */
  reportSettings(cityId: string): Promise<unknown>;
  units(cityId: string): Promise<UnitRef[]>;
  categories(cityId: string): Promise<CategoryRef[]>;
  territories(cityId: string): Promise<TerritoryRef[]>;
}

/**
 * The tickets and their work orders as the reports count them, read from the intake and work-order
 * parts' tables by app/ (the reports part never reads them itself).
 */
export interface TicketFactsSource {
  /** These tickets as the caller's transaction sees them (missing ids are left out). */
  factsWithin(trx: Kysely<DB>, ticketIds: string[]): Promise<TicketFacts[]>;
  /** Every ticket of the city in batches (by id): the full scan that rebuilds and checks the rollups. */
  scan(cityId: string, batchSize?: number): AsyncIterable<TicketFacts[]>;
}

/** The contact center's counts over a period (话务), from call records. */
export interface CallCounts {
  offered: number; // 来电总数
  answered: number;
  answeredWithin15s: number;
  abandoned: number;
  /** Σ seconds from offer to answer, over the answered calls. */
  waitSecondsAnswered: number;
}

/** Call records (the telephony part provides it; optional). */
export interface CallMetricsSource {
  /** The counts of calls offered in [from, to) (instants), or null when there are no call records. */
  counts(cityId: string, from: Date, to: Date): Promise<CallCounts | null>;
}

/** A ticket as its viewer may see it (intake's masking and confidentiality), or null when out of scope. */
export interface TicketViews {
  view(actor: Actor, ticketId: string): Promise<Record<string, unknown> | null>;
}

/**
 * The matters grid staff handled inside the grid (网格自办事项), from the grid-call part: the rollups
 * count each one in its recording transaction (`countMattersWithin`); this gives the full scan and
 * the drill-down.
 */
export interface GridMatterSource {
  /** Every matter of the city in batches (by id). */
  scan(cityId: string, batchSize?: number): AsyncIterable<GridMatterFacts[]>;
  /** These matters as the viewer may see them (their territory), in the order asked; others left out. */
  views(actor: Actor, ids: string[]): Promise<Record<string, unknown>[]>;
}
