/**
 * Demo mode's slides and its two keys, as pure functions.
 *
 * The slides are the lesson's title, its introduction (if any) and one per step. On each slide
 * the lesson's runnable blocks are run in order:
 * - → (next) runs the slide's next block that has not run yet; when all have, it moves on to the
 *   next slide, where the presenter can talk before the first command;
 * - ← (back) goes to the previous slide. It only moves the slides: what ran in the terminal stays
 *   run (a shell has no undo), and the blocks already run there stay marked, so → carries on
 *   from the first one that has not.
 */

export interface DeckSlide {
  /** How many runnable blocks the slide has. */
  blocks: number;
}

export interface DeckPosition {
  slide: number;
  /** Per slide, how many of its blocks have run (they run in order). */
  ran: number[];
}

export type Beat = { kind: 'run'; slide: number; block: number } | { kind: 'slide'; slide: number } | { kind: 'end' };

export const START: DeckPosition = { slide: 0, ran: [] };

/** What → does from here. */
export function nextBeat(slides: readonly DeckSlide[], position: DeckPosition): Beat {
  const slide = slides[position.slide];
  const ran = position.ran[position.slide] ?? 0;
  if (slide && ran < slide.blocks) return { kind: 'run', slide: position.slide, block: ran };
  if (position.slide < slides.length - 1) return { kind: 'slide', slide: position.slide + 1 };
  return { kind: 'end' };
}

/** The position after a beat happened (a run only counts once the terminal took it). */
export function applyBeat(position: DeckPosition, beat: Beat): DeckPosition {
  if (beat.kind === 'run') return markRun(position, beat.slide, beat.block);
  if (beat.kind === 'slide') return { ...position, slide: beat.slide };
  return position;
}

/** ←: the previous slide, with its blocks as they were. */
export function previousSlide(position: DeckPosition): DeckPosition {
  return position.slide === 0 ? position : { ...position, slide: position.slide - 1 };
}

export function goToSlide(slides: readonly DeckSlide[], position: DeckPosition, slide: number): DeckPosition {
  const clamped = Math.max(0, Math.min(slides.length - 1, slide));
  return clamped === position.slide ? position : { ...position, slide: clamped };
}

/** A block ran (by → or its own Run button): it and the ones before it count as run. */
export function markRun(position: DeckPosition, slide: number, block: number): DeckPosition {
  const ran = [...position.ran];
  ran[slide] = Math.max(ran[slide] ?? 0, block + 1);
  return { ...position, ran: Array.from(ran, (count) => count ?? 0) };
}

/** The block → would run on the current slide, if any. */
export function nextBlock(slides: readonly DeckSlide[], position: DeckPosition): number | undefined {
  const beat = nextBeat(slides, position);
  return beat.kind === 'run' ? beat.block : undefined;
}
