/**
 * The SIP edge port (SIP 边缘): the one place SIP lives. An edge turns SIP dialogs and RTP into call
 * facts ({@link EdgeEvent}) and carries out call commands ({@link SipEdge}); everything above it —
 * queues (ACD 排队分配), call records (话单), screen pop (来电弹屏), recordings (录音), metrics — is the
 * same whichever edge runs. Two edges implement it:
 *
 * - `builtin`: a SIP user agent on UDP in this process (the embedded default, port 5070), with G.711
 *   RTP handled in Node: prompts, the caller↔agent media relay and stereo WAV recording.
 * - `drachtio`: drachtio-srf connected to drachtio-server (production), media anchored and recorded
 *   by rtpengine.
 *
 * The core never sees SIP headers, Call-IDs or SDP: an edge maps them to these types.
 */
import type { AudioStreamInfo, MediaTap, Party } from '../speech/ports';

/** The codecs a call may use (RTP payload types 0 and 8); anything else is refused with 488. */
export const Codec = { pcmu: 'PCMU', pcma: 'PCMA' } as const;
export type Codec = (typeof Codec)[keyof typeof Codec];

/** Why a call or a leg ended, in the call record's words. */
export const EndCause = {
  callerHangup: 'caller_hangup', // 来电方挂机
  agentHangup: 'agent_hangup', // 坐席挂机
  callerCancelled: 'caller_cancelled', // 振铃/排队中来电方放弃 (CANCEL before answer)
  rejected: 'rejected', // the edge refused it (busy, flood, unsupported codec)
  systemHangup: 'system_hangup', // the hotline ended it (maximum wait, callback accepted, closing)
  mediaTimeout: 'media_timeout', // no RTP from the caller for too long
  nodeRestart: 'node_restart', // closed at boot: the node that held it died
  failed: 'failed', // a SIP or network failure
} as const;
export type EndCause = (typeof EndCause)[keyof typeof EndCause];

/** Why an offer to an agent's phone did not become a bridged call. */
export const AgentLegFailure = {
  noAnswer: 'no_answer', // ring timeout
  busy: 'busy', // 486/600
  declined: 'declined', // 603 / rejected on the phone
  unreachable: 'unreachable', // not registered, 408, network error
  cancelled: 'cancelled', // we cancelled it (the caller hung up, or re-offered elsewhere)
} as const;
export type AgentLegFailure = (typeof AgentLegFailure)[keyof typeof AgentLegFailure];

/** A new inbound call as the edge saw it; `callId` is the edge's own id for it (not the SIP Call-ID). */
export interface InboundCall {
  callId: string;
  /** ANI (主叫号码): from P-Asserted-Identity when present, else From; digits as sent. */
  callerNumber: string;
  /** The display name the caller's side sent, if any. */
  callerName: string | null;
  /** DNIS (被叫号码): the user part of the Request-URI. */
  dialledNumber: string;
  /** Where the signalling came from (`ip:port`), for logs and flood limits. */
  source: string;
  codec: Codec;
  at: Date;
}

/** The facts an edge reports, in the order they happen for a call. */
export type EdgeEvent =
  | { type: 'call.offered'; call: InboundCall }
  /** The caller's leg was answered by the hotline (200 OK sent, media up): prompts and queue music may play. */
  | { type: 'call.answered'; callId: string; at: Date }
  | { type: 'call.dtmf'; callId: string; digit: string; at: Date }
  /** A prompt finished playing (not sent when it was stopped or the call ended). */
  | { type: 'prompt.finished'; callId: string; promptId: string; at: Date }
  | { type: 'agent.ringing'; callId: string; legId: string; at: Date }
  /** The agent's phone answered; the edge has bridged it to the caller (media flows both ways). */
  | { type: 'agent.answered'; callId: string; legId: string; at: Date }
  | { type: 'agent.failed'; callId: string; legId: string; reason: AgentLegFailure; sipStatus: number | null; at: Date }
  /** The call is over (both legs gone). Sent exactly once per offered call. */
  | { type: 'call.ended'; callId: string; cause: EndCause; sipStatus: number | null; at: Date }
  /** Both directions of a call, ready for the recording index (the edge deletes nothing). */
  | { type: 'recording.ready'; callId: string; file: RecordingFile; at: Date }
  | { type: 'endpoint.registered'; username: string; contact: string; expiresAt: Date }
  | { type: 'endpoint.unregistered'; username: string; at: Date };

