/**
 * The API's shapes as the console reads them. Server-side these are zod schemas (intake.schemas.ts,
 * routing.routes.ts, knowledge.schemas.ts, directory.schemas.ts); the work-order shapes follow the
 * planned contract described in api/workOrders.ts.
 */

export type Role =
  | 'agent' | 'dispatcher' | 'unit_handler' | 'unit_manager' | 'grid_member' | 'grid_leader'
  | 'community_secretary' | 'town_leader' | 'supervisor' | 'admin';

export interface Me {
  id: string | null;
  name: string;
  role: Role;
  kind: string;
  cityId: string;
  unitId: string | null;
  territoryId: string | null;
  /** The account must choose a new password before anything else (强制修改密码). */
  passwordChangeRequired?: boolean;
}

export type TicketStatus =
  | 'accepted' | 'answered' | 'dispatched' | 'acknowledged' | 'in_progress' | 'extension_requested' | 'returned'
  | 'replied' | 'reviewed' | 'callback' | 'closed' | 'merged' | 'cancelled';

export type Channel = 'phone' | 'sms' | 'web' | 'qr' | 'grid' | 'app' | 'proactive' | 'open311';
export type TicketType = 'consultation' | 'help' | 'complaint' | 'report' | 'suggestion' | 'praise';
export type Urgency = 'normal' | 'urgent' | 'emergency';
export type SixElement = 'occurredAt' | 'place' | 'parties' | 'situation' | 'demand' | 'handlingUnit';

export interface Ticket {
  id: string;
  number: string;
  status: TicketStatus;
  statusZh: string;
  version: number;
  channel: Channel;
  type: TicketType;
  urgency: Urgency;
  categoryId: string | null;
  citizenId: string | null;
  callerPhone: string | null;
  citizenName: string | null;
  citizenHidden: boolean;
  confidential: boolean;
  title: string | null;
  occurredAt: string | null;
  addressText: string | null;
  territoryId: string | null;
  lat: number | null;
  lng: number | null;
  parties: string | null;
  situation: string | null;
  demand: string | null;
  handlingUnitId: string | null;
  callId: string | null;
  mergedIntoId: string | null;
  answer: string | null;
  result: string | null;
  round: number;
  satisfaction: Satisfaction | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  missingElements: SixElement[];
  availableActions: string[];
  routingRule: string | null;
  responsibilityVersionId: string | null;
  plannedUnitId: string | null;
}

export interface Page<T> {
  items: T[];
  total: number;
  page?: number;
  pageSize?: number;
}

export interface TicketQuery {
  page?: number;
  pageSize?: number;
  status?: TicketStatus[];
  channel?: Channel;
  type?: TicketType;
  urgency?: Urgency | Urgency[];
  categoryId?: string;
  territoryId?: string;
  handlingUnitId?: string;
  callerPhone?: string;
  number?: string;
  q?: string;
  createdFrom?: string;
  createdTo?: string;
  sort?: 'created' | 'urgency';
  order?: 'asc' | 'desc';
}

/** The editable fields of a ticket (登记/修改). */
export interface TicketFields {
  type?: TicketType;
  urgency?: Urgency;
  citizenName?: string | null;
  confidential?: boolean;
  title?: string | null;
  occurredAt?: string | null;
  addressText?: string | null;
  territoryId?: string | null;
  parties?: string | null;
  situation?: string | null;
  demand?: string | null;
  handlingUnitId?: string | null;
  categoryId?: string | null;
}

export interface NewTicket extends TicketFields {
  channel: Channel;
  type: TicketType;
  callerPhone?: string | null;
  callId?: string | null;
}

export interface AuditEntry {
  id: string;
  at: string;
  actorId: string | null;
  actorRole: string | null;
  /** The person's display name (null for the system) */
  actorName?: string | null;
  action: string;
  before: unknown;
  after: unknown;
  reason: string | null;
  requestId: string | null;
}

export interface TicketLink {
  ticketId: string;
  kind: string;
  direction: string;
  createdAt: string;
}

export interface CitizenLookup {
  phone: string;
  citizen: { id: string; name: string | null; confidential: boolean; since: string } | null;
  tickets: Ticket[];
  openTickets: number;
  repeatCaller: boolean;
}

export interface Explanation {
  zh: string;
  en: string;
}

export interface DuplicateCandidate {
  ticket: Ticket;
  score: number;
  reasons: Explanation[];
}

export interface Duplicates {
  sameProblem: DuplicateCandidate[];
  sameCaller: Ticket[];
}

export interface TerritoryBrief {
  id: string;
  name: string;
  level: string;
  path?: string;
}

export interface TerritoryResolution {
  status: 'resolved' | 'ambiguous' | 'unresolved';
  source?: string;
  territory: TerritoryBrief | null;
  confidence: number;
  alternatives: { territory: TerritoryBrief; confidence: number }[];
  explanation?: string;
}

