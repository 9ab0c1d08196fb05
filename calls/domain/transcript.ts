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
}

export function assembleTranscript(segments: TranscriptSegment[]): string {
  return [...segments]
    .sort((a, b) => a.seq - b.seq)
    .map((s) => `${SPEAKER_ZH[s.speaker] ?? s.speaker}：${s.text.trim()}`)
    .join('\n');
}
