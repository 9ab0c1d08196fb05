/**
 * Citizen pages (群众端): building QR codes (一码受理) that open a mobile report form with the
 * building known, and the status page (进度查询) behind a one-time SMS code, where the citizen also
 * rates the result. Public pages and API, staff routes for printing codes and reading photos.
 */
export { createCitizenService, DEFAULT_LIMITS, type CitizenService, type CitizenDeps, type CitizenLimits, type Requester, type QrReportInput, type QrReportAnswer, type PhotoIn } from './citizen.service';
export { citizenPublicRoutes, citizenStaffRoutes, type CitizenPublicRoutesOptions, type CitizenStaffRoutesOptions } from './citizen.routes';
export type { CitizenPorts, CitizenTicket, CitizenPlace } from './ports';
export { signBuilding, readBuildingToken } from './domain/tokens';
export { sniffImageType, type PhotoType } from './domain/images';
export { CitizenStage, CitizenStageZh, stageOf } from './domain/status';
export { qrPng, qrSheetHtml } from './print';
