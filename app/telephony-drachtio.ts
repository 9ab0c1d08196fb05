import type { Redis } from 'ioredis';
import { createRtpMediaReceiver } from '../speech';
import { createDrachtioSipEdge, type EdgeLogger, type SipCredentials, type SipEdge } from '../telephony';
import { requireDrachtioConfig, type AppConfig } from './config';

/**
 * The drachtio edge from the configuration (TELEPHONY_EDGE=drachtio): throws at boot, naming what
 * is missing, when DRACHTIO_HOST / DRACHTIO_SECRET / RTPENGINE_HOST are not set.
 * - `realm`: the digest realm the phones' HA1s were stored with (the same as the built-in edge's).
 * - `recordingsDir`: where the stereo WAVs go (the telephony recordings folder).
 * - `redis`: the registrar several app nodes share (the node's Redis client when REDIS_URL is set).
 * The media fork for live transcripts goes to the speech part's RTP receiver (RTPENGINE_FORK_*),
 * built when app/speech.ts sets the edge's media tap.
 */
export function drachtioEdgeFromConfig(
  config: AppConfig,
  deps: { credentials: SipCredentials; realm: string; recordingsDir: string; redis: Redis | null; logger?: EdgeLogger },
): SipEdge {
  const d = requireDrachtioConfig(config);
  return createDrachtioSipEdge({
    drachtio: { host: d.host, port: d.port, secret: d.secret },
    rtpengine: d.rtpengine,
    dtmfListen: d.dtmfListen,
    rtpengineRecordingDir: d.rtpengineRecordingDir,
    recordingsDir: deps.recordingsDir,
    realm: deps.realm,
    credentials: deps.credentials,
    redis: deps.redis ? { client: deps.redis, prefix: config.redisPrefix } : null,
    inviteLimit: d.inviteLimit,
    logger: deps.logger,
    mediaFork: d.mediaFork.address
      ? (tap) => createRtpMediaReceiver({ tap, host: d.mediaFork.listen, publicAddress: d.mediaFork.address!, portRange: d.mediaFork.ports, logger: deps.logger })
      : undefined,
  });
}
