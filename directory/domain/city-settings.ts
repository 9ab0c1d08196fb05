/**
 * A city's settings (城市参数): office hours by season, which time-limit preset its rules follow, and
 * the windows the workflow reads. Where cities differ, the rule is a setting and each city ships a
 * preset (see DOMAIN.md). Stored as JSON on the city row; keys this schema does not name are kept
 * for the parts that read them.
 */
import { z } from 'zod';
import { officeHoursSchema } from '../../calendar';

/** The presets of time limits the product knows (诸城 网格呼叫, 海口 直通联办, 寿光 鄉呼縣應). */
export const TimeLimitPreset = { zhucheng: 'zhucheng', haikou: 'haikou', shouguang: 'shouguang' } as const;
export type TimeLimitPreset = (typeof TimeLimitPreset)[keyof typeof TimeLimitPreset];

export const CitySettings = z.looseObject({
  /** 作息时间 by season; the calendar's schema, so whatever the import accepts the clock can compute on. */
  officeHours: officeHoursSchema,
  timeLimitPreset: z.enum(TimeLimitPreset),
  /** How long after dispatch a unit may still return (退回) a ticket that is not its own. */
  returnWindowHours: z.number().positive().max(24 * 30),
  /** Categories (and their branches) that go straight to their unit when urgent (海口: tourism complaints). */
  urgentCategoryCodes: z.array(z.string().min(1).max(32)).max(500).optional(),
  /** 回访: how many times the citizen is asked before the ticket closes without an answer (default 3). */
  callbackAttempts: z.number().int().min(1).max(10).optional(),
  /** 回访: hours between two attempts (default 24). */
  callbackIntervalHours: z.number().positive().max(24 * 7).optional(),
  /**
   * 短信: the operator's registered signature (e.g. 【诸城12345】; default 【<city>12345】) and templates
   * overriding the product's (handlebars; an empty string turns that text off). See sms/domain/templates.ts.
   */
  sms: z.strictObject({
    signature: z.string().regex(/^【[^【】]{2,16}】$/, 'the signature in 【】, 2–16 characters, e.g. 【诸城12345】').optional(),
    templates: z.record(z.string().regex(/^[a-z_]+\.[a-z_]+$/), z.string().max(500)).optional(),
  }).optional(),
});
export type CitySettings = z.infer<typeof CitySettings>;
