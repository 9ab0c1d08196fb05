import { Role, systemActor } from '../core';
import { createSipEndpointsService, DEFAULT_SIP_REALM } from '../telephony';
import type { AppContext } from './context';

/** The demo city's agent phones register with their console username and this password (README). */
export const DEMO_SIP_PASSWORD = 'demo12345';

/**
 * Gives each agent and dispatcher of the demo city a SIP phone account (username = console username,
 * realm `hotline`, password {@link DEMO_SIP_PASSWORD}) so a softphone can register to the built-in
 * edge right after `npm start`. Accounts that exist keep their password.
 */
export async function seedDemoAgentPhones(ctx: AppContext, cityId: string): Promise<number> {
  const seats = (await ctx.identity.listUsers(cityId)).filter((u) => u.role === Role.agent || u.role === Role.dispatcher);
  return createSipEndpointsService({ db: ctx.database.db }).ensureAgentPhones({ actor: systemActor(cityId, 'first-start') }, {
    cityId, realm: DEFAULT_SIP_REALM, password: DEMO_SIP_PASSWORD, agents: seats.map((u) => ({ userId: u.id, username: u.username })),
  });
}
