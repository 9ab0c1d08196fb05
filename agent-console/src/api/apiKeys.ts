import { http } from './http';
import type { Role } from './types';

/** What an API key may do (the server's catalogue, core/api-key-scopes.ts). */
export const API_KEY_SCOPES = ['tickets:read', 'tickets:write', 'calls:write', 'live:read', 'sms:callback', 'open311', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  unitId: string | null;
  territoryId: string | null;
  scopes: ApiKeyScope[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface NewApiKey {
  name: string;
  role: Role;
  scopes: ApiKeyScope[];
  unitId?: string | null;
  territoryId?: string | null;
  /** ISO 8601 with the +08:00 offset; null: until revoked. */
  expiresAt?: string | null;
}

/** API keys of machine clients (接口密钥): admins only. The secret is shown once, at creation. */
export const apiKeysApi = {
  list: () => http.get<ApiKey[]>('/api-keys'),
  create: (k: NewApiKey) => http.post<{ id: string; key: string; apiKey: ApiKey }>('/api-keys', k),
  revoke: (id: string) => http.delete<ApiKey>(`/api-keys/${encodeURIComponent(id)}`),
};
