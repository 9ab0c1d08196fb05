/**
 * Queues (队列) and skills (技能组): a queue per skill; a call waits in the queue of its line's skill
 * and an agent takes calls of the skills they hold. The settings of each queue come from the city's
 * settings (`telephony.queues` in city.json), overridden by the admin API, over the product defaults.
 */
import { z } from 'zod';

/** The skills every city has; a city may add its own (e.g. `dialect_minnan`). */
export const Skill = {
  general: 'general', // 综合
  businessEnvironment: 'business_environment', // 营商环境专席
  dialectForeign: 'dialect_foreign', // 方言/外语
} as const;
export type Skill = (typeof Skill)[keyof typeof Skill];

export const SKILL_ZH: Readonly<Record<string, string>> = {
  [Skill.general]: '综合',
  [Skill.businessEnvironment]: '营商环境专席',
  [Skill.dialectForeign]: '方言/外语',
};

/** A queue's rules (all times in seconds, as the city writes them). */
export interface QueueSettings {
  skill: string;
  name: string;
  /** How long an agent's phone rings before the call goes to the next agent (振铃超时). */
  ringTimeoutSeconds: number;
  /** After this wait the call may also go to the agents of `overflowTo` (溢出); null: never. */
  overflowAfterSeconds: number | null;
  overflowTo: string | null;
  /** After this wait the caller is offered a callback (最长等待 → 回拨). */
  maxWaitSeconds: number;
  /** The maximum wait when no agent of the queue is logged in at all (无坐席在线): shorter, no point waiting long. */
  noAgentMaxWaitSeconds: number;
}

const skillCode = z.string().regex(/^[a-z][a-z0-9_]{1,31}$/, 'a skill code: lower-case letters, digits, _');

export const QueueSettingsInput = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  ringTimeoutSeconds: z.number().int().min(5).max(120).optional(),
  overflowAfterSeconds: z.number().int().min(5).max(3600).nullable().optional(),
  overflowTo: skillCode.nullable().optional(),
  maxWaitSeconds: z.number().int().min(10).max(3600).optional(),
  noAgentMaxWaitSeconds: z.number().int().min(0).max(3600).optional(),
});
export type QueueSettingsInput = z.infer<typeof QueueSettingsInput>;

/** The `telephony` key of a city's settings (city.json). */
export const TelephonyCitySettings = z.looseObject({
  /** Per skill: the queue's settings over the defaults; a skill named here and not in {@link Skill} is a queue of its own. */
  queues: z.record(skillCode, QueueSettingsInput).optional(),
  /** DNIS of a merged legacy line → its skill, for lines whose skill the city names (e.g. 12345-2 营商环境). */
  lineSkills: z.record(z.string().regex(/^\d{3,20}$/), skillCode).optional(),
  /** Recordings are kept this many days, then deleted (录音保存期限). */
  recordingRetentionDays: z.number().int().min(1).max(3650).optional(),
});
export type TelephonyCitySettings = z.infer<typeof TelephonyCitySettings>;

export const DEFAULT_QUEUES: Readonly<Record<string, QueueSettings>> = {
  [Skill.general]: {
    skill: Skill.general, name: SKILL_ZH[Skill.general], ringTimeoutSeconds: 15, overflowAfterSeconds: null, overflowTo: null,
    maxWaitSeconds: 180, noAgentMaxWaitSeconds: 20,
  },
  // A business caller waits for the desk a minute, then any agent may take the call.
  [Skill.businessEnvironment]: {
    skill: Skill.businessEnvironment, name: SKILL_ZH[Skill.businessEnvironment], ringTimeoutSeconds: 15, overflowAfterSeconds: 60,
    overflowTo: Skill.general, maxWaitSeconds: 180, noAgentMaxWaitSeconds: 20,
  },
  [Skill.dialectForeign]: {
    skill: Skill.dialectForeign, name: SKILL_ZH[Skill.dialectForeign], ringTimeoutSeconds: 15, overflowAfterSeconds: 90,
    overflowTo: Skill.general, maxWaitSeconds: 180, noAgentMaxWaitSeconds: 20,
  },
};

/** The product defaults, then the city's settings, then the admin's overrides, per skill. */
export function mergeQueueSettings(
  city: TelephonyCitySettings | undefined,
  overrides: Record<string, QueueSettingsInput>,
): Record<string, QueueSettings> {
  const out: Record<string, QueueSettings> = {};
  const skills = new Set([...Object.keys(DEFAULT_QUEUES), ...Object.keys(city?.queues ?? {}), ...Object.keys(overrides)]);
  for (const skill of skills) {
    const base = DEFAULT_QUEUES[skill] ?? { ...DEFAULT_QUEUES[Skill.general]!, skill, name: skill, overflowAfterSeconds: 60, overflowTo: Skill.general };
    out[skill] = { ...base, ...stripUndefined(city?.queues?.[skill] ?? {}), ...stripUndefined(overrides[skill] ?? {}), skill } as QueueSettings;
  }
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
