import pino from 'pino';
import type { AppConfig } from './config';
import { createContext } from './context';
import { buildServer } from './server';
import { ensureCityLoaded } from './city-preset';

/**
 * Starts the whole hotline: storage, migrations, the demo city on first start, the HTTP API.
 * Stops cleanly on SIGTERM/SIGINT (finishes requests in flight, then closes the database).
 */
export async function startServer(config: AppConfig) {
  const logger = pino({ level: config.logLevel });
  const ctx = await createContext(config, { logger });

  const first = await ensureCityLoaded(ctx, config);
  if (first.imported) logger.info({ dir: config.cityDir, summary: first.imported }, 'no city yet: the city preset was imported');

  const cities = await ctx.directory.listCities();
  // Clocks read the calendar and a city's settings inside other parts' transactions: read them once
  // before the first request, so that only a refresh (answered from memory meanwhile) ever reads them there.
  await ctx.calendar.load();
  for (const c of cities) await ctx.directory.citySettings(c.id);
  const app = await buildServer(ctx);
  const address = await app.listen({ host: config.host, port: config.port });
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
