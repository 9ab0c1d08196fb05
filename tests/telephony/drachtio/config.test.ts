/** The drachtio edge's configuration: every missing setting named at boot, empty compose values treated as unset. */
import { describe, expect, it } from 'vitest';
import { loadConfig, requireDrachtioConfig } from '../../../app/config';
import { drachtioEdgeFromConfig } from '../../../app/telephony-drachtio';

const deps = { credentials: { ha1: async () => null }, realm: 'hotline', recordingsDir: './data/recordings', redis: null };

describe('drachtio edge configuration', () => {
  it('names every missing setting when TELEPHONY_EDGE=drachtio cannot run', () => {
    const config = loadConfig({ DRACHTIO_HOST: '', DRACHTIO_SECRET: '', RTPENGINE_HOST: '' } as NodeJS.ProcessEnv);
    expect(() => requireDrachtioConfig(config)).toThrow(/TELEPHONY_EDGE=drachtio needs\n {2}DRACHTIO_HOST .*\n {2}DRACHTIO_SECRET .*\n {2}RTPENGINE_HOST /);
    expect(() => drachtioEdgeFromConfig(config, deps)).toThrow(/DRACHTIO_HOST/);
  });

  it('reads a complete production setting', () => {
    const config = loadConfig({
      DRACHTIO_HOST: 'drachtio', DRACHTIO_SECRET: 's3cret', RTPENGINE_HOST: '172.30.0.1', RTPENGINE_PORT: '22232',
      RTPENGINE_DTMF_LISTEN: '0.0.0.0:22233', RTPENGINE_RECORDING_DIR: '/rtpengine', SIP_TRUSTED_SOURCES: '10.1.1.1, 10.1.1.2',
    } as NodeJS.ProcessEnv);
    expect(requireDrachtioConfig(config)).toMatchObject({
      host: 'drachtio', port: 9022, secret: 's3cret', rtpengine: { host: '172.30.0.1', port: 22232 },
      dtmfListen: { host: '0.0.0.0', port: 22233 }, rtpengineRecordingDir: '/rtpengine',
      inviteLimit: { perSecond: 5, burst: 20, exempt: ['10.1.1.1', '10.1.1.2'] },
    });
    expect(drachtioEdgeFromConfig(config, deps).kind).toBe('drachtio');
  });

  it('takes rtpengine’s caller and agent interface names together or not at all', () => {
    expect(() => loadConfig({ RTPENGINE_CALLER_INTERFACE: 'carrier' } as NodeJS.ProcessEnv)).toThrow(/set both RTPENGINE_CALLER_INTERFACE and RTPENGINE_AGENT_INTERFACE/);
    expect(loadConfig({ RTPENGINE_CALLER_INTERFACE: 'carrier', RTPENGINE_AGENT_INTERFACE: 'agents' } as NodeJS.ProcessEnv).drachtio.rtpengine.interfaces).toEqual({ caller: 'carrier', agent: 'agents' });
    expect(loadConfig({} as NodeJS.ProcessEnv).drachtio.rtpengine.interfaces).toBeNull();
  });

  it('needs the media fork’s address when a speech engine runs, and reads its ports', () => {
    const base = { DRACHTIO_HOST: 'drachtio', DRACHTIO_SECRET: 's3cret', RTPENGINE_HOST: '172.30.0.1' };
    const aws = { ...base, SPEECH_ENGINE: 'aws', AWS_REGION: 'cn-north-1' };
    expect(() => requireDrachtioConfig(loadConfig(aws as NodeJS.ProcessEnv))).toThrow(/TELEPHONY_EDGE=drachtio needs\n {2}RTPENGINE_FORK_ADDRESS .*SPEECH_ENGINE=aws/);
    expect(requireDrachtioConfig(loadConfig(base as NodeJS.ProcessEnv)).mediaFork.address).toBeNull(); // no engine: nothing to fork
    expect(requireDrachtioConfig(loadConfig({ ...aws, RTPENGINE_FORK_ADDRESS: '172.30.0.9', RTPENGINE_FORK_PORTS: '31000-31099' } as NodeJS.ProcessEnv)).mediaFork)
      .toEqual({ address: '172.30.0.9', listen: '0.0.0.0', ports: { min: 31000, max: 31099 } });
    expect(requireDrachtioConfig(loadConfig({ ...aws, TELEPHONY_PUBLIC_ADDRESS: '172.30.0.8' } as NodeJS.ProcessEnv)).mediaFork.address).toBe('172.30.0.8');
    expect(() => loadConfig({ RTPENGINE_FORK_PORTS: '31000' } as NodeJS.ProcessEnv)).toThrow(/RTPENGINE_FORK_PORTS/);
  });

  it('refuses a malformed DTMF listen address and turns DTMF off on request', () => {
    expect(() => loadConfig({ RTPENGINE_DTMF_LISTEN: '22223' } as NodeJS.ProcessEnv)).toThrow(/RTPENGINE_DTMF_LISTEN/);
    expect(loadConfig({ RTPENGINE_DTMF_LISTEN: 'off' } as NodeJS.ProcessEnv).drachtio.dtmfListen).toBeNull();
  });
});
