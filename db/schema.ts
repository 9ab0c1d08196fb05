

/**
 * The tables, as kysely sees them. Timestamps are UTC 'YYYY-MM-DD HH:MM:SS.mmm' strings, JSON is
 * stored as text on both dialects (parsed by the owning repository), booleans as 0/1.
 */
export interface CitiesTable {
  id: string;
  name: string;
  is_demo: number;
  settings: string; // JSON: office hours, time-limit preset, windows
  created_at: string;
  updated_at: string;
}

export interface TerritoriesTable {
  id: string;
  city_id: string;
  code: string | null; // official administrative code where one exists (统计用区划代码)
  name: string;
  level: string; // district | street | community | grid
  parent_id: string | null;
  path: string; // '/district/street/community/grid/' of ids, for subtree scope checks
  created_at: string;
}

/** A gazetteer entry (地名): a road segment, compound, landmark, village, QR building or alias. */
export interface GazetteerEntriesTable {
  id: string;
  city_id: string;
  kind: string; // road | compound | landmark | village | building | alias
  name: string; // for a building: the value its QR code carries
  aliases: string; // JSON array of other names
  territory_id: string; // the most specific territory it lies in (one row per road segment)
  number_from: number | null; // house numbers (门牌号) of a road segment, inclusive
  number_to: number | null;
  parity: string; // all | odd | even
  lat: number | null;
  lng: number | null;
}

/** A territory's outline (GeoJSON Polygon/MultiPolygon) with its bounding box for a quick prefilter. */
export interface TerritoryPolygonsTable {
  territory_id: string;
  city_id: string;
  geojson: string;
  min_lat: number;
  min_lng: number;
  max_lat: number;
  max_lng: number;
}

export interface UnitsTable {
  id: string;
  city_id: string;
  code: string;
  name: string;
  kind: string; // department | utility | district | street | community | company | center
  parent_id: string | null;
  territory_id: string | null;
  sms_phone: string | null;
  duty_person: string | null;
  duty_phone: string | null;
  active: number;
  created_at: string;
  updated_at: string;
}

export interface HotlineLinesTable {
  id: string;
  city_id: string;
  number: string;
  name: string;
  merged_on: string | null;
}

export interface UsersTable {
  id: string;
  city_id: string;
  username: string;
  display_name: string;
  password_hash: string;
  role: string;
  unit_id: string | null;
  territory_id: string | null;
  phone: string | null;
  active: number;
  created_at: string;
  updated_at: string;
  /** 1: must choose a new password before anything else (migration 0027). */
  password_change_required: number;
  /** When the current password was set; null: at creation (migration 0027). */
  password_changed_at: string | null;
}

export interface SessionsTable {
  id: string; // sha256 of the cookie token: a leaked table does not leak sessions
  user_id: string;
  created_at: string;
  expires_at: string;
}

export interface ApiKeysTable {
  id: string;
  city_id: string;
  name: string;
  key_hash: string;
  role: string;
  unit_id: string | null;
  territory_id: string | null;
  created_at: string;
  revoked_at: string | null;
  /** Space-separated scope names (core/api-key-scopes.ts); '' grants nothing. */
  scopes: string;
  /** Null: valid until revoked. */
  expires_at: string | null;
  /** Written at most once a minute per key. */
  last_used_at: string | null;
}

export interface CitizensTable {
  id: string;
  city_id: string;
  phone: string;
  name: string | null;
  confidential: number;
  created_at: string;
  updated_at: string;
}

export interface CategoriesTable {
  id: string;
  city_id: string;
  code: string;
  name: string;
  level: number;
  parent_id: string | null;
  path: string;
  keywords: string | null; // JSON array
  default_type: string | null;
  default_urgency: string | null;
  policy_code: string | null;
  utility: number;
  active: number;
}

export interface TimeLimitPoliciesTable {
  id: string;
  city_id: string;
  code: string;
  name: string;
  priority: number;
  ticket_type: string | null;
  urgency: string | null;
  category_code: string | null;
  utility: number | null;
  limits: string; // JSON: { acknowledge, onSite, reply, citizenReply } each {amount, unit}
  ladder: string | null; // JSON: the supervision ladder; null = the built-in one
}

