/**
 * The dispatch rules (派单规则), pure: given what is known about a ticket, decide who handles it and
 * why, in the order the rules are applied —
 *   (e) 即办: a consultation a published knowledge article answers is answered on the spot;
 *   (d) 水电气暖 and other urgent matters go straight to the unit with the urgent policy;
 *   (a) 按职能划分: the responsibility-list item for the category/situation at the place;
 *   (b) 按首问负责: where several units share the function, the first unit asked (or the unit already
 *       handling the same problem at the same place) leads and the others co-handle;
 *   (c) 按属地兜底: no function fits → the town/street of the place, then the district.
 * Every step that decided something is recorded in the explanation, in Chinese and English.
 */

export const DispatchRule = {
  answerOnSpot: 'answer_on_spot', // 即办
  urgent: 'urgent', // 紧急直派 (水电气暖/旅游投诉等)
  byFunction: 'by_function', // 按职能划分
  firstResponder: 'first_responder', // 按首问负责
  territoryFallback: 'territory_fallback', // 按属地兜底
  undetermined: 'undetermined', // 无法确定 (what is missing is said)
} as const;
export type DispatchRule = (typeof DispatchRule)[keyof typeof DispatchRule];

export const DISPATCH_RULE_ZH: Record<DispatchRule, string> = {
  answer_on_spot: '即办答复',
  urgent: '紧急直派',
  by_function: '按职能划分',
  first_responder: '按首问负责',
  territory_fallback: '按属地兜底',
  undetermined: '待人工确定',
};

export interface UnitBrief {
  id: string;
  code: string;
  name: string;
}

/** A responsibility-list item that fits the ticket, with its acting units already resolved to units. */
export interface FunctionMatch {
  itemId: string;
  itemCode: string;
  versionId: string;
  lead: UnitBrief;
  coUnits: UnitBrief[];
  /** Why it fits: exact category, an ancestor category, keywords hit. */
  why: string;
  score: number;
}

export interface PlanFacts {
  type: string;
  urgency: string;
  category: { code: string; name: string; pathCodes: string[]; pathNames: string[]; utility: boolean } | null;
  /** Where the category came from and how sure that is. */
  categorySource: 'given' | 'classifier' | 'none';
  categoryConfidence: number;
  territory: { id: string; name: string; level: string; confidence: number } | null;
  /** Items of the responsibility list that fit, best first. */
  functionMatches: FunctionMatch[];
  /** The unit the citizen (or grid member) asked first, e.g. through a merged legacy hotline (首问). */
  firstAskedUnit: UnitBrief | null;
  /** A unit already handling the same problem at the same place (open duplicate). */
  alreadyHandlingUnit: UnitBrief | null;
  /** The territorial units of the place: street office, then district government. */
  territorialUnits: { street: UnitBrief | null; district: UnitBrief | null };
  /** The best knowledge-base answer, only when it is published, valid and confident. */
  knowledgeAnswer: { articleId: string; question: string; score: number } | null;
  /** Ticket types that the city treats as urgent (e.g. 海口: tourism complaints). */
  urgentCategoryCodes: string[];
}

export interface PlanDecision {
  rule: DispatchRule;
  action: 'answer_on_spot' | 'dispatch' | 'manual';
  lead: UnitBrief | null;
  coUnits: UnitBrief[];
  responsibility: { itemId: string; itemCode: string; versionId: string } | null;
  knowledgeArticleId: string | null;
  /** Steps of the reasoning, in order, in both languages. */
  explanation: { zh: string; en: string }[];
  /** What a person must still supply before this can be dispatched. */
  missing: string[];
}

const uniqueUnits = (units: UnitBrief[], exclude: string | null) => {
  const seen = new Set<string>(exclude ? [exclude] : []);
  return units.filter((u) => (seen.has(u.id) ? false : (seen.add(u.id), true)));
};

