/**
 * A call's transcript (通话转写) as agents read it: the final segments in order, one line per
 * segment, each marked with who spoke. Segments arrive in any order and some twice; the text is
 * rebuilt from the stored ones each time, so it never depends on arrival order.
 */
export const Speaker = {
  caller: 'caller', // 来电人
  agent: 'agent', // 话务员
} as const;
export type Speaker = (typeof Speaker)[keyof typeof Speaker];

export const SPEAKER_ZH: Readonly<Record<Speaker, string>> = { caller: '来电人', agent: '话务员' };

export interface TranscriptSegment {
  seq: number;
  speaker: Speaker;
  text: string;
  /** Milliseconds from the start of the party's stream, when the engine said (both parties' streams start together). */
  startMs?: number | null;
}

/**
 * In order of speech: by start time when both segments have one (each party numbers its own
 * segments, so seq alone interleaves two streams wrongly), else by seq; the caller first on a tie.
 */
function spokenOrder(a: TranscriptSegment, b: TranscriptSegment): number {
  if (a.startMs != null && b.startMs != null && a.startMs !== b.startMs) return a.startMs - b.startMs;
  if (a.startMs == null || b.startMs == null || a.speaker === b.speaker) if (a.seq !== b.seq) return a.seq - b.seq;
  return a.speaker === b.speaker ? 0 : a.speaker === 'caller' ? -1 : 1;
}

/** Chinese digits as speech engines write them out (幺 is how 一 is said in numbers). */
const SPOKEN_DIGIT = '0-9０-９零〇一二三四五六七八九幺两';
/** A run of 7 or more digits (with spaces or dashes between): a phone number, an ID number (身份证号), a bank card. */
const NUMBER_RUN = new RegExp(`[${SPOKEN_DIGIT}](?:[\\s-]*[${SPOKEN_DIGIT}xX]){6,}`, 'g');

/**
 * A transcript as roles outside the hotline center see it (个人信息保护): phone numbers and ID numbers
 * spoken in it masked. Any run of seven or more digits, Arabic or spoken (幺三八…), keeps its first
 * three and last two characters; shorter numbers (a house number, 3号楼) stay readable.
 */
export function maskSpokenNumbers(text: string): string {
  return text.replace(NUMBER_RUN, (run) => {
    const chars = [...run];
    return chars.map((c, i) => (i < 3 || i >= chars.length - 2 || /[\s-]/.test(c) ? c : '*')).join('');
  });
}

export function assembleTranscript(segments: TranscriptSegment[]): string {
  return [...segments]
    .sort(spokenOrder)
    .map((s) => `${SPEAKER_ZH[s.speaker] ?? s.speaker}：${s.text.trim()}`)
    .join('\n');
}
