/**
 * Open311 GeoReport v2 (开放接口): existing civic apps list the services (the category tree's
 * leaves), post requests that become tickets through intake (channel `open311`), and follow them,
 * in JSON or XML, with an API key of the `open311` scope. See docs/open311.md.
 */
export { createOpen311Service, MAX_LISTED, MAX_IDS, type Open311RequestsService, type Open311Deps, type Open311Client, type Open311NewRequest, type Open311ListQuery } from './open311.service';
export { open311Routes, type Open311RoutesOptions } from './open311.routes';
export type { Open311Ports, Open311Ticket, Open311TicketFilter, Open311NewTicket, Open311Category } from './ports';
export {
  GEOREPORT_SPECIFICATION, REQUEST_TYPE_ATTRIBUTE, requestStatusOf, servicesOf, serviceAttributes,
  type RequestStatus, type Open311Service, type Open311Attribute, type Open311ServiceDefinition, type Open311Request, type Open311Created, type Open311Error,
} from './domain/georeport';