export interface TicketsTable {
  id: string;
  city_id: string;
  number: string;
  status: string;
  version: number;
  channel: string;
  type: string;
  urgency: string;
  category_id: string | null;
  citizen_id: string | null;
  caller_phone: string | null;
  citizen_name: string | null;
  confidential: number;
  title: string | null;
  occurred_at: string | null;
  address_text: string | null;
  territory_id: string | null;
  territory_path: string | null;
  lat: number | null;
  lng: number | null;
  parties: string | null;
  situation: string | null;
  demand: string | null;
  handling_unit_id: string | null;
  call_id: string | null;
  merged_into_id: string | null;
  answer: string | null; // 即办 answer given on the spot
  result: string | null; // the unit's reply
  round: number; // 1 + number of second handlings (重办)
  satisfaction: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  /** The dispatch rule that decided (按职能/首问/属地/紧急/即办), the list version and the unit it chose. */
  routing_rule: string | null;
  responsibility_version_id: string | null;
  planned_unit_id: string | null;
}

export interface ClassifierModelsTable {
  id: string;
  city_id: string;
  version: number;
  trained_at: string;
  examples: number;
  source: string;
  model: string;
}

export interface ClassifierFeedbackTable {
  id: string;
  city_id: string;
  ticket_id: string;
  category_code: string;
  suggested_code: string | null;
  text: string;
  actor_id: string | null;
  at: string;
}

export interface TicketLinksTable {
  id: string;
  ticket_id: string;
  linked_ticket_id: string;
  kind: string; // related | duplicate | merged
  created_by: string | null;
  created_at: string;
}

export interface SequencesTable {
  name: string;
  value: number;
}

export interface AuditEventsTable {
  id: string;
  city_id: string | null;
  at: string;
  actor_id: string | null;
  actor_role: string | null;
  entity_type: string;
  entity_id: string;
  action: string;
  before: string | null;
  after: string | null;
  reason: string | null;
  request_id: string | null;
}

export interface IdempotencyRecordsTable {
  id: string;
  scope: string;
  idem_key: string;
  command: string;
  request_hash: string;
  response: string;
  created_at: string;
}

export interface CalendarDaysTable {
  day: string; // YYYY-MM-DD
  year: number;
  is_workday: number;
  kind: string; // workday | weekend | holiday | makeup_workday
  name: string | null;
}

export interface CalendarYearsTable {
  year: number;
  source: string;
  imported_at: string;
  imported_by: string | null;
}

export interface ResponsibilityVersionsTable {
  id: string;
  city_id: string;
  number: number;
  status: string; // draft | proposed | approved | rejected (active/superseded are computed from the dates)
  note: string | null;
  source_hash: string; // sha256 of the canonical CSV
  item_count: number;
  effective_from: string | null;
  created_by: string | null;
  created_at: string;
  proposed_by: string | null;
  proposed_at: string | null;
  decided_by: string | null;
  decided_at: string | null;
  reject_reason: string | null;
  updated_at: string;
}

export interface ResponsibilityItemsTable {
  id: string;
  version_id: string;
  seq: number;
  item_code: string;
  category_code: string;
  situation_keywords: string; // JSON array
  territory_level: string; // city | district | street | community
  lead_unit_id: string | null;
  lead_unit_code: string | null;
  co_units: string; // JSON [{id, code}]
  handling_procedure: string;
  standard: string;
  contact_phone: string | null;
  legal_basis: string;
}

export interface KnowledgeArticlesTable {
  id: string;
  city_id: string;
  code: string | null;
  owner_unit_id: string | null; // null: the hotline center
  status: string; // draft | published | archived
  pending_status: string | null; // draft | in_review: the revision being written or reviewed
  published_revision_id: string | null;
  pending_revision_id: string | null;
  version: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  archived_by: string | null;
  archived_at: string | null;
  archive_reason: string | null;
}