/** A finished recording on local disk: a stereo WAV, caller on the left channel, agent on the right. */
export interface RecordingFile {
  path: string;
  format: 'wav';
  sampleRate: number;
  channels: 2;
  durationMs: number;
  bytes: number;
}

/**
 * Where an edge that does not carry the media itself (drachtio: rtpengine anchors it) has each
 * party's forked RTP received and decoded for the {@link MediaTap}: the speech part's RTP receiver,
 * built by app/ over the tap. `open` starts the party's stream on the tap and says where to send its
 * RTP (only packets from `source` are taken); `close` ends it.
 */
export interface MediaForkReceiver {
  open(info: AudioStreamInfo & { source?: { address: string; port?: number } }): Promise<{ address: string; port: number }>;
  close(callId: string, party: Party): void;
  stop(): Promise<void>;
}

/** A prompt (提示音): a named audio file from the city's prompt set, or a file path. */
export interface Prompt {
  id: string;
  /** 8 kHz mono WAV (PCM16, μ-law or A-law) on disk. */
  file: string;
  /** Play again when it ends, until stopped (queue music). */
  loop?: boolean;
}

/** Where the edge looks up a phone's SIP credentials for REGISTER (digest auth). */
export interface SipCredentials {
  /** The secret's HA1 = MD5(username:realm:password), so the password itself is never stored. */
  ha1(username: string, realm: string): Promise<string | null>;
}

export interface SipEdgeHealth {
  edge: 'builtin' | 'drachtio';
  ok: boolean;
  /** e.g. `udp 0.0.0.0:5070`, `drachtio 10.0.0.5:9022` */
  listening: string;
  activeCalls: number;
  registeredEndpoints: number;
  detail?: string;
}

/**
 * The SIP edge. Commands act on the edge's `callId` (from `call.offered`) and reject with an
 * AppError when the call is unknown or already over. Each is idempotent where SIP allows it
 * (answering twice, hanging up a call that is ending).
 */
export interface SipEdge {
  readonly kind: 'builtin' | 'drachtio';
  /** Starts listening; every fact goes to `onEvent` (errors it throws are logged, not fatal). */
  start(onEvent: (e: EdgeEvent) => void): Promise<void>;
  /** Ends every call (cause `system_hangup`), unregisters, closes sockets. */
  stop(): Promise<void>;
  /** 180 Ringing to the caller (before answer). */
  ring(callId: string): Promise<void>;
  /** 200 OK to the caller with media: the hotline takes the call (queue, prompts, recording starts). */
  answer(callId: string): Promise<void>;
  /** Refuses a call not yet answered: e.g. 486 busy, 503 with Retry-After, 488 with what we accept. */
  reject(callId: string, sipStatus: number, opts?: { retryAfterSeconds?: number }): Promise<void>;
  /** Plays a prompt to the caller; replaces any playing one. */
  playPrompt(callId: string, prompt: Prompt): Promise<void>;
  stopPrompt(callId: string): Promise<void>;
  /**
   * Rings an agent's registered phone for this call (B2BUA leg, 坐席话机振铃). Returns the leg id;
   * the outcome comes as `agent.answered` (already bridged: prompt stopped, media relayed both ways)
   * or `agent.failed` (no_answer after `ringTimeoutMs`).
   */
  offerToAgent(callId: string, agent: { username: string }, opts: { ringTimeoutMs: number; callerDisplay?: string }): Promise<string>;
  /** Stops ringing an agent leg (CANCEL); reported as `agent.failed` with reason `cancelled`. */
  cancelAgentOffer(callId: string, legId: string): Promise<void>;
  /** Ends the call: BYE to every leg (or a final response before answer). */
  hangUp(callId: string, cause: EndCause): Promise<void>;
  /** Who is registered now (username → contact). */
  registrations(): Promise<{ username: string; contact: string; expiresAt: Date }[]>;
  health(): Promise<SipEdgeHealth>;
  /**
   * The media fork (媒体分流, speech part): where the edge hands each party's decoded audio (16-bit PCM,
   * 8 kHz, ~20 ms frames) for live transcripts; null stops it. The caller's stream starts when the
   * hotline answers, the agent's at the bridge (with its `offsetMs`); both end with the call. The
   * built-in edge decodes its own RTP; the drachtio edge has rtpengine fork each party's RTP to the
   * app's RTP receiver ({@link MediaForkReceiver}), which feeds the tap the same way.
   */
  setMediaTap?(tap: MediaTap | null): void;
}
