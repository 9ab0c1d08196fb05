import type { Redis } from 'ioredis';
import { createDrachtioSipEdge, type EdgeLogger, type SipCredentials, type SipEdge } from '../telephony';
import { requireDrachtioConfig, type AppConfig } from './config';

/**
 * The drachtio edge from the configuration (TELEPHONY_EDGE=drachtio): throws at boot, naming what
 * is missing, when DRACHTIO_HOST / DRACHTIO_SECRET / RTPENGINE_HOST are not set. `redis`: the
 * registrar several app nodes share (pass the node's Redis client when REDIS_URL is set).
 */
export function drachtioEdgeFromConfig(config: AppConfig, deps: { credentials: SipCredentials; redis: Redis | null; logger?: EdgeLogger }): SipEdge {
  const d = requireDrachtioConfig(config);
  return createDrachtioSipEdge({
    drachtio: { host: d.host, port: d.port, secret: d.secret },
    rtpengine: d.rtpengine,
    dtmfListen: d.dtmfListen,
    rtpengineRecordingDir: d.rtpengineRecordingDir,
    recordingsDir: d.recordingsDir,
    realm: d.realm,
    credentials: deps.credentials,
    redis: deps.redis ? { client: deps.redis, prefix: config.redisPrefix } : null,
    inviteLimit: d.inviteLimit,
    logger: deps.logger,
  });
}