export interface KnowledgeRevisionsTable {
  id: string;
  article_id: string;
  city_id: string;
  number: number;
  status: string; // draft | in_review | published | superseded
  question: string;
  answer: string;
  category_code: string | null;
  keywords: string; // JSON array
  valid_from: string | null;
  valid_to: string | null;
  source_document: string | null;
  author_id: string | null;
  author_name: string | null;
  created_at: string;
  updated_by: string | null;
  updated_at: string;
  submitted_by: string | null;
  submitted_at: string | null;
  reviewed_by: string | null;
  reviewed_at: string | null;
  reject_reason: string | null;
  published_at: string | null;
}

export interface KnowledgeUsagesTable {
  id: string;
  city_id: string;
  article_id: string;
  revision_id: string;
  ticket_id: string;
  used_by: string | null;
  used_at: string;
}

export interface WorkOrdersTable {
  id: string;
  city_id: string;
  ticket_id: string;
  ticket_number: string;
  ticket_title: string | null;
  unit_id: string;
  role: string;
  round: number;
  status: string;
  version: number;
  policy_code: string | null;
  dispatched_at: string;
  acknowledge_due: string | null;
  on_site_due: string | null;
  reply_due: string | null;
  citizen_reply_due: string | null;
  acknowledged_at: string | null;
  on_site_at: string | null;
  replied_at: string | null;
  result: string | null;
  extension_reason: string | null;
  extension_proposed_due: string | null;
  extension_count: number;
  return_reason: string | null;
  returned_at: string | null;
  closed_at: string | null;
  created_at: string;
  updated_at: string;
  /** Copied from the ticket at dispatch (migration 0008): what the queues filter by. */
  urgency: string;
  category_id: string | null;
  territory_path: string | null;
}

export interface WorkOrderMilestonesTable {
  id: string;
  city_id: string;
  work_order_id: string;
  clock: string;
  step: string;
  deadline_at: string;
  due_at: string;
  status: string;
  fired_at: string | null;
  fired_by: string | null;
}

export interface TicketMilestonesTable {
  id: string;
  city_id: string;
  ticket_id: string;
  ticket_number: string;
  clock: string;
  step: string;
  deadline_at: string;
  due_at: string;
  status: string;
  fired_at: string | null;
  fired_by: string | null;
}

export interface WorkOrderNotesTable {
  id: string;
  work_order_id: string;
  kind: string;
  text: string;
  author_id: string | null;
  author_name: string | null;
  created_at: string;
}

export interface WorkOrderAttachmentsTable {
  id: string;
  work_order_id: string;
  file_name: string;
  content_type: string;
  size: number;
  sha256: string;
  storage_key: string;
  uploaded_by: string | null;
  created_at: string;
}

export interface SupervisionOrdersTable {
  id: string;
  city_id: string;
  work_order_id: string;
  ticket_id: string;
  unit_id: string;
  origin: string;
  reason: string;
  raised_by: string | null;
  status: string;
  answer: string | null;
  answered_by: string | null;
  answered_at: string | null;
  created_at: string;
}