export interface UnitBrief {
  id: string;
  code: string;
  name: string;
}

export interface PlanCategory {
  code: string;
  name: string;
  path: { code: string; name: string }[];
}

export interface Deadlines {
  acknowledge?: string | null;
  onSite?: string | null;
  reply?: string | null;
  citizenReply?: string | null;
}

export interface RoutePlan {
  category: (PlanCategory & { source: string; confidence: number }) | null;
  suggestions: (PlanCategory & { score: number; words: string[] })[];
  classifierConfident: boolean;
  territory: TerritoryResolution;
  type: TicketType;
  urgency: Urgency;
  rule: string;
  ruleZh: string;
  action: 'answer_on_spot' | 'dispatch' | 'manual' | string;
  leadUnit: UnitBrief | null;
  coUnits: UnitBrief[];
  responsibility: { itemId: string; itemCode: string; versionId: string } | null;
  knowledgeArticleId: string | null;
  policy: { code: string; name: string } | null;
  deadlines: Deadlines;
  explanation: Explanation[];
  missing: string[];
  computedAt: string;
  /** The plan's decision as a hash: sent back with the dispatch, which answers PLAN_CHANGED when it differs. */
  fingerprint: string;
}

export interface PlanRequest {
  text: string;
  title?: string | null;
  type?: TicketType | null;
  urgency?: Urgency | null;
  categoryCode?: string | null;
  address?: string | null;
  territoryId?: string | null;
  buildingCode?: string | null;
}

export interface Category {
  id: string;
  code: string;
  name: string;
  level: number;
  parentId: string | null;
  keywords: string[];
  defaultType: TicketType | null;
  defaultUrgency: Urgency | null;
  utility: boolean;
}

export interface Unit {
  id: string;
  cityId: string;
  code: string;
  name: string;
  kind: string;
  parentId: string | null;
  territoryId: string | null;
  smsPhone: string | null;
  dutyPerson: string | null;
  dutyPhone: string | null;
  active: boolean;
}

export interface Territory {
  id: string;
  cityId: string;
  code: string | null;
  name: string;
  level: string;
  parentId: string | null;
  path: string;
  ancestors?: Territory[];
}

export interface HotlineLine {
  id: string;
  cityId: string;
  number: string;
  name: string;
  mergedOn: string | null;
}

export interface KnowledgeHit {
  articleId: string;
  revisionId: string;
  revisionNumber: number;
  question: string;
  answer: string;
  categoryCode: string | null;
  keywords: string[];
  ownerUnitId: string | null;
  validFrom: string | null;
  validTo: string | null;
  sourceDocument: string | null;
  score: number;
  matchedTerms: string[];
}

export interface BestAnswer extends KnowledgeHit {
  confident: boolean;
  coverage: number;
  margin: number | null;
  reasonsZh: string[];
}

export type Satisfaction = 'satisfied' | 'basically_satisfied' | 'unsatisfied';

// --- work orders (planned contract, see api/workOrders.ts) -----------------------------------

export type WorkOrderStatus =
  | 'dispatched' | 'acknowledged' | 'on_site' | 'extension_requested' | 'returned' | 'replied' | 'completed' | 'reassigned' | 'cancelled';
export type Risk = 'ok' | 'at_risk' | 'overdue';
export type WorkOrderQueue = 'to_acknowledge' | 'returned' | 'extension_requested' | 'to_review' | 'overdue' | 'at_risk' | 'open' | 'all';

/** How a work-order queue is narrowed and ordered (GET /work-orders). */
export interface WorkOrderFilters {
  unitId?: string;
  urgency?: Urgency[];
  categoryId?: string;
  territoryId?: string;
  /** The reply deadline (办结时限) within [deadlineFrom, deadlineTo), ISO with zone. */
  deadlineFrom?: string;
  deadlineTo?: string;
  sort?: 'deadline' | 'created' | 'urgency';
  order?: 'asc' | 'desc';
}

export interface WorkOrder {
  id: string;
  ticketId: string;
  ticketNumber: string;
  ticketTitle: string | null;
  /** The ticket's urgency at dispatch. */
  urgency?: Urgency;
  unitId: string;
  unitName?: string | null;
  role: 'lead' | 'co';
  status: WorkOrderStatus;
  statusZh?: string;
  round: number;
  dispatchedAt: string;
  deadlines: Deadlines;
  /** When each clock's reminder falls due (the server's supervision ladder): amber from then on. */
  reminders?: Deadlines;
  acknowledgedAt: string | null;
  onSiteAt?: string | null;
  repliedAt: string | null;
  result: string | null;
  risk: Risk;
  version: number;
  updatedAt?: string;
  extension?: { reason: string | null; proposedDeadline: string | null } | null;
  returnReason?: string | null;
}

export interface WorkOrderNote {
  id?: string;
  text: string;
  at?: string;
  createdAt?: string;
  authorName?: string | null;
  by?: string | null;
}

