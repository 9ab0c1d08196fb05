

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

export interface DB {
  cities: CitiesTable;
  territories: TerritoriesTable;
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
}