export interface CallbacksTable {
  id: string;
  city_id: string;
  ticket_id: string;
  round: number;
  status: string;
  version: number;
  attempts: number;
  max_attempts: number;
  next_attempt_at: string | null;
  satisfaction: string | null;
  comment: string | null;
  answered_via: string | null;
  answered_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface ClaimPoolTable {
  ticket_id: string;
  city_id: string;
  reason: string;
  offered_by: string | null;
  offered_at: string;
  claimed_by_unit_id: string | null;
  claimed_at: string | null;
}

export interface NotificationOutboxTable {
  id: string;
  city_id: string;
  event: string;
  recipient_kind: string;
  recipient_id: string;
  ticket_id: string | null;
  work_order_id: string | null;
  act_by: string | null;
  payload: string;
  dedup_key: string;
  /** pending | claimed (leased to a delivery run until `lease_until`) | delivered */
  status: string;
  claim_token: string | null;
  created_at: string;
  delivered_at: string | null;
  /** A claimed row whose lease passed is delivered again (the node that took it died or a sink failed). */
  lease_until: string | null;
  attempts: number;
  last_error: string | null;
}

/** A notice a user has read (已读), for the console's bell; owned by the work-order part with the outbox. */
export interface NotificationReadsTable {
  user_id: string;
  notification_id: string;
  read_at: string;
}

/** A pushed console event (实时推送), kept a few days so a reconnecting console can catch up. */
export interface LiveEventsTable {
  seq: import('kysely').Generated<number>; // auto-increment: the order every console sees
  city_id: string;
  type: string;
  at: string;
  for_center: number;
  unit_ids: string | null; // '|id|id|' for a LIKE prefilter; the JSON audience decides
  territory_paths: string | null; // '|/d/s/c/|'
  user_ids: string | null; // '|id|'
  audience: string; // JSON Audience
  data: string; // JSON: what the hotline center sees
  unit_data: string | null; // JSON: what everyone else sees; null = center only
  /** Unique when set: the same change published twice (a notice delivered again) is one event. */
  event_key: import('kysely').Generated<string | null>;
}

/** A live event staged inside the transaction of its change, waiting to be numbered (see migration 0007). */
export interface LiveOutboxTable {
  id: string;
  created_at: string;
  event: string; // JSON: the event without its number
}

/** A call offered to the hotline (来电), as the telephony gateway reports it. */
export interface CallsTable {
  id: string;
  city_id: string;
  call_id: string; // the gateway's id
  caller_phone: string | null;
  dialled_number: string;
  line_number: string | null; // the merged legacy line dialled (热线归并), null for 12345 itself
  line_name: string | null;
  agent_user_id: string | null;
  offered_at: string;
  answered_at: string | null;
  ended_at: string | null;
  transcript: string | null;
  created_at: string;
  updated_at: string;
}

/** A final transcript segment of a call; (call_ref, speaker, seq) is unique (migration 0018). */
export interface CallTranscriptSegmentsTable {
  id: string;
  call_ref: string;
  seq: number;
  speaker: string; // caller | agent: the party whose stream it came from
  text: string;
  at: string;
  /** Milliseconds from the start of the party's stream; null for segments stored before 0018. */
  start_ms: number | null;
  end_ms: number | null;
  /** 0..1, null when the engine does not say. */
  confidence: number | null;
  /** jieba words of the text, ' a b c ' (search with LIKE '% a %'). */
  tokens: string;
}

/** One SMS text out (see migration 0011). */
export interface SmsMessagesTable {
  id: string;
  city_id: string;
  kind: string;
  recipient_kind: string;
  unit_id: string | null;
  phone: string;
  body: string | null;
  context: string | null;
  parts: number;
  state: string;
  source_key: string;
  ticket_id: string | null;
  work_order_id: string | null;
  confidential: number;
  gateway: string | null;
  provider_message_id: string | null;
  attempts: number;
  next_attempt_at: string;
  lease_until: string | null;
  claim_token: string | null;
  last_error: string | null;
  expires_at: string;
  created_at: string;
  updated_at: string;
  submitted_at: string | null;
  delivered_at: string | null;
}

export interface SmsProviderIdsTable {
  gateway: string;
  provider_message_id: string;
  message_id: string;
  part: number;
}

export interface SmsReceiptsTable {
  id: string;
  gateway: string;
  provider_message_id: string;
  state: string;
  detail: string | null;
  message_id: string | null;
  received_at: string;
}

export interface SmsInboundTable {
  id: string;
  city_id: string;
  gateway: string;
  provider_message_id: string;
  from_phone: string;
  to_number: string;
  body: string;
  outcome: string;
  status: string;
  ticket_id: string | null;
  work_order_id: string | null;
  unit_id: string | null;
  detail: string | null;
  handled_by: string | null;
  handled_at: string | null;
  received_at: string;
}

export interface SmsActionCodesTable {
  work_order_id: string;
  city_id: string;
  code: string;
  unit_id: string;
  created_at: string;
}

export interface SmsOptOutsTable {
  city_id: string;
  phone: string;
  created_at: string;
  inbound_id: string | null;
}

/** An agent phone's SIP account on the built-in edge; only HA1 = MD5(username:realm:password) is kept. */
export interface SipEndpointsTable {
  id: string;
  city_id: string;
  username: string; // unique: the SIP user the phone registers as
  user_id: string | null; // the console user at this phone (坐席), if linked
  realm: string; // the digest realm the HA1 was computed for
  ha1: string;
  created_at: string;
  updated_at: string;
}

/** A generated report file (已生成报表): see db/migrations/0016-generated-reports.ts. */
export interface GeneratedReportsTable {
  id: string;
  city_id: string;
  unit_id: string | null;
  kind: string;
  period_from: string;
  period_to: string;
  period_label: string;
  format: string;
  filters: string;
  idempotency_key: string;
  origin: string;
  requested_by: string | null;
  requested_by_name: string | null;
  status: string;
  progress: number;
  attempts: number;
  lease_until: string | null;
  title: string | null;
  file_key: string | null;
  file_name: string | null;
  content_type: string | null;
  file_size: number | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** A counter of the reports (报表): '' in a key column is "none". See migration 0015. */
export interface ReportRollupsTable {
  city_id: string;
  measure: string;
  day: string; // YYYY-MM-DD in China
  unit_id: string;
  category_id: string;
  territory_id: string;
  channel: string;
  type: string;
  n: number;
}

/** What one ticket counts for now, in the rollups' keys (the drill-down lists these). */
export interface ReportFactsTable extends ReportRollupsTable {
  ticket_id: string;
  category_top: string;
  territory_top: string;
}

/** The counters: the facts summed, at the full grain and at one-dimension projections ('*' elsewhere). */
export interface ReportRollupsGrainTable extends ReportRollupsTable {
  grain: string; // full | unit | ct | category | category1 | territory1
}

/** Month-level counters (月度汇总, migration 0023): Σ of the day counters of a month, every grain but full. */
export interface ReportRollupsMonthTable extends Omit<ReportRollupsTable, 'day'> {
  grain: string; // unit | ct | category | category1 | territory1
  month: string; // YYYY-MM in China
}

/** A call detail record (话单), see migration 0014. */
export interface TelephonyCallRecordsTable {
  id: string;
  city_id: string;
  edge_call_id: string;
  edge: string;
  node_id: string;
  caller_number: string;
  dialled_number: string;
  line_number: string | null;
  line_name: string | null;
  queue: string;
  priority: number;
  agent_user_id: string | null;
  ticket_id: string | null;
  offered_at: string;
  queued_at: string | null;
  agent_offered_at: string | null;
  answered_at: string | null;
  ended_at: string | null;
  outcome: string | null;
  abandon_point: string | null;
  reoffers: number;
  overflowed_to: string | null;
  end_cause: string | null;
  created_at: string;
  updated_at: string;
}

export interface TelephonyCallbackRequestsTable {
  id: string;
  city_id: string;
  call_record_id: string;
  caller_number: string;
  queue: string;
  line_name: string | null;
  status: string; // open | claimed | done
  claimed_by: string | null;
  claimed_at: string | null;
  completed_at: string | null;
  note: string | null;
  requested_at: string;
  updated_at: string;
}

export interface TelephonyRecordingsTable {
  id: string;
  city_id: string;
  call_record_id: string;
  storage_key: string;
  content_type: string;
  bytes: number;
  duration_ms: number;
  stored_at: string;
  expires_at: string;
  deleted_at: string | null;
}

export interface TelephonyAgentsTable {
  user_id: string;
  city_id: string;
  phone_username: string | null;
  skills: string; // JSON array of skill codes
  updated_at: string;
}

export interface TelephonyQueueSettingsTable {
  city_id: string;
  skill: string;
  settings: string; // JSON QueueSettingsInput
  updated_at: string;
}

export interface DB {
  classifier_models: ClassifierModelsTable;
  classifier_feedback: ClassifierFeedbackTable;
  cities: CitiesTable;
  territories: TerritoriesTable;
  gazetteer_entries: GazetteerEntriesTable;
  territory_polygons: TerritoryPolygonsTable;
  units: UnitsTable;
  hotline_lines: HotlineLinesTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  citizens: CitizensTable;
  categories: CategoriesTable;
  time_limit_policies: TimeLimitPoliciesTable;
  tickets: TicketsTable;
  ticket_links: TicketLinksTable;
  sequences: SequencesTable;
  audit_events: AuditEventsTable;
  idempotency_records: IdempotencyRecordsTable;
  calendar_days: CalendarDaysTable;
  calendar_years: CalendarYearsTable;
  responsibility_versions: ResponsibilityVersionsTable;
  responsibility_items: ResponsibilityItemsTable;
  knowledge_articles: KnowledgeArticlesTable;
  knowledge_revisions: KnowledgeRevisionsTable;
  knowledge_usages: KnowledgeUsagesTable;
  work_orders: WorkOrdersTable;
  work_order_milestones: WorkOrderMilestonesTable;
  work_order_notes: WorkOrderNotesTable;
  ticket_milestones: TicketMilestonesTable;
  work_order_attachments: WorkOrderAttachmentsTable;
  supervision_orders: SupervisionOrdersTable;
  callbacks: CallbacksTable;
  claim_pool: ClaimPoolTable;
  notification_outbox: NotificationOutboxTable;
  notification_reads: NotificationReadsTable;
  live_events: LiveEventsTable;
  live_outbox: LiveOutboxTable;
  calls: CallsTable;
  call_transcript_segments: CallTranscriptSegmentsTable;
  sms_messages: SmsMessagesTable;
  sip_endpoints: SipEndpointsTable;
  sms_provider_ids: SmsProviderIdsTable;
  sms_receipts: SmsReceiptsTable;
  sms_inbound: SmsInboundTable;
  sms_action_codes: SmsActionCodesTable;
  sms_opt_outs: SmsOptOutsTable;
  hotspot_counts: HotspotCountsTable;
  hotspot_callers: HotspotCallersTable;
  hotspot_ticket_groups: HotspotTicketGroupsTable;
  hotspot_warnings: HotspotWarningsTable;
  hotspot_incidents: HotspotIncidentsTable;
  grid_calls: GridCallsTable;
  grid_matters: GridMattersTable;
  grid_tasks: GridTasksTable;
  generated_reports: GeneratedReportsTable;
  report_rollups: ReportRollupsGrainTable;
  report_facts: ReportFactsTable;
  report_rollups_month: ReportRollupsMonthTable;
  telephony_call_records: TelephonyCallRecordsTable;
  telephony_callback_requests: TelephonyCallbackRequestsTable;
  telephony_recordings: TelephonyRecordingsTable;
  telephony_agents: TelephonyAgentsTable;
  telephony_queue_settings: TelephonyQueueSettingsTable;
  citizen_secrets: CitizenSecretsTable;
  citizen_reports: CitizenReportsTable;
  citizen_photos: CitizenPhotosTable;
  citizen_codes: CitizenCodesTable;
  citizen_throttle: CitizenThrottleTable;
  open311_requests: Open311RequestsTable;
}

/** Hotspots (热点预警): tickets and distinct callers per category × territory × China day (see migration 0017). */
export interface HotspotCountsTable {
  city_id: string;
  category_id: string;
  territory_id: string;
  day: string;
  category_level: number;
  territory_level: string;
  territory_path: string;
  tickets: number;
  callers: number;
}

/** One caller of a group and day, with that caller's tickets there (what keeps `callers` exact). */
export interface HotspotCallersTable {
  city_id: string;
  category_id: string;
  territory_id: string;
  day: string;
  caller_key: string;
  tickets: number;
}

/** The groups a ticket counts in now. */
export interface HotspotTicketGroupsTable {
  ticket_id: string;
  category_id: string;
  territory_id: string;
  city_id: string;
  day: string;
  caller_key: string;
  registered_at: string;
}

/** A hotspot warning (预警): one per group and day; its level only rises. */
export interface HotspotWarningsTable {
  id: string;
  city_id: string;
  category_id: string;
  territory_id: string;
  day: string;
  category_level: number;
  territory_level: string;
  territory_path: string;
  category_name: string;
  territory_name: string;
  level: number;
  basis: string; // day | window
  tickets: number;
  callers: number;
  baseline_mean: number;
  baseline_spread: number;
  status: string; // open | acknowledged | dismissed | converted
  version: number;
  raised_at: string;
  level_raised_at: string;
  handled_by: string | null;
  handled_at: string | null;
  note: string | null;
  proactive_ticket_id: string | null;
  /** The incident (热点事件) it belongs to (migration 0028); the handling above mirrors the incident's. */
  incident_id: string | null;
}

/** A hotspot incident (热点事件, migration 0028): the overlapping warnings of one burst; the headline is the most specific. */
export interface HotspotIncidentsTable {
  id: string;
  city_id: string;
  day: string;
  headline_warning_id: string;
  category_id: string;
  category_path: string;
  territory_id: string;
  territory_path: string;
  level: number; // the highest of its warnings
  status: string; // open | acknowledged | dismissed | converted
  version: number;
  raised_at: string;
  level_raised_at: string;
  handled_by: string | null;
  handled_at: string | null;
  note: string | null;
  proactive_ticket_id: string | null;
}

/** The signing key of building QR codes and status links (群众端), made once. */
export interface CitizenSecretsTable {
  name: string;
  value: string;
  created_at: string;
}

/** An accepted QR report (一码受理): building, ticket, and where it came from (hashed). */
export interface CitizenReportsTable {
  id: string;
  city_id: string;
  building_code: string;
  ticket_id: string;
  device_hash: string;
  ip_hash: string;
  idempotency_key: string;
  duplicate_of: string | null;
  created_at: string;
}

/** A photo sent with a QR report, stored like work-order attachments. */
export interface CitizenPhotosTable {
  id: string;
  ticket_id: string;
  report_id: string;
  content_type: string;
  size: number;
  sha256: string;
  storage_key: string;
  created_at: string;
}

/** A one-time SMS code (验证码) of the status page, hashed; used once. */
export interface CitizenCodesTable {
  id: string;
  city_id: string;
  ticket_id: string;
  code_hash: string;
  device_hash: string;
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

/** Failed code checks of one ticket or one device/IP, and its lockout. */
export interface CitizenThrottleTable {
  key: string;
  failures: number;
  window_start: string;
  locked_until: string | null;
}
/** An Open311 service request (开放接口诉求) beside its ticket (see migration 0022). */
export interface Open311RequestsTable {
  token: string;
  city_id: string;
  ticket_id: string;
  api_key_id: string;
  client_name: string;
  service_code: string;
  /** The citizen's email: kept for the hotline, never returned. */
  email: string | null;
  device_id: string | null;
  account_id: string | null;
  media_url: string | null;
  /** JSON object of attribute code → value(s). */
  attributes: string | null;
  created_at: string;
}
/** A grid call (网格呼叫) and where it stands in its approval chain (see migration 0020). */
export interface GridCallsTable {
  id: string;
  city_id: string;
  number: string;
  territory_id: string;
  territory_path: string;
  caller_id: string;
  caller_role: string;
  caller_name: string;
  title: string;
  situation: string;
  demand: string | null;
  address_text: string | null;
  category_id: string | null;
  status: string; // pending | sent_back | town_handling | escalated | awaiting_rating | closed | withdrawn
  step: string | null; // the role that must act now
  step_started_at: string | null;
  step_remind_at: string | null;
  step_due_at: string | null;
  remind_fired_at: string | null;
  overdue_fired_at: string | null;
  round: number;
  sent_back_reason: string | null;
  ticket_id: string | null;
  result: string | null;
  satisfaction: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

/** A matter grid staff handled themselves (简单事网格办). */
export interface GridMattersTable {
  id: string;
  city_id: string;
  territory_id: string;
  territory_path: string;
  recorded_by: string;
  recorder_name: string;
  category_id: string | null;
  title: string;
  handling: string;
  address_text: string | null;
  handled_at: string;
  created_at: string;
}

/** A work order handed down by a town's or community's unit to a grid (四级联动, 下派网格). */
export interface GridTasksTable {
  id: string;
  city_id: string;
  ticket_id: string;
  work_order_id: string;
  unit_id: string;
  territory_id: string;
  territory_path: string;
  title: string;
  note: string | null;
  assigned_by: string;
  assigned_by_name: string;
  reply_due: string | null;
  status: string; // assigned | reported
  result: string | null;
  reported_by: string | null;
  reported_at: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}