export function decidePlan(f: PlanFacts): PlanDecision {
  const explanation: PlanDecision['explanation'] = [];
  const say = (zh: string, en: string) => explanation.push({ zh, en });
  const missing: string[] = [];

  if (f.category) {
    const src = f.categorySource === 'given' ? '坐席选定' : `分类模型建议（置信度 ${f.categoryConfidence.toFixed(2)}）`;
    say(`分类：${f.category.pathNames.join(' / ')}（${src}）`, `category ${f.category.code} ${f.category.pathNames.join(' / ')} (${f.categorySource}, confidence ${f.categoryConfidence.toFixed(2)})`);
  } else {
    missing.push('category');
    say('未能确定分类，需坐席选择', 'no category could be determined: the agent must choose one');
  }
  if (f.territory) say(`属地：${f.territory.name}（置信度 ${f.territory.confidence.toFixed(2)}）`, `place resolved to ${f.territory.name} (${f.territory.level}, confidence ${f.territory.confidence.toFixed(2)})`);
  else {
    missing.push('territory');
    say('地址未能定位到区域', 'the address did not resolve to a territory');
  }

  // (e) 即办: a consultation that a published, valid article answers with confidence.
  if (f.type === 'consultation' && f.knowledgeAnswer) {
    say(`知识库可直接答复：「${f.knowledgeAnswer.question}」`, `the knowledge base answers it: "${f.knowledgeAnswer.question}" (score ${f.knowledgeAnswer.score.toFixed(2)})`);
    return { rule: 'answer_on_spot', action: 'answer_on_spot', lead: null, coUnits: [], responsibility: null, knowledgeArticleId: f.knowledgeAnswer.articleId, explanation, missing: [] };
  }

  const best = f.functionMatches[0] ?? null;
  const responsibility = best ? { itemId: best.itemId, itemCode: best.itemCode, versionId: best.versionId } : null;

  // (d) 水电气暖 and city-designated urgent matters go straight to the responsible company/unit.
  const urgentCategory = !!f.category && (f.category.utility || f.category.pathCodes.some((c) => f.urgentCategoryCodes.includes(c)));
  if (urgentCategory && best && (f.urgency !== 'normal' || f.category!.utility)) {
    say(
      f.category!.utility ? `水电气暖类紧急诉求，直派${best.lead.name}` : `城市规定的紧急类别，直派${best.lead.name}`,
      `${f.category!.utility ? 'utility emergency' : 'city-designated urgent category'}: straight to ${best.lead.name} (${best.why})`,
    );
    return { rule: 'urgent', action: 'dispatch', lead: best.lead, coUnits: uniqueUnits(best.coUnits, best.lead.id), responsibility, knowledgeArticleId: null, explanation, missing: [] };
  }

  if (best) {
    // Several units share the function: the first asked, or the one already on it, leads (首问负责).
    const sharing = uniqueUnits(f.functionMatches.filter((m) => m.score >= best.score - 1e-9).flatMap((m) => [m.lead, ...m.coUnits]), null);
    const first = [f.alreadyHandlingUnit, f.firstAskedUnit].find((u) => u && sharing.some((s) => s.id === u.id)) ?? null;
    if (sharing.length > 1 && first) {
      const why = first.id === f.alreadyHandlingUnit?.id ? '已在办理同一地点同一问题' : '群众首先求助的单位';
      say(`多个单位职能交叉，由${first.name}（${why}）牵头，其他单位协办`, `functions overlap: ${first.name} leads (${first.id === f.alreadyHandlingUnit?.id ? 'already handling the same problem here' : 'the unit asked first'}), the others co-handle`);
      return { rule: 'first_responder', action: 'dispatch', lead: first, coUnits: uniqueUnits(sharing, first.id), responsibility, knowledgeArticleId: null, explanation, missing: [] };
    }
    say(`按责任清单 ${best.itemCode}：${best.lead.name}主办${best.coUnits.length ? `，${best.coUnits.map((u) => u.name).join('、')}协办` : ''}`, `responsibility list item ${best.itemCode}: ${best.lead.name} leads (${best.why})`);
    return { rule: 'by_function', action: 'dispatch', lead: best.lead, coUnits: uniqueUnits(best.coUnits, best.lead.id), responsibility, knowledgeArticleId: null, explanation, missing: [] };
  }

  // (c) 属地兜底: the street of the place, then its district.
  const fallback = f.territorialUnits.street ?? f.territorialUnits.district;
  if (fallback) {
    say(`责任清单无对应职能，按属地由${fallback.name}兜底`, `no responsibility-list item fits: the territory takes it (${fallback.name})`);
    return { rule: 'territory_fallback', action: 'dispatch', lead: fallback, coUnits: [], responsibility: null, knowledgeArticleId: null, explanation, missing: [] };
  }
  say('无法确定承办单位：请补充分类或地址，或由派单员指定', 'no handling unit could be determined: add the category or address, or a dispatcher decides');
  return { rule: 'undetermined', action: 'manual', lead: null, coUnits: [], responsibility: null, knowledgeArticleId: null, explanation, missing: missing.length ? missing : ['handlingUnit'] };
}
