/**
 * What the routing plan needs from the other pieces of routing and from other parts. app/ wires them:
 * the category tree and classifier (routing), the territory resolver (routing), the responsibility
 * list and knowledge base (routing), units and territory (directory), policies (workorders), the
 * working-time clock (calendar), open tickets (intake).
 */
import type { TimeLimit } from '../../calendar';
import type { UnitBrief } from './domain/plan';
import type { CommandContext } from '../../core';

export interface CategoryNode {
  id: string;
  code: string;
  name: string;
  level: number;
  parentId: string | null;
  utility: boolean;
  defaultType: string | null;
  defaultUrgency: string | null;
  policyCode: string | null;
}

export interface ClassifierSuggestion {
  code: string;
  score: number;
  words: string[];
}

export interface TerritoryResolution {
  status: 'resolved' | 'ambiguous' | 'unresolved';
  territory: { id: string; name: string; level: string; path: string } | null;
  confidence: number;
  alternatives: { territory: { id: string; name: string; level: string }; confidence: number }[];
  explanation?: string;
}

export interface ResponsibilityHit {
  itemId: string;
  itemCode: string;
  versionId: string;
  /** The unit that acts: a city item's lead, or the territorial unit of the place at the item's level. */
  lead: UnitBrief | null;
  coUnits: UnitBrief[];
  why: string;
  score: number;
}

export interface PolicyBrief {
  code: string;
  name: string;
  limits: Partial<Record<'acknowledge' | 'onSite' | 'reply' | 'citizenReply', TimeLimit>>;
}

/** The ticket as routing reads it (from intake), and the dispatch it asks intake to make. */
export interface TicketForRouting {
  id: string;
  cityId: string;
  version: number;
  title: string | null;
  situation: string | null;
  demand: string | null;
  type: string;
  urgency: string;
  categoryId: string | null;
  territoryId: string | null;
  addressText: string | null;
  lat: number | null;
  lng: number | null;
}

export interface TicketPort<View> {
  get(ctx: CommandContext, id: string): Promise<TicketForRouting>;
  dispatch(ctx: CommandContext, id: string, version: number, input: { handlingUnitId: string; note: string | null; routing: { rule: string; responsibilityVersionId: string | null; plannedUnitId: string | null; coUnitIds: string[]; categoryId: string | null } }): Promise<View>;
}

/** The classifier learns from every category an agent confirms or corrects at dispatch. */
export interface LearningPort {
  learn(cityId: string, example: { ticketId: string; text: string; title: string | null; categoryCode: string; suggestedCode: string | null; actorId: string | null }): Promise<void>;
}

export interface RoutingPorts {
  categories(cityId: string): Promise<CategoryNode[]>;
  classify(cityId: string, text: { title?: string; text: string }): Promise<{ suggestions: ClassifierSuggestion[]; confident: boolean; reason?: string }>;
  resolveAddress(cityId: string, address: string, point?: { lat: number; lng: number }): Promise<TerritoryResolution>;
  resolveBuilding(cityId: string, buildingCode: string): Promise<TerritoryResolution>;
  territory(cityId: string, territoryId: string): Promise<{ id: string; name: string; level: string; path: string } | null>;
  matchResponsibility(cityId: string, q: { categoryCodes: string[]; text: string; at: Date; territoryId: string | null }): Promise<ResponsibilityHit[]>;
  unit(cityId: string, id: string): Promise<UnitBrief | null>;
  /** The street office and district government (属地单位) over a territory path. */
  territorialUnits(cityId: string, territoryPath: string): Promise<{ street: UnitBrief | null; district: UnitBrief | null; community: UnitBrief | null }>;
  bestAnswer(cityId: string, text: string, categoryCode: string | null): Promise<{ articleId: string; question: string; score: number; confident: boolean } | null>;
  choosePolicy(cityId: string, s: { type: string; urgency: string; categoryCodes: string[]; utility: boolean; categoryPolicyCode: string | null }): Promise<PolicyBrief | null>;
  deadline(cityId: string, from: Date, limit: TimeLimit): Promise<Date>;
  /** A unit already handling an open ticket of this category at this place (for 首问负责). */
  alreadyHandling(cityId: string, q: { categoryId: string; territoryPath: string }): Promise<UnitBrief | null>;
  /** Category codes the city treats as urgent (e.g. 海口: tourism complaints). */
  urgentCategoryCodes(cityId: string): Promise<string[]>;
}
