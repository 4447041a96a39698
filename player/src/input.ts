// Controller input: keyboard, mouse and touch on the player, as small JSON
// events (com.strata.input.v1) handed to a sender. Only players whose
// token carries the controller role create one.

export type Send = (json: string) => void;

/** An input event as the session receives it. */
export interface InputEvent {
  type: string;
  t: number; // wall-clock ms when the browser saw it
  key?: string;
  code?: string;
  repeat?: boolean;
  mods?: number; // 1 shift, 2 ctrl, 4 alt, 8 meta
  x?: number; // 0..1 across the picture
  y?: number;
  button?: number;
  buttons?: number;
  pointer?: string;
  id?: number;
  dx?: number;
  dy?: number;
}

function mods(e: KeyboardEvent | MouseEvent): number {
  return (e.shiftKey ? 1 : 0) | (e.ctrlKey ? 2 : 0) | (e.altKey ? 4 : 0) | (e.metaKey ? 8 : 0);
}

export class InputCapture {
  private off: Array<() => void> = [];
  private pendingMove: InputEvent | null = null;
  private moveTimer = 0;
  sent = 0;

  constructor(
    private readonly keyTarget: HTMLElement,
    private readonly surface: () => HTMLElement,
    private readonly send: Send,
  ) {
    this.on(keyTarget, "keydown", (e) => this.key(e as KeyboardEvent));
    this.on(keyTarget, "keyup", (e) => this.key(e as KeyboardEvent));
    this.on(keyTarget, "pointerdown", (e) => this.pointer(e as PointerEvent));
    this.on(keyTarget, "pointerup", (e) => this.pointer(e as PointerEvent));
    this.on(keyTarget, "pointermove", (e) => this.pointer(e as PointerEvent));
    this.on(keyTarget, "wheel", (e) => {
      const w = e as WheelEvent;
      this.emit({ type: "wheel", t: Date.now(), dx: w.deltaX, dy: w.deltaY, ...this.pos(w) });
      w.preventDefault();
    });
    this.on(keyTarget, "contextmenu", (e) => e.preventDefault());
  }

  private on(t: EventTarget, type: string, f: (e: Event) => void): void {
    const opts = type === "wheel" ? { passive: false } : undefined;
    t.addEventListener(type, f, opts);
    this.off.push(() => t.removeEventListener(type, f));
  }

  private pos(e: MouseEvent): { x: number; y: number } {
    const r = this.surface().getBoundingClientRect();
    const clamp = (v: number) => Math.min(1, Math.max(0, v));
    return {
      x: clamp(r.width ? (e.clientX - r.left) / r.width : 0),
      y: clamp(r.height ? (e.clientY - r.top) / r.height : 0),
    };
  }

  private key(e: KeyboardEvent): void {
    this.emit({ type: e.type, t: Date.now(), key: e.key, code: e.code, repeat: e.repeat, mods: mods(e) });
    // Keys belong to the session while the player has focus.
    if (e.key !== "Tab") e.preventDefault();
  }

  private pointer(e: PointerEvent): void {
    const ev: InputEvent = {
      type: e.type,
      t: Date.now(),
      ...this.pos(e),
      button: e.button,
      buttons: e.buttons,
      pointer: e.pointerType,
      id: e.pointerId,
      mods: mods(e),
    };
    if (e.type === "pointerdown") this.keyTarget.focus({ preventScroll: true });
    if (e.type !== "pointermove") {
      this.flushMove();
      this.emit(ev);
      return;
    }
    // Moves are coalesced to one per 16 ms.
    this.pendingMove = ev;
    if (!this.moveTimer) this.moveTimer = setTimeout(() => this.flushMove(), 16) as unknown as number;
  }

  private flushMove(): void {
    clearTimeout(this.moveTimer);
    this.moveTimer = 0;
    if (this.pendingMove) this.emit(this.pendingMove);
    this.pendingMove = null;
  }

  private emit(ev: InputEvent): void {
    this.sent++;
    this.send(JSON.stringify(ev));
  }

  stop(): void {
    clearTimeout(this.moveTimer);
    for (const f of this.off) f();
    this.off = [];
  }
}

/** Buffers events until the data channel opens (bounded). */
export function channelSender(dc: RTCDataChannel): Send {
  const backlog: string[] = [];
  dc.addEventListener("open", () => {
    for (const m of backlog.splice(0)) dc.send(m);
  });
  return (m) => {
    if (dc.readyState === "open") dc.send(m);
    else if (dc.readyState === "connecting" && backlog.length < 256) backlog.push(m);
  };
}
