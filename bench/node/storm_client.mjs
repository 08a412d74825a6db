// Connection-storm load client in Node (`ws`): one process holds a share of N screens.
//
// Same story per screen as bench/storm_client.py (see bench/README.md "Connection
// storm"): screen i of the whole storm makes its first try at t0 + i / rate; a close
// 1013 whose reason carries retry_after=N before the first message means "come back in
// N s", and the screen does as app/static/retry.js does: it waits N * 1000 ms plus up to
// a second of jitter and tries again. Anything else before the first message is a bare
// failure, counted by kind, and the screen stops (a page would retry with backoff; the
// bench counts instead). Once connected, every message with a type of state or snapshot
// and a version is recorded with its arrival time.
//
// Driven by bench/storm_node.py, one line of JSON each way:
//   stdout {"ready": {...}}   once each of this process's screens is connected or failed
//   stdin  {"collect": true}  after the driver's slide changes
//   stdout {"done": {...}}    every screen's story, then the process exits
// Times are CLOCK_REALTIME like Python's time.time_ns(): performance.timeOrigin +
// performance.now(). Receipt times go out as ns since t0_ns (a double is exact there).
//
//   node bench/node/storm_client.mjs --url ws://127.0.0.1:8000/ws/screen?token=... \
//       --clients 31000 --rate 2000 --procs 2 --proc 0 --t0-ms 1733600000000 \
//       --sources 127.0.0.2,127.0.0.3
import { createHash } from "node:crypto";
import { connect } from "node:net";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import WebSocket from "ws";

const TRY_AGAIN_LATER = 1013;
// app/static/retry.js's pattern, so the bench honours exactly what a page honours.
const RETRY_AFTER = /(?:^|[\s;,])retry_after=(\d{1,5})(?:$|[\s;,])/;
const KEY = "ZGllbWNhdS1zdG9ybS0xNg=="; // any 16 bytes, base64

function parseArgs(argv) {
  const opts = { url: "", clients: 0, rate: 1000, procs: 1, proc: 0, t0Ms: 0,
                 sources: ["127.0.0.1"], openTimeoutMs: 10000, handshake: "raw" };
  for (let i = 2; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`missing value for ${key}`);
    if (key === "--url") opts.url = value;
    else if (key === "--clients") opts.clients = Number(value);
    else if (key === "--rate") opts.rate = Number(value);
    else if (key === "--procs") opts.procs = Number(value);
    else if (key === "--proc") opts.proc = Number(value);
    else if (key === "--t0-ms") opts.t0Ms = Number(value);
    else if (key === "--sources") opts.sources = value.split(",");
    else if (key === "--open-timeout") opts.openTimeoutMs = Number(value) * 1000;
    else if (key === "--handshake") opts.handshake = value;
    else throw new Error(`unknown option ${key}`);
  }
  if (!opts.url) throw new Error("--url is required");
  return opts;
}

const opts = parseArgs(process.argv);
const originMs = performance.timeOrigin;
const t0Ns = BigInt(Math.round(originMs * 1e6));
const nowMs = () => originMs + performance.now(); // epoch ms, sub-µs resolution
const sinceT0Ns = () => Math.round(performance.now() * 1e6);

// This process's screens: global indexes proc, proc + procs, ... (as the Python client).
const screens = [];
for (let i = opts.proc; i < opts.clients; i += opts.procs) {
  screens.push({ index: i, due: opts.t0Ms + (i * 1000) / opts.rate, started: 0, lagMs: 0,
                 connectMs: 0, sheds: 0, failed: "", ws: null, got: [] });
}
let unsettled = screens.length;
let collecting = false;
const dropped = new Map(); // close codes of connected screens closed by the server
const cpuAtStart = process.cpuUsage();

function bump(map, key) { map.set(key, (map.get(key) || 0) + 1); }

function settle() {
  unsettled -= 1;
  if (unsettled === 0) ready();
}

function fail(s, kind) {
  s.failed = kind;
  settle();
}

// One try: open, then wait for the first message; a 1013 with retry_after schedules the
// next try, anything else before the first message fails the screen.
function attempt(s) {
  const t = { connected: false, upgraded: false, first: false, over: false };
  const end = (kind) => { // a bare failure, once
    if (t.over) return;
    t.over = true;
    clearTimeout(t.timer);
    fail(s, kind);
  };
  t.timer = setTimeout(() => {
    const stage = !t.connected ? "tcp connect" : !t.upgraded ? "no upgrade" : "no first message";
    const kind = `timeout: ${stage} within ${opts.openTimeoutMs / 1000} s`;
    if (t.ws) t.ws.terminate();
    else if (t.sock) t.sock.destroy();
    end(kind);
  }, opts.openTimeoutMs);
  const source = opts.sources[s.index % opts.sources.length];
  if (opts.handshake === "ws") openWs(s, t, source, end);
  else openRaw(s, t, source, end);
}

