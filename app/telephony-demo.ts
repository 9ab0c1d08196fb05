import { Role, systemActor } from '../core';
import { createSipEndpointsService, DEFAULT_SIP_REALM, Skill } from '../telephony';
import type { AppContext } from './context';

/** The demo city's agent phones register with their console username and this password (README). */
export const DEMO_SIP_PASSWORD = 'demo12345';

/**
 * Gives each agent and dispatcher of the demo city a SIP phone account (username = console username,
 * realm `hotline`, password {@link DEMO_SIP_PASSWORD}) so a softphone can register to the built-in
 * edge right after `npm start`, and ACD settings (the phone, every skill) so calls reach them.
 * Accounts that exist keep their password.
 */
export async function seedDemoAgentPhones(ctx: AppContext, cityId: string): Promise<number> {
  const seats = (await ctx.identity.listUsers(cityId)).filter((u) => u.role === Role.agent || u.role === Role.dispatcher);
  const first = { actor: systemActor(cityId, 'first-start') };
  const created = await createSipEndpointsService({ db: ctx.database.db }).ensureAgentPhones(first, {
    cityId, realm: DEFAULT_SIP_REALM, password: DEMO_SIP_PASSWORD, agents: seats.map((u) => ({ userId: u.id, username: u.username })),
  });
  // The ACD offers calls to seats with a phone and a skill: in the demo every seat takes every queue.
  const configured = new Map((await ctx.telephony.service.listAgents(first.actor)).map((a) => [a.userId, a]));
  for (const u of seats) {
    if (configured.get(u.id)?.phoneUsername) continue;
    await ctx.telephony.service.setAgent(first, u.id, { phoneUsername: u.username, skills: Object.values(Skill) });
  }
  return created;
}
