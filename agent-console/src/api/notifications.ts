import { http } from './http';
import type { MyNotice } from './types';

/** The user's notices (通知) and what they have read: the header's bell (workorders.routes.ts /notifications). */
export const notificationsApi = {
  mine: (opts: { days?: number; limit?: number } = {}) => http.get<{ items: MyNotice[]; unread: number }>('/notifications', opts),
  markRead: (ids: string[]) => http.post<{ unread: number }>('/notifications/read', { ids }),
  markAllRead: () => http.post<{ unread: number }>('/notifications/read-all', { days: 7 }),
};
