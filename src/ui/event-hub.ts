// Fan-out of live events to every open dashboard, with a short backlog so a page opened now
// shows the last few minutes rather than an empty feed.
import type { EventInput, UiEvent } from "./events.ts";

export class EventHub {
  private readonly listeners = new Set<(e: UiEvent) => void>();
  private readonly decisions: UiEvent[] = [];
  private readonly alerts: UiEvent[] = [];
  private nextId = 1;
  private readonly maxDecisions: number;
  private readonly maxAlerts: number;

  constructor(opts: { maxDecisions?: number; maxAlerts?: number } = {}) {
    this.maxDecisions = opts.maxDecisions ?? 500;
    this.maxAlerts = opts.maxAlerts ?? 200;
  }

  publish(input: EventInput): UiEvent {
    const event = { ...input, id: this.nextId++ } as UiEvent;
    const ring = event.type === "alert" ? this.alerts : this.decisions;
    ring.push(event);
    if (ring.length > (event.type === "alert" ? this.maxAlerts : this.maxDecisions)) ring.shift();
    for (const fn of this.listeners) fn(event);
    return event;
  }

  subscribe(fn: (e: UiEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Backlog in arrival order. */
  recent(): UiEvent[] {
    return [...this.alerts, ...this.decisions].sort((a, b) => a.id - b.id);
  }

  recentAlerts(): UiEvent[] {
    return [...this.alerts];
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
