/** SMS settings from the environment: gateways in order, each one's settings required, empty values from a compose file read as unset. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config';

const env = (e: Record<string, string>) => e as unknown as NodeJS.ProcessEnv;

describe('SMS configuration', () => {
  it('defaults to the log gateway, quiet hours 21:00–08:00', () => {
    const c = loadConfig(env({}));
    expect(c.sms.gateways).toEqual([{ kind: 'log', name: 'log', file: './data/sms-outbox.jsonl', ratePerSecond: 1000 }]);
    expect(c.sms.quietHours).toEqual({ startMinute: 21 * 60, endMinute: 8 * 60 });
    expect(loadConfig(env({ SMS_QUIET_HOURS: '' })).sms.quietHours).toBeNull();
  });

  it('a gateway named without its settings stops the start with the variable to set', () => {
    expect(() => loadConfig(env({ SMS_GATEWAYS: 'smpp,kannel' }))).toThrow(/SMS_SMPP_URL.*\n.*SMS_KANNEL_SENDSMS_URL/);
    expect(() => loadConfig(env({ SMS_GATEWAYS: 'smpp,carrier-pigeon' }))).toThrow(/SMS_GATEWAYS/);
    expect(() => loadConfig(env({ SMS_QUIET_HOURS: '9pm-8am' }))).toThrow(/SMS_QUIET_HOURS/);
    expect(() => loadConfig(env({ SMS_GATEWAYS: 'kannel', SMS_KANNEL_SENDSMS_URL: 'http://k/cgi-bin/sendsms', SMS_KANNEL_CALLBACK_TOKEN: 'short' }))).toThrow(/SMS_KANNEL_CALLBACK_TOKEN/);
  });

  it('SMPP credentials come from the URL (escaped), Kannel\'s dlr-url from the callback base and token; empty values are unset', () => {
    const c = loadConfig(env({
      SMS_GATEWAYS: 'smpp,kannel', SMS_SMPP_URL: 'smpp://hotline:p%40ss@smsc:2775', SMS_KANNEL_SENDSMS_URL: 'http://kannel:13013/cgi-bin/sendsms',
      SMS_KANNEL_CALLBACK_TOKEN: 'token-0123456789abcdef', SMS_CALLBACK_BASE_URL: 'http://app:3000/', SMS_WEBHOOK_URL: '',
    }));
    expect(c.sms.gateways.map((g) => g.kind)).toEqual(['smpp', 'kannel']);
    expect(c.sms.gateways[0]).toMatchObject({ url: 'smpp://smsc:2775', systemId: 'hotline', password: 'p@ss', sourceAddr: '12345' });
    expect(c.sms.gateways[1]).toMatchObject({ dlrUrl: 'http://app:3000/api/v1/sms/gateways/kannel/receipt?token=token-0123456789abcdef', callbackToken: 'token-0123456789abcdef' });
  });
});
