/**
 * Pages by role. Each role lands in its workspace (homeRouteOf); a page a role may not use sends it
 * home. Workspaces load on demand, so an agent never downloads the supervisor's charts.
 */
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import type { Role } from '../api/types';
import { homeRouteOf, loadSession, session } from '../stores/session';

const CENTER: Role[] = ['agent', 'dispatcher', 'supervisor', 'admin'];
const UNIT: Role[] = ['unit_handler', 'unit_manager'];
const GRID: Role[] = ['grid_member', 'grid_leader', 'community_secretary', 'town_leader'];

declare module 'vue-router' {
  interface RouteMeta {
    roles?: Role[];
    /** i18n key of the menu entry and page title */
    title?: string;
    menu?: boolean;
    public?: boolean;
  }
}

export const workspaceRoutes: RouteRecordRaw[] = [
  { path: 'agent', name: 'agent', component: () => import('./AgentPage.vue'), meta: { roles: ['agent', 'dispatcher', 'supervisor', 'admin'], title: 'shell.menu.agent', menu: true } },
  { path: 'dispatch', name: 'dispatch', component: () => import('./DispatcherPage.vue'), meta: { roles: ['dispatcher', 'supervisor', 'admin'], title: 'shell.menu.dispatch', menu: true } },
  { path: 'unit', name: 'unit', component: () => import('./UnitPage.vue'), meta: { roles: UNIT, title: 'shell.menu.unit', menu: true } },
  { path: 'grid', name: 'grid', component: () => import('./GridPage.vue'), meta: { roles: GRID, title: 'shell.menu.grid', menu: true } },
  { path: 'supervise', name: 'supervise', component: () => import('./SupervisorPage.vue'), meta: { roles: ['supervisor', 'admin'], title: 'shell.menu.supervise', menu: true } },
  { path: 'tickets', name: 'tickets', component: () => import('./TicketsPage.vue'), meta: { roles: [...CENTER, ...UNIT], title: 'shell.menu.tickets', menu: true } },
  // A ticket's own page, by number (shareable; opened from search, notices and the live feed). Not a menu entry.
  { path: 'tickets/:number', name: 'ticket', component: () => import('./TicketPage.vue'), meta: { roles: [...CENTER, ...UNIT], title: 'tickets.page.title' } },
  { path: 'reports', name: 'reports', component: () => import('./ReportsPage.vue'), meta: { roles: ['dispatcher', 'supervisor', 'admin', ...UNIT], title: 'shell.menu.reports', menu: true } },
  // 通话转写检索: calls found by what was said (center roles; the server masks numbers per role).
  { path: 'transcripts', name: 'transcripts', component: () => import('./TranscriptSearchPage.vue'), meta: { roles: CENTER, title: 'speech.search.menu', menu: true } },
  // 楼栋二维码 (一码受理): the center's management and the grid staff print the codes of their territory's buildings.
  { path: 'qr-codes', name: 'qr-codes', component: () => import('./QrCodesPage.vue'), meta: { roles: ['dispatcher', 'supervisor', 'admin', ...GRID], title: 'shell.menu.qrCodes', menu: true } },
  // 系统管理: machine clients' keys (telephony and SMS gateways, wallboards); admins only.
  { path: 'admin/api-keys', name: 'api-keys', component: () => import('./ApiKeysPage.vue'), meta: { roles: ['admin'], title: 'shell.menu.apiKeys', menu: true } },
];

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('./LoginPage.vue'), meta: { public: true } },
  {
    path: '/',
    component: () => import('../components/layout/AppShell.vue'),
    children: [{ path: '', name: 'home', redirect: () => ({ name: homeRouteOf(session.user?.role) }) }, ...workspaceRoutes],
  },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./NotFoundPage.vue'), meta: { public: true } },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach(async (to) => {
  if (session.status === 'unknown') {
    try {
      await loadSession();
    } catch {
      // The API cannot be reached: the login page says so when the user tries.
    }
  }
  if (to.meta.public) {
    if (to.name === 'login' && session.user) return { name: homeRouteOf(session.user.role) };
    return true;
  }
  if (!session.user) return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} };
  if (to.meta.roles && !to.meta.roles.includes(session.user.role)) return { name: homeRouteOf(session.user.role) };
  return true;
});
