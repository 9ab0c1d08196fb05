/** Identity: users and roles, console sessions, API keys for machine clients, login throttling. */
export {
  createIdentityService, userProblems, maskUsername, apiKeyProblems, toPublicUser, toApiKeyView,
  type IdentityService, type IdentityDeps, type NewUser, type PublicUser, type UserPatch, type ApiKeyView, type NewApiKey,
  type Credential, type AccessEnded, type IdentityEvents,
} from './identity.service';
export {
  hashPassword, verifyPassword, passwordProblem, PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH, PasswordProblemCode, type PasswordProblem,
} from './domain/passwords';
export { identityRoutes, SESSION_COOKIE, SECURE_SESSION_COOKIE, sessionCookieOf, type IdentityRoutesOptions } from './identity.routes';
/** Port: failed-login counters shared by the nodes; two adapters, `app/` chooses by REDIS_URL. */
export type { LoginAttemptStore, AttemptCounter } from './ports';
export { DEFAULT_THROTTLE_POLICY, type ThrottlePolicy, type ThrottleRule } from './domain/login-throttle';
/** In-process failed-login counters (one node, the default). */
export { createLocalLoginAttemptStore } from './adapters/local';
/** Redis failed-login counters (several nodes); throws at boot when Redis does not answer. */
export { createRedisLoginAttemptStore, type RedisLoginAttemptOptions } from './adapters/redis';