// The whole `ws` client: its handshake goes through node:http (ClientRequest, agent,
// parser), about 0.5 ms of CPU per socket here: 1 core at 2,000 sockets a second.
function openWs(s, t, source, end) {
  const ws = new WebSocket(opts.url, { perMessageDeflate: false, skipUTF8Validation: true,
                                       localAddress: source, followRedirects: false });
  // ws keeps its ClientRequest in _req until the upgrade: the only way to see the
  // TCP connect (internal, but stable across ws 8.x).
  ws._req?.on("socket", (sock) => sock.once("connect", () => { t.connected = true; }));
  ws.on("open", () => { t.upgraded = t.connected = true; });
  follow(s, t, ws, end);
}

// The same handshake written by hand on a raw TCP socket (a fixed key: the server only
// echoes its hash), then the socket handed to `ws` for framing, pings and close, as its
// server does with an upgraded socket. A fraction of the CPU of openWs.
const target = new URL(opts.url);
const REQUEST = `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + KEY + "\r\n" +
  "Sec-WebSocket-Version: 13\r\n\r\n";
const ACCEPT = createHash("sha1").update(KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
  .digest("base64");

function openRaw(s, t, source, end) {
  const sock = connect({ host: target.hostname, port: Number(target.port || 80),
                         localAddress: source });
  t.sock = sock;
  let head = "";
  const onError = (err) => end(`error: ${err.code || err.message}`);
  const onClose = () => end(t.connected ? "closed before upgrade" : "closed before connect");
  const onData = (chunk) => {
    head += chunk.toString("latin1");
    const at = head.indexOf("\r\n\r\n");
    if (at < 0) return;
    sock.off("data", onData).off("error", onError).off("close", onClose);
    if (!head.startsWith("HTTP/1.1 101") || !head.includes(ACCEPT)) {
      sock.destroy();
      end(`http ${head.slice(9, 12)}`);
      return;
    }
    t.upgraded = true;
    const ws = new WebSocket(null, undefined, { autoPong: true });
    ws._isServer = false; // frames out masked, frames in unmasked: a client
    ws._bufferedAmount = 0;
    follow(s, t, ws, end);
    ws.setSocket(sock, Buffer.from(head.slice(at + 4), "latin1"),
                 { maxPayload: 1 << 20, skipUTF8Validation: true });
  };
  sock.once("connect", () => { t.connected = true; sock.write(REQUEST); });
  sock.on("data", onData).on("error", onError).on("close", onClose);
}

function follow(s, t, ws, end) {
  t.ws = ws;
  ws.on("message", (raw) => {
    if (!t.first) {
      t.first = t.over = true;
      clearTimeout(t.timer);
      s.connectMs = nowMs() - s.started;
      s.ws = ws;
      settle();
      return; // a snapshot, a waiting screen or `resumed`: connected either way
    }
    const msg = JSON.parse(raw);
    if ((msg.type === "state" || msg.type === "snapshot") && msg.version !== undefined) {
      s.got.push(Number(msg.version), sinceT0Ns());
    }
  });
  ws.on("error", (err) => end(`error: ${err.code || err.message}`));
  ws.on("close", (code, reason) => {
    if (t.first) {
      if (!collecting) bump(dropped, String(code));
      return;
    }
    if (t.over) return;
    const m = code === TRY_AGAIN_LATER ? RETRY_AFTER.exec(reason.toString()) : null;
    if (!m) {
      end(`closed ${code}${reason.length ? " " + reason.toString() : ""}`);
      return;
    }
    t.over = true;
    clearTimeout(t.timer);
    s.sheds += 1;
    setTimeout(() => attempt(s), Number(m[1]) * 1000 + Math.random() * 1000);
  });
}

// One timer walks the schedule: every screen due by now starts, late ones note by how
// much (a busy client starts late, and that is part of what is measured).
let nextIndex = 0;
function pace() {
  const now = nowMs();
  while (nextIndex < screens.length && screens[nextIndex].due <= now) {
    const s = screens[nextIndex++];
    s.started = nowMs();
    s.lagMs = s.started - s.due;
    attempt(s);
  }
  if (nextIndex < screens.length) {
    setTimeout(pace, Math.max(0, Math.min(50, screens[nextIndex].due - nowMs())));
  }
}

function emit(obj, then) {
  // A pipe is written asynchronously: exit only once the line is out.
  process.stdout.write(JSON.stringify(obj) + "\n", then);
}

function ready() {
  const cpu = process.cpuUsage(cpuAtStart);
  const failures = {};
  for (const s of screens) if (s.failed) failures[s.failed] = (failures[s.failed] || 0) + 1;
  emit({ ready: { screens: screens.length, connected: screens.filter((s) => s.ws).length,
                  failures, cpu_ms: (cpu.user + cpu.system) / 1000, sys_ms: cpu.system / 1000,
                  wall_ms: nowMs() - opts.t0Ms } });
}

function collect() {
  collecting = true;
  for (const s of screens) if (s.ws) s.ws.terminate();
  const stories = screens.map((s) => {
    const pairs = [];
    for (let i = 0; i < s.got.length; i += 2) pairs.push([s.got[i], s.got[i + 1]]);
    return [s.sheds, s.failed, s.lagMs, s.connectMs, pairs];
  });
  emit({ done: { t0_ns: t0Ns.toString(), stories, dropped: Object.fromEntries(dropped) } },
       () => process.exit(0));
}

createInterface({ input: process.stdin }).on("line", (line) => {
  if (JSON.parse(line).collect) collect();
});
if (screens.length === 0) ready();
else pace();
