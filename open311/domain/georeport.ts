/**
 * Open311 GeoReport v2 (开放接口) as pure rules: how our tickets read as service requests, the one
 * attribute a service takes, and the spec's error shape. No HTTP, no database.
 * The specification: http://wiki.open311.org/GeoReport_v2
 */
import { TICKET_TYPES, TicketTypeLabelZh, type TicketType } from '../../core';

export const GEOREPORT_SPECIFICATION = 'http://wiki.open311.org/GeoReport_v2';

/** A service request is `open` until the ticket is closed, merged into another or cancelled. */
export type RequestStatus = 'open' | 'closed';
const CLOSED_TICKET_STATUSES: ReadonlySet<string> = new Set(['closed', 'merged', 'cancelled']);
export const requestStatusOf = (ticketStatus: string): RequestStatus => (CLOSED_TICKET_STATUSES.has(ticketStatus) ? 'closed' : 'open');
/** The ticket statuses behind each request status, for `status=open|closed` filters. */
export function ticketStatusesOf(status: RequestStatus, all: readonly string[]): string[] {
  return all.filter((s) => requestStatusOf(s) === status);
}

/** One entry of the service list (`services`). */
export interface Open311Service {
  service_code: string;
  service_name: string;
  description: string;
  metadata: boolean;
  type: 'realtime' | 'batch' | 'blackbox';
  keywords: string;
  group: string;
}

export interface Open311AttributeValue { key: string; name: string }
/** One attribute of a service definition (`services/{code}`). */
export interface Open311Attribute {
  variable: boolean;
  code: string;
  datatype: 'string' | 'number' | 'datetime' | 'text' | 'singlevaluelist' | 'multivaluelist';
  required: boolean;
  datatype_description: string;
  order: number;
  description: string;
  values: Open311AttributeValue[];
}

export interface Open311ServiceDefinition {
  service_code: string;
  attributes: Open311Attribute[];
}

/** A service request as read back (`requests`, `requests/{id}`): never the citizen's phone, name or email. */
export interface Open311Request {
  service_request_id: string;
  status: RequestStatus;
  status_notes: string | null;
  service_name: string | null;
  service_code: string | null;
  description: string | null;
  agency_responsible: string | null;
  service_notice: string | null;
  requested_datetime: string;
  updated_datetime: string;
  expected_datetime: string | null;
  address: string | null;
  address_id: string | null;
  zipcode: string | null;
  lat: number | null;
  long: number | null;
  media_url: string | null;
}

/** What `POST requests` answers (and `tokens/{id}`: the id and the token). */
export interface Open311Created {
  service_request_id: string;
  token: string;
  service_notice: string | null;
  account_id: string | null;
}

/** The spec's error entry: `code` is the HTTP status; `description` carries our stable code and both languages. */
export interface Open311Error { code: number; description: string }

/** 诉求类型: the ticket type a request asks to be registered as (optional; the category's default otherwise). */
export const REQUEST_TYPE_ATTRIBUTE = 'request_type';

/** The attributes every service takes: the request type, as a single-value list. */
export function serviceAttributes(): Open311Attribute[] {
  return [{
    variable: true,
    code: REQUEST_TYPE_ATTRIBUTE,
    datatype: 'singlevaluelist',
    required: false,
    datatype_description: '诉求类型 (request type): one of the keys',
    order: 1,
    description: '诉求类型：咨询、求助、投诉、举报、建议、表扬 (request type; default: the service\'s own)',
    values: TICKET_TYPES.map((t) => ({ key: t, name: TicketTypeLabelZh[t] })),
  }];
}

export const isTicketType = (s: string): s is TicketType => (TICKET_TYPES as string[]).includes(s);

/** A leaf of the category tree is a service (问题分类末级); its group is the top-level field. */
export function servicesOf(categories: { id: string; code: string; name: string; level: number; parentId: string | null; keywords: string[]; active: boolean }[]): (Open311Service & { categoryId: string })[] {
  const active = categories.filter((c) => c.active);
  const byId = new Map(active.map((c) => [c.id, c]));
  const parents = new Set(active.map((c) => c.parentId).filter(Boolean));
  const pathOf = (c: (typeof active)[number]) => {
    const names: string[] = [];
    for (let n: (typeof active)[number] | undefined = c; n; n = n.parentId ? byId.get(n.parentId) : undefined) names.unshift(n.name);
    return names;
  };
  return active
    .filter((c) => !parents.has(c.id))
    .sort((a, b) => a.code.localeCompare(b.code))
    .map((c) => {
      const path = pathOf(c);
      return {
        categoryId: c.id, service_code: c.code, service_name: c.name, description: path.join(' / '),
        metadata: serviceAttributes().length > 0, type: 'realtime' as const, keywords: c.keywords.join(','), group: path[0] ?? c.name,
      };
    });
}
