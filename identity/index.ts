/** Identity: users and roles, console sessions, API keys for machine clients. */
export { createIdentityService, userProblems, toPublicUser, type IdentityService, type IdentityDeps, type NewUser, type PublicUser } from './identity.service';
export { hashPassword, verifyPassword } from './domain/passwords';
export { identityRoutes, SESSION_COOKIE, type IdentityRoutesOptions } from './identity.routes';