export interface WorkOrderAttachment {
  id: string;
  name?: string;
  fileName?: string;
  size?: number;
  contentType?: string;
  url?: string;
  createdAt?: string;
}

export interface WorkOrderHistoryEntry {
  id?: string;
  at: string;
  action: string;
  actionZh?: string;
  actorId?: string | null;
  actorName?: string | null;
  actorRole?: string | null;
  reason?: string | null;
}

export interface WorkOrderDetail extends WorkOrder {
  notes: WorkOrderNote[];
  attachments: WorkOrderAttachment[];
  history: WorkOrderHistoryEntry[];
}

export interface ClaimPoolItem {
  ticketId: string;
  categoryId?: string | null;
  reason?: string | null;
  ticketNumber?: string;
  number?: string;
  title?: string | null;
  ticketTitle?: string | null;
  categoryName?: string | null;
  addressText?: string | null;
  createdAt?: string;
  deadline?: string | null;
}

export type CallbackStatus = 'due' | 'pending' | 'all';

export interface CallbackItem {
  id: string;
  ticketId: string;
  ticketNumber?: string;
  ticketTitle?: string | null;
  callerPhone?: string | null;
  dueAt?: string | null;
  attempts?: number;
  status?: string;
  unitName?: string | null;
  handlingUnitId?: string | null;
  result?: string | null;
}

export interface SupervisionOrder {
  id: string;
  workOrderId: string;
  ticketId?: string;
  ticketNumber?: string;
  ticketTitle?: string | null;
  unitId?: string;
  unitName?: string;
  /** auto: raised by the ladder (超时自动督办); manual: by a supervisor or dispatcher. */
  origin?: string;
  reason: string;
  createdAt: string;
  createdByName?: string | null;
  status?: string;
  answer?: string | null;
  answeredAt?: string | null;
}

// --- live ------------------------------------------------------------------------------------

export type PresenceStatus = 'available' | 'busy' | 'on_call' | 'after_call' | 'break' | 'offline';

export interface AgentPresence {
  userId: string;
  name?: string | null;
  displayName?: string | null;
  status: PresenceStatus;
  since?: string | null;
  at?: string | null;
  callId?: string | null;
}

/** GET /tickets/figures: the center's figures of a period (by registration time). */
export interface TicketFigures {
  from: string;
  to: string;
  total: number;
  /** 即办 */
  answered: number;
  dispatched: number;
  rated: number;
  satisfied: number;
  /** Tickets per China-time hour (0–23), by channel. */
  byHour: Record<string, number[]>;
}

// --- the ticket page ------------------------------------------------------------------------

/** One step of a clock's supervision ladder (提醒/预警/超时/督办), or of the center's dispatch clock. */
export interface Milestone {
  clock: string;
  step: string;
  deadline: string;
  due: string;
  status: string;
  firedAt: string | null;
  firedBy: string | null;
}

/** A notice (通知) someone must act on, as the outbox keeps it. */
export interface Notice {
  id: string;
  event: string;
  recipient: { kind: 'unit' | 'unit_manager' | 'role' | 'citizen' | 'user'; id: string };
  ticketId: string | null;
  workOrderId: string | null;
  actBy: string | null;
  payload: Record<string, unknown>;
  createdAt: string;
}

/** A notice of a ticket with its delivery (pending → delivered). */
export interface TicketNotice extends Notice {
  status: string;
  deliveredAt: string | null;
  attempts: number;
  lastError: string | null;
}

/** A notice in the user's bell. */
export interface MyNotice extends Notice {
  ticketNumber: string | null;
  read: boolean;
  readAt: string | null;
}

export interface TicketCallback {
  id: string;
  ticketId: string;
  round: number;
  status: string;
  attempts: number;
  maxAttempts: number;
  nextAttemptAt: string | null;
  satisfaction: Satisfaction | null;
  comment: string | null;
  answeredVia: string | null;
  answeredAt: string | null;
}

export interface CallRecord {
  callId: string;
  callerPhone: string | null;
  dialledNumber: string;
  lineName: string;
  offeredAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  transcript: string | null;
  segments: { seq: number; speaker: string; text: string; at: string }[];
}

export interface StoryWorkOrder extends WorkOrderDetail {
  milestones: Milestone[];
  supervisionOrders?: { id: string; reason: string; origin: string; status: string; createdAt: string; answer: string | null }[];
}

/** GET /tickets/:id/story: what the viewer may see of a ticket's whole life. */
export interface TicketStory {
  ticket: Ticket;
  audit: AuditEntry[];
  links: TicketLink[];
  workOrders: StoryWorkOrder[];
  /** null: not the viewer's (units) */
  centerMilestones: Milestone[] | null;
  call: CallRecord | null;
  notices: TicketNotice[];
  /** null: units never see callbacks */
  callbacks: TicketCallback[] | null;
}
