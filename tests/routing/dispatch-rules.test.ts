import { describe, expect, it } from 'vitest';
import { decidePlan, type PlanFacts, type UnitBrief } from '../../routing/dispatch/domain/plan';

const unit = (code: string, name: string): UnitBrief => ({ id: `id-${code}`, code, name });
const water = unit('util-water', '自来水公司');
const cgj = unit('dept-cgj', '城管局');
const scj = unit('dept-scjg', '市场监管局');
const street = unit('st-990102001', '滨江街道办事处');
const district = unit('dist-9901', '江北区人民政府');

const base: PlanFacts = {
  type: 'complaint',
  urgency: 'normal',
  category: { code: '0203', name: '占道经营', pathCodes: ['02', '0203'], pathNames: ['市容环境', '占道经营'], utility: false },
  categorySource: 'given',
  categoryConfidence: 1,
  territory: { id: 't', name: '滨江社区', level: 'community', confidence: 0.9 },
  functionMatches: [],
  firstAskedUnit: null,
  alreadyHandlingUnit: null,
  territorialUnits: { street, district },
  knowledgeAnswer: null,
  urgentCategoryCodes: [],
};
const fn = (lead: UnitBrief, co: UnitBrief[] = [], score = 1) => ({ itemId: `i-${lead.code}`, itemCode: `R-${lead.code}`, versionId: 'v1', lead, coUnits: co, why: 'category', score });

describe('dispatch rules (按职能划分、按首问负责、按属地兜底)', () => {
  it('(a) by function: the responsibility-list item decides, co-handlers kept', () => {
    const p = decidePlan({ ...base, functionMatches: [fn(cgj, [scj])] });
    expect(p).toMatchObject({ rule: 'by_function', action: 'dispatch', lead: cgj, coUnits: [scj], responsibility: { itemCode: 'R-dept-cgj', versionId: 'v1' } });
    expect(p.explanation.at(-1)!.zh).toContain('责任清单');
  });

  it('(b) first responder: shared function, the unit asked first leads and the others co-handle', () => {
    const p = decidePlan({ ...base, functionMatches: [fn(cgj), fn(scj)], firstAskedUnit: scj });
    expect(p).toMatchObject({ rule: 'first_responder', lead: scj, coUnits: [cgj] });
  });

  it('(b) first responder: the unit already handling the same problem here leads', () => {
    const p = decidePlan({ ...base, functionMatches: [fn(cgj), fn(scj)], alreadyHandlingUnit: scj, firstAskedUnit: cgj });
    expect(p.lead).toEqual(scj);
    expect(p.explanation.at(-1)!.en).toContain('already handling');
  });

  it('(b) a first-asked unit outside the shared function does not take the lead', () => {
    const p = decidePlan({ ...base, functionMatches: [fn(cgj), fn(scj)], firstAskedUnit: water });
    expect(p).toMatchObject({ rule: 'by_function', lead: cgj });
  });

  it('(c) territory fallback: no function fits → the street of the place, then the district', () => {
    expect(decidePlan(base)).toMatchObject({ rule: 'territory_fallback', lead: street });
    expect(decidePlan({ ...base, territorialUnits: { street: null, district } })).toMatchObject({ rule: 'territory_fallback', lead: district });
  });

  it('(d) a utility emergency goes straight to the company', () => {
    const p = decidePlan({
      ...base, type: 'help', urgency: 'emergency',
      category: { code: '0101', name: '停水', pathCodes: ['01', '0101'], pathNames: ['水电气暖', '停水'], utility: true },
      functionMatches: [fn(water)], firstAskedUnit: street,
    });
    expect(p).toMatchObject({ rule: 'urgent', lead: water });
  });

  it('(d) a city-designated urgent category (海口: tourism complaints) goes straight to its unit when urgent', () => {
    const tourism = { code: '0801', name: '旅游投诉', pathCodes: ['08', '0801'], pathNames: ['商贸旅游', '旅游投诉'], utility: false };
    const wly = unit('dept-wlj', '文旅局');
    expect(decidePlan({ ...base, urgency: 'urgent', category: tourism, functionMatches: [fn(wly)], urgentCategoryCodes: ['0801'] }).rule).toBe('urgent');
    expect(decidePlan({ ...base, urgency: 'normal', category: tourism, functionMatches: [fn(wly)], urgentCategoryCodes: ['0801'] }).rule).toBe('by_function');
  });

  it('(e) a consultation the knowledge base answers is answered on the spot', () => {
    const p = decidePlan({ ...base, type: 'consultation', knowledgeAnswer: { articleId: 'kb1', question: '社保卡如何补办？', score: 9.1 }, functionMatches: [fn(cgj)] });
    expect(p).toMatchObject({ rule: 'answer_on_spot', action: 'answer_on_spot', knowledgeArticleId: 'kb1', lead: null });
    // The same article does not turn a complaint into a consultation.
    expect(decidePlan({ ...base, knowledgeAnswer: { articleId: 'kb1', question: 'q', score: 9 }, functionMatches: [fn(cgj)] }).rule).toBe('by_function');
  });

  it('says what is missing instead of guessing', () => {
    const p = decidePlan({ ...base, category: null, categorySource: 'none', territory: null, territorialUnits: { street: null, district: null } });
    expect(p).toMatchObject({ rule: 'undetermined', action: 'manual', lead: null });
    expect(p.missing).toEqual(['category', 'territory']);
  });
});
