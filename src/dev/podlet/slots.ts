/**
 * A counting semaphore: at most `size` holders at once, the rest wait in order. Pod set-up (a
 * namespace, a veth, volumes, token requests) runs through it, so a hundred pods bound at once
 * start in a steady stream instead of all thrashing two cores together.
 */
export class Slots {
  readonly #size: number;
  #held = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** Runs `fn` in a slot. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#held >= this.#size) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#held++;
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#held--;
    }
  }
}
