import { http } from './http';
import type { Me } from './types';

export interface LoginResult {
  user: { id: string; username: string; displayName: string; role: string; cityId: string; unitId: string | null; territoryId: string | null };
  expiresAt: string;
}

/** Sessions (会话): the cookie is HttpOnly and SameSite=strict; the console never sees the token. */
export const authApi = {
  login: (username: string, password: string) => http.post<LoginResult>('/auth/login', { username, password }),
  logout: () => http.post<void>('/auth/logout'),
  me: () => http.get<Me>('/auth/me'),
  /** 修改密码: the current password is checked (throttled like a login); the other sessions end. */
  changePassword: (currentPassword: string, newPassword: string) => http.post<{ sessionsEnded: number }>('/auth/password', { currentPassword, newPassword }),
};
