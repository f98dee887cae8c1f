import { describe, expect, it } from 'vitest';
import { applyBeat, goToSlide, markRun, nextBeat, nextBlock, previousSlide, START, type DeckPosition } from './demo-deck';

// Title, introduction without commands, a step with two blocks, a step with one.
const slides = [{ blocks: 0 }, { blocks: 0 }, { blocks: 2 }, { blocks: 1 }];

/** Presses → `times` times and returns what happened. */
function press(times: number, from: DeckPosition = START) {
  let position = from;
  const beats = [];
  for (let i = 0; i < times; i++) {
    const beat = nextBeat(slides, position);
    beats.push(beat);
    position = applyBeat(position, beat);
  }
  return { position, beats };
}

describe('demo mode: →', () => {
  it('moves through slides without commands, then runs each block of a slide in order before moving on', () => {
    const { beats } = press(7);
    expect(beats).toEqual([
      { kind: 'slide', slide: 1 },
      { kind: 'slide', slide: 2 },
      { kind: 'run', slide: 2, block: 0 },
      { kind: 'run', slide: 2, block: 1 },
      { kind: 'slide', slide: 3 },
      { kind: 'run', slide: 3, block: 0 },
      { kind: 'end' },
    ]);
  });

  it('skips a block the presenter already ran with its own button', () => {
    const onStep = goToSlide(slides, START, 2);
    const ranSecondByHand = markRun(onStep, 2, 1);
    expect(nextBeat(slides, ranSecondByHand)).toEqual({ kind: 'slide', slide: 3 });
  });
});

describe('demo mode: ←', () => {
  it('goes back one slide and keeps what ran, so → carries on where the commands left off', () => {
    const { position } = press(4); // ran both blocks of slide 2
    const next = press(1, position).position; // on slide 3, nothing run there
    const back = previousSlide(next);
    expect(back.slide).toBe(2);
    expect(nextBlock(slides, back)).toBeUndefined();
    expect(nextBeat(slides, back)).toEqual({ kind: 'slide', slide: 3 });
    // Back again, to the introduction; never before the title.
    expect(previousSlide(previousSlide(previousSlide(back))).slide).toBe(0);
  });

  it('after going back to a slide whose blocks did not all run, → runs the first one that did not', () => {
    const halfway = press(3).position; // ran block 0 of slide 2
    const onward = goToSlide(slides, halfway, 3);
    const back = previousSlide(onward);
    expect(nextBeat(slides, back)).toEqual({ kind: 'run', slide: 2, block: 1 });
  });
});
