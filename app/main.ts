import pino from 'pino';
import { systemActor } from '../core';
import type { AppConfig } from './config';
import { createContext } from './context';
import { buildServer } from './server';
import { importCityFromDir } from './city-preset';
import { seedDemoAgentPhones } from './telephony-demo';

/**
 * Starts the whole hotline: storage, migrations, the demo city on first start, the HTTP API.
 * Stops cleanly on SIGTERM/SIGINT (finishes requests in flight, then closes the database).
 */
export async function startServer(config: AppConfig) {
  const logger = pino({ level: config.logLevel });
  const ctx = await createContext(config, { logger });

  if (config.loadCityOnStart && (await ctx.directory.listCities()).length === 0) {
    logger.info({ dir: config.cityDir }, 'no city yet: importing the city preset');
    const summary = await importCityFromDir(ctx, config.cityDir, { actor: systemActor('-', 'first-start') });
    logger.info({ summary }, 'city preset imported');
    if (summary.isDemo) logger.info({ phones: await seedDemoAgentPhones(ctx, summary.cityId) }, 'demo agent SIP phones seeded');
  }

  const app = await buildServer(ctx);
  const address = await app.listen({ host: config.host, port: config.port });
  const cities = await ctx.directory.listCities();
  logger.info(`12345 hotline listening on ${address} (database ${ctx.database.describe})`);
  if (cities.some((c) => c.isDemo)) {
    logger.info(`demo city loaded: open http://localhost:${config.port}/ — API docs at /api/docs; log in (POST /api/v1/auth/login) as agent1, dispatcher1, water1, supervisor1 or admin, password demo12345`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await app.close();
    await ctx.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  return { app, ctx };
}
