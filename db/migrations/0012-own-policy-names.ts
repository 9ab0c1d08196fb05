import type { Kysely } from 'kysely';

/**
 * A city's time-limit policies name the city's own rules (时限规则), not the city a preset was taken
 * from: the product's presets (cities/presets/time-limits/) named each policy with a suffix such as
 * 「（诸城）」, and a city that follows a preset — the demo city follows 诸城's rules — showed another
 * city's name in its plan and deadline text. The presets no longer carry it; this renames the rows a
 * city imported from them before. Only a name that is exactly a preset's old name is changed: a
 * city's own wording (its own time-limit-policies.json) is left as it is.
 */
const RENAMED: readonly (readonly [string, string])[] = [
  ['一般事项：2小时内签收，3个工作日内办结反馈（诸城）', '一般事项：2小时内签收，3个工作日内办结反馈'],
  ['复杂事项：2小时内签收，5个工作日内办结反馈（诸城）', '复杂事项：2小时内签收，5个工作日内办结反馈'],
  ['简单事项：2小时内到场，1个工作日内办结反馈（诸城）', '简单事项：2小时内到场，1个工作日内办结反馈'],
  ['水电气暖：1小时内到场，1个工作日内办结反馈（诸城）', '水电气暖：1小时内到场，1个工作日内办结反馈'],
  ['紧急事项：1小时内签收并到场（诸城）', '紧急事项：1小时内签收并到场'],
  ['非紧急事项：30分钟内签收，3个工作日内办结反馈（海口）', '非紧急事项：30分钟内签收，3个工作日内办结反馈'],
  ['复杂事项：30分钟内签收，5个工作日内办结反馈（海口）', '复杂事项：30分钟内签收，5个工作日内办结反馈'],
  ['咨询类：24小时内答复群众（海口）', '咨询类：24小时内答复群众'],
  ['建议类：24小时内答复群众（海口）', '建议类：24小时内答复群众'],
  ['投诉类：48小时内答复群众（海口）', '投诉类：48小时内答复群众'],
  ['紧急事项：30分钟内响应到场（海口）', '紧急事项：30分钟内响应到场'],
  ['水电气：30分钟内响应到场（海口）', '水电气：30分钟内响应到场'],
  ['紧急突发：30分钟内响应到场（海口）', '紧急突发：30分钟内响应到场'],
  ['一般事项：中心1个工作日内派单，3个工作日内办结（寿光）', '一般事项：中心1个工作日内派单，3个工作日内办结'],
  ['复杂事项：中心1个工作日内派单，5个工作日内办结（寿光）', '复杂事项：中心1个工作日内派单，5个工作日内办结'],
  ['紧急事项：中心4个工作小时内派单，1个工作日内办结（寿光）', '紧急事项：中心4个工作小时内派单，1个工作日内办结'],
  ['水电气暖：即时派单，1小时内签收、2小时内到场，1个工作日内办结（寿光，到场时限为本系统默认）', '水电气暖：即时派单，1小时内签收、2小时内到场，1个工作日内办结（到场时限为本系统默认）'],
  ['紧急突发：即时派单，1小时内签收并到场（寿光，到场时限为本系统默认）', '紧急突发：即时派单，1小时内签收并到场（到场时限为本系统默认）'],
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const [from, to] of RENAMED) await db.updateTable('time_limit_policies').set({ name: to }).where('name', '=', from).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  // The new names are distinct, so each goes back to the one old name it came from.
  for (const [from, to] of RENAMED) await db.updateTable('time_limit_policies').set({ name: from }).where('name', '=', to).execute();
}
