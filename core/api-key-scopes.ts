/**
 * What an API key (接口密钥) may do. A key is let onto a route only when the route declares, in its
 * `config.apiKeyScopes`, a scope the key holds; a route that declares none is for console sessions
 * only. The key's role and unit still apply on top (数据权限): a scope opens a door, the role decides
 * what is behind it.
 */
export const ApiKeyScope = {
  /** Read tickets, work orders and the directory (citizens' numbers per the key's role). 工单查询 */
  ticketsRead: 'tickets:read',
  /** Register and change tickets, act on work orders. 工单受理与办理 */
  ticketsWrite: 'tickets:write',
  /** The telephony gateway's call events (来电事件). */
  callsWrite: 'calls:write',
  /** Open the live feed (a wallboard, 大屏). */
  liveRead: 'live:read',
  /** The SMS gateway's delivery reports and replies (短信回执); reserved for the SMS intake. */
  smsCallback: 'sms:callback',
  /** Open311 GeoReport v2 at /open311/v2 (政务服务平台对接, open311/): civic apps post and follow requests; no /api route. */
  open311: 'open311',
  /** Administration: users, API keys, calendar import. Give it to people's tools, never to a gateway. */
  admin: 'admin',
} as const;
export type ApiKeyScope = (typeof ApiKeyScope)[keyof typeof ApiKeyScope];

export const ALL_API_KEY_SCOPES = Object.values(ApiKeyScope) as ApiKeyScope[];

export const isApiKeyScope = (s: string): s is ApiKeyScope => (ALL_API_KEY_SCOPES as string[]).includes(s);

/** Stored as one space-separated column (portable, no JSON). */
export const parseScopes = (s: string | null | undefined): ApiKeyScope[] => (s ?? '').split(/\s+/).filter(isApiKeyScope);
export const formatScopes = (scopes: readonly string[]): string => [...new Set(scopes)].sort().join(' ');
