// One reconnecting websocket, shared by an attempt's log (/ws/attempts/<id>/) and the team
// sidebar (/ws/team/). Messages are JSON; a socket that drops is reopened after 0.5 s, 1 s, 2 s...
// up to `maxDelayMs`, at most `maxRetries` times in a row; a close code the server uses to refuse
// (not found, signed out) is final. Leaving the page never counts as a drop.
import { CLOSE } from "./contract.js";

let leaving = false;
window.addEventListener("pagehide", () => { leaving = true; });
window.addEventListener("beforeunload", () => { leaving = true; });

export class LiveSocket {
  /**
   * @param {string} path         e.g. "/ws/team/"
   * @param {object} options
   *   query():     the query string to connect with, asked at each (re)connect ("" or "?after=12")
   *   onMessage(data):   each JSON message (malformed text is dropped)
   *   onState(state):    "open", "retrying", "refused" (the server said no) or "gave-up"
   *   syncEveryMs:       send {"type": "sync"} this often while open (0: never)
   */
  constructor(path, { query = () => "", onMessage = () => {}, onState = () => {},
                      syncEveryMs = 0, maxRetries = 40, maxDelayMs = 10000 } = {}) {
    this.path = path;
    this.query = query;
    this.onMessage = onMessage;
    this.onState = onState;
    this.syncEveryMs = syncEveryMs;
    this.maxRetries = maxRetries;
    this.maxDelayMs = maxDelayMs;
    this.retries = 0;
    this.opened = 0;  // how many times a connection opened (tests wait on it)
    this.ws = null;
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(proto + location.host + this.path + this.query());
    let timer = null;
    this.ws = ws;
    ws.onopen = () => {
      this.retries = 0;
      this.opened += 1;
      this.onState("open");
      if (this.syncEveryMs) {
        timer = setInterval(() => {
          if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "sync" }));
        }, this.syncEveryMs);
      }
    };
    ws.onmessage = (msg) => {
      let data;
      try { data = JSON.parse(msg.data); } catch (e) { return; }
      if (data && typeof data === "object") this.onMessage(data);
    };
    ws.onclose = (e) => {
      clearInterval(timer);
      if (leaving) return;
      if (e.code === CLOSE.notFound || e.code === CLOSE.unauthenticated) {
        this.onState("refused");
        return;
      }
      if (++this.retries > this.maxRetries) {
        this.onState("gave-up");
        return;
      }
      this.onState("retrying");
      setTimeout(() => this.connect(), Math.min(this.maxDelayMs, 250 * Math.pow(2, this.retries)));
    };
    return this;
  }
}
