import { describe, it, expect } from 'vitest';
import { concatUdh, decodeUcs2, encodeGsm7, encodeUcs2, findConcat, gsmDecodedToAscii, parseReceipt, submitError } from '../../sms/gateways/smpp-codec';

describe('SMPP codec', () => {
  it('reads the receipt text: id, stat, err and the done date in China time', () => {
    const r = parseReceipt('id:0a1b2c sub:001 dlvrd:001 submit date:2510091200 done date:2510091201 stat:DELIVRD err:000 text:您好');
    expect(r).toEqual({ id: '0a1b2c', stat: 'DELIVRD', err: '000', state: 'delivered', doneAt: new Date('2025-10-09T04:01:00Z') });
  });

  it('maps the stat words: DELIVRD, EXPIRED, the failures, and intermediate reports as null', () => {
    const state = (stat: string) => parseReceipt(`id:1 stat:${stat} err:001`)!.state;
    expect(['DELIVRD', 'EXPIRED', 'UNDELIV', 'REJECTD', 'DELETED', 'UNKNOWN', 'ENROUTE', 'ACCEPTD'].map(state))
      .toEqual(['delivered', 'expired', 'failed', 'failed', 'failed', 'failed', null, null]);
  });

  it('prefers the receipted_message_id and message_state TLVs to the text', () => {
    const r = parseReceipt('id:123 stat:DELIVRD err:000', { receiptedMessageId: '7b', messageState: 5 });
    expect(r).toMatchObject({ id: '7b', stat: 'UNDELIV', state: 'failed' });
    expect(parseReceipt('stat:DELIVRD')).toBeNull();
  });

  it('encodes UCS2 big-endian, surrogate pairs included, and the 6-byte concatenation UDH', () => {
    expect([...encodeUcs2('中A')]).toEqual([0x4e, 0x2d, 0x00, 0x41]);
    expect(decodeUcs2(encodeUcs2('𠀀好'))).toBe('𠀀好');
    expect([...concatUdh(300, 3, 2)]).toEqual([0x05, 0x00, 0x03, 44, 3, 2]);
    expect(findConcat([Buffer.from([0x00, 0x03, 9, 3, 1])])).toEqual({ ref: 9, total: 3, seq: 1 });
    expect(findConcat([Buffer.from([0x08, 0x04, 0x01, 0x02, 2, 2])])).toEqual({ ref: 0x0102, total: 2, seq: 2 });
    expect(findConcat([])).toBeNull();
  });

  it('encodes GSM 7-bit unpacked, extension characters behind the escape', () => {
    expect([...encodeGsm7('@A€_')]).toEqual([0x00, 0x41, 0x1b, 0x65, 0x11]);
    expect(gsmDecodedToAscii('id:¡x§')).toBe('id:@x_');
  });

  it('maps submit statuses to retryable or final GatewayErrors', () => {
    expect(submitError(0x58)).toMatchObject({ code: 'SMPP_THROTTLED', retryable: true });
    expect(submitError(0x14)).toMatchObject({ code: 'SMPP_QUEUE_FULL', retryable: true });
    expect(submitError(0x0b)).toMatchObject({ code: 'SMPP_REJECTED_0B', retryable: false });
    expect(submitError(0x0a)).toMatchObject({ code: 'SMPP_REJECTED_0A', retryable: false });
    expect(submitError(0x104)).toMatchObject({ code: 'SMPP_REJECTED_104', retryable: false });
  });
});
