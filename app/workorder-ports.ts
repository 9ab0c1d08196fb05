/**
 * The work-order part's ports, over the directory, calendar and routing parts' public interfaces.
 * Category trees are cached per city for a minute (dropped at once after a city import).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { cachedPerKey } from '../core';
import { addTimeLimit, addWorkingMinutes, workingMinutesBetween, type CalendarService } from '../calendar';
import type { DirectoryService } from '../directory';
import { listCategories, type Category } from '../routing';
import type { WorkOrderLookups } from '../workorders';

const DEFAULT_CALLBACK_ATTEMPTS = 3;
const DEFAULT_CALLBACK_INTERVAL_HOURS = 24;

export function createWorkOrderLookups(d: { db: Kysely<DB>; directory: DirectoryService; calendar: CalendarService }): WorkOrderLookups & { forget(cityId?: string): void } {
  const tree = cachedPerKey(60_000, async (cityId) => new Map((await listCategories(d.db, cityId, { includeInactive: true })).map((c) => [c.id, c])));
  return {
    async cityClock(cityId) {
      const city = await d.calendar.cityCalendar(await d.directory.cityOfficeHours(cityId));
      return {
        addTimeLimit: (from, limit) => addTimeLimit(from, limit, city),
        addWorkingMinutes: (from, minutes) => addWorkingMinutes(from, minutes, city),
        workingMinutesBetween: (a, b) => workingMinutesBetween(a, b, city),
      };
    },
    async cityRules(cityId) {
      const s = (await d.directory.getCity(cityId)).settings;
      return {
        returnWindowHours: s.returnWindowHours,
        callbackAttempts: s.callbackAttempts ?? DEFAULT_CALLBACK_ATTEMPTS,
        callbackIntervalHours: s.callbackIntervalHours ?? DEFAULT_CALLBACK_INTERVAL_HOURS,
      };
    },
    async categoryFacts(cityId, categoryId) {
      if (!categoryId) return { categoryCodes: [], utility: false, policyCode: null };
      const byId = await tree(cityId);
      const node = byId.get(categoryId);
      if (!node) return { categoryCodes: [], utility: false, policyCode: null };
      const chain = node.path.split('/').filter(Boolean).map((id) => byId.get(id)).filter((c): c is Category => !!c);
      return { categoryCodes: chain.map((c) => c.code), utility: node.utility, policyCode: node.policyCode };
    },
    async unit(id) {
      const u = await d.directory.getUnit(id);
      return u ? { id: u.id, cityId: u.cityId, name: u.name, active: u.active } : null;
    },
    async territory(id) {
      const t = await d.directory.getTerritory(id);
      return t ? { id: t.id, cityId: t.cityId, path: t.path } : null;
    },
    forget(cityId) {
      tree.forget(cityId);
    },
  };
}
