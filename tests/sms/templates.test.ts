/**
 * The texts: every default template renders in Chinese with the city's signature first; a city
 * overrides a template or turns it off; long titles are cut so a unit's notice stays short; times read
 * as China time; how many parts a text takes (70/67 UCS2, 160/153 GSM); and what a text into the
 * hotline says (commands, survey answers, 退订), typed the way phones type it.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TEMPLATES, renderText, invalidTemplates, planSegments, splitText, readInboundText, notBeforeQuietEnd } from '../../sms';
import { defaultSignature } from '../../app/sms-ports';
import { parsePreset } from '../../app/city-preset';

const city = { signature: '【演示市12345】', templates: {} };

describe('templates', () => {
  it('every default renders, signature first, with no handlebars left over', () => {
    for (const kind of Object.keys(DEFAULT_TEMPLATES)) {
      const text = renderText(kind, { ticketNumber: '20251009-0001', title: '噪音', place: '滨江路1号', actBy: '2025-10-09T12:00:00+08:00', code: '123456', result: '已处理', reason: '材料不全', detail: '签收' }, city)!;
      expect(text.startsWith('【演示市12345】'), kind).toBe(true);
      expect(text, kind).not.toMatch(/\{\{|\}\}/);
    }
  });

  it('a unit\'s notice names the place, the deadline in China time and the code, and cuts a long title', () => {
    const text = renderText('workorder.dispatched', { ticketNumber: 'T1', title: '长'.repeat(60), place: '滨江路1号', actBy: '2025-10-09T04:00:00Z', code: '654321', urgencyZh: '紧急' }, city)!;
    expect(text).toContain('【紧急】');
    expect(text).toContain('10月9日12:00前签收');
    expect(text).toContain('签收 654321');
    expect(text).toContain('长'.repeat(23) + '…');
    expect(planSegments(text).parts).toBeLessThanOrEqual(3);
  });

  it('a city overrides a template, or turns it off with an empty one; a broken one is found at import', () => {
    const own = { signature: '【诸城12345】', templates: { 'ticket.receipt': '已受理，编号{{ticketNumber}}。', 'callback.survey': '' } };
    expect(renderText('ticket.receipt', { ticketNumber: 'A1' }, own)).toBe('【诸城12345】已受理，编号A1。');
    expect(renderText('callback.survey', { ticketNumber: 'A1' }, own)).toBeNull();
    expect(renderText('no.such.kind', {}, own)).toBeNull();
    expect(invalidTemplates({ good: '{{ticketNumber}}', bad: '{{#if x}}unclosed' }).map((b) => b.kind)).toEqual(['bad']);
  });

  it('texts are not HTML: a title with & and < goes as written', () => {
    expect(renderText('ticket.receipt', { ticketNumber: 'A&B<1>' }, city)).toContain('A&B<1>');
  });

  it('the signature from the city\'s name when the preset gives none', () => {
    expect(defaultSignature('演示市 (Demo City)')).toBe('【演示市12345】');
    expect(defaultSignature('诸城市（潍坊）')).toBe('【诸城市12345】');
  });
});

describe('parts', () => {
  it('70 Chinese characters are one part, 71 are two of at most 67', () => {
    expect(planSegments('字'.repeat(70))).toMatchObject({ encoding: 'ucs2', parts: 1, perPart: 70 });
    expect(planSegments('字'.repeat(71))).toMatchObject({ encoding: 'ucs2', parts: 2, perPart: 67 });
    expect(splitText('字'.repeat(150)).map((p) => p.length)).toEqual([67, 67, 16]);
  });

  it('GSM text holds 160, then 153 a part; an emoji is never split', () => {
    expect(planSegments('a'.repeat(160))).toMatchObject({ encoding: 'gsm7', parts: 1 });
    expect(planSegments('a'.repeat(161))).toMatchObject({ encoding: 'gsm7', parts: 2, perPart: 153 });
    const parts = splitText('字'.repeat(66) + '😀' + '字'.repeat(10));
    expect(parts[0]).toBe('字'.repeat(66));
    expect(parts.join('')).toBe('字'.repeat(66) + '😀' + '字'.repeat(10));
    expect(planSegments('')).toMatchObject({ parts: 0 });
  });
});

describe('what a text into the hotline says', () => {
  it('commands with a code, typed with full-width digits, colons or no space', () => {
    expect(readInboundText('签收 123456')).toEqual({ kind: 'command', action: 'acknowledge', code: '123456', text: null });
    expect(readInboundText('签收１２３４５６')).toEqual({ kind: 'command', action: 'acknowledge', code: '123456', text: null });
    expect(readInboundText('办结：123456，已清理完毕')).toEqual({ kind: 'command', action: 'reply', code: '123456', text: '已清理完毕' });
    expect(readInboundText('qs 123456')).toMatchObject({ kind: 'command', action: 'acknowledge' });
    expect(readInboundText('退回 123456 不属于本单位职责')).toMatchObject({ kind: 'command', action: 'return', text: '不属于本单位职责' });
  });

  it('a command without its code, or 办结 without the result, is malformed', () => {
    expect(readInboundText('签收')).toEqual({ kind: 'malformed_command', action: 'acknowledge' });
    expect(readInboundText('办结 123456')).toEqual({ kind: 'malformed_command', action: 'reply' });
    expect(readInboundText('签收 12345')).toEqual({ kind: 'malformed_command', action: 'acknowledge' });
  });

  it('survey answers and 退订; anything else is a request', () => {
    expect(readInboundText('1')).toEqual({ kind: 'survey', satisfaction: 'satisfied' });
    expect(readInboundText('２')).toEqual({ kind: 'survey', satisfaction: 'basically_satisfied' });
    expect(readInboundText('不满意。')).toEqual({ kind: 'survey', satisfaction: 'unsatisfied' });
    expect(readInboundText('td')).toEqual({ kind: 'opt_out' });
    expect(readInboundText('退订')).toEqual({ kind: 'opt_out' });
    expect(readInboundText('1号楼的路灯坏了')).toEqual({ kind: 'free_text' });
  });
});

describe('quiet hours (21:00–08:00 China time)', () => {
  const quiet = { startMinute: 21 * 60, endMinute: 8 * 60 };
  it('inside: held to 08:00; outside: at once; none configured: at once', () => {
    expect(notBeforeQuietEnd(new Date('2025-10-09T13:30:00Z'), quiet).toISOString()).toBe('2025-10-10T00:00:00.000Z'); // 21:30 → 08:00 next day
    expect(notBeforeQuietEnd(new Date('2025-10-09T19:00:00Z'), quiet).toISOString()).toBe('2025-10-10T00:00:00.000Z'); // 03:00 → 08:00
    expect(notBeforeQuietEnd(new Date('2025-10-09T02:00:00Z'), quiet).toISOString()).toBe('2025-10-09T02:00:00.000Z'); // 10:00
    expect(notBeforeQuietEnd(new Date('2025-10-09T13:30:00Z'), null).toISOString()).toBe('2025-10-09T13:30:00.000Z');
  });
});

describe('a city preset\'s SMS settings', () => {
  const cityJson = (sms: unknown) => JSON.stringify({
    id: 'smscity', name: '短信市', isDemo: false,
    settings: { officeHours: { seasons: [{ from: '01-01', to: '12-31', periods: [['08:30', '12:00']] }] }, timeLimitPreset: 'zhucheng', returnWindowHours: 24, sms },
  }, null, 2);
  const cityProblems = (sms: unknown) => {
    const r = parsePreset({ 'city.json': cityJson(sms) });
    return r.ok ? [] : r.problems.filter((p) => p.file === 'city.json');
  };

  it('a template that does not compile, or a signature without 【】, is refused with its field', () => {
    expect(cityProblems({ templates: { 'ticket.receipt': '{{#if ticketNumber}}编号' } })).toEqual([
      expect.objectContaining({ field: 'settings.sms.templates.ticket.receipt', messageZh: expect.stringContaining('短信模板 ticket.receipt 有语法错误') }),
    ]);
    expect(cityProblems({ signature: '短信市12345' })).toEqual([expect.objectContaining({ field: 'settings.sms.signature' })]);
    expect(cityProblems({ signature: '【短信市12345】', templates: { 'ticket.receipt': '编号{{ticketNumber}}' } })).toEqual([]);
  });
});
