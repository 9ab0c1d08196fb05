/**
 * Routing (分类与派单): the 4-level category tree, the classifier that suggests categories, territory
 * resolution, the responsibility list, the knowledge base behind answers on the spot, and the dispatch
 * rules that turn them into a plan (按职能划分、按首问负责、按属地兜底).
 */
export {
  replaceCategoriesIn, listCategories, getCategory, MAX_CATEGORY_LEVEL,
  type Category, type CategoryInput, type CategoryChanges,
} from './categories/categories';
export * from './territory';
export { createRoutingService, CLASSIFIER_CONFIDENCE_FLOOR, type RoutingService, type RoutePlan, type PlanRequest, type PlanCategory } from './dispatch/routing.service';
export { decidePlan, DispatchRule, DISPATCH_RULE_ZH, type PlanFacts, type PlanDecision, type UnitBrief, type FunctionMatch } from './dispatch/domain/plan';
export type { RoutingPorts, CategoryNode, ClassifierSuggestion, TerritoryResolution, ResponsibilityHit, PolicyBrief } from './dispatch/ports';
export { routingRoutes, RoutePlanSchema, type RoutingRoutesOptions } from './dispatch/routing.routes';
export * from './responsibility';
export * from './knowledge';
export * from './classifier';
