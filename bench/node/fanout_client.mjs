// Fan-out load client in Node (`ws`): one process holds a share of the N screens.
//
// Same contract as bench/fanout_client.py (see bench/README.md "Fan-out"): every
// message is JSON with an integer version (--version-field); the first message per
// connection is a snapshot; each trigger yields one message with version + 1.
//
// Driven by bench/fanout_client.py (`--client node`), one line of JSON each way:
//   stdout {"ready": connected, "t0_ns": "..."}   once every client has its snapshot
//   stdin  {"stop_after": seconds}                after the parent's last trigger
//   stdout {"done": {...report...}}               received, out_of_order, by_change, errors
// by_change holds, per connected client, [k, ns] pairs: k = change number relative to
// the snapshot; ns = receipt time minus the embedded --ts-field (nanoseconds), or, with
// --ts-field "", the receipt time in ns since t0_ns (the parent adds t0_ns and
// subtracts its own trigger time). Receipt times are CLOCK_REALTIME, like Python's
// time.time_ns(): performance.timeOrigin + performance.now() (sub-microsecond).
//
//   node bench/node/fanout_client.mjs --url ws://127.0.0.1:8765/ --clients 2500 \
//       --changes 20 --addresses 8 --address-base 1
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import WebSocket from "ws";

function parseArgs(argv) {
  const opts = {
    url: "", clients: 1000, changes: 20, versionField: "version", tsField: "sent_ns",
    origin: null, headers: {}, addresses: 1, addressBase: 1, concurrency: 200,
  };
  for (let i = 2; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`missing value for ${key}`);
    if (key === "--url") opts.url = value;
    else if (key === "--clients") opts.clients = Number(value);
    else if (key === "--changes") opts.changes = Number(value);
    else if (key === "--version-field") opts.versionField = value;
    else if (key === "--ts-field") opts.tsField = value;
    else if (key === "--origin") opts.origin = value;
    else if (key === "--header") {
      const at = value.indexOf(":");
      opts.headers[value.slice(0, at).trim()] = value.slice(at + 1).trim();
    } else if (key === "--addresses") opts.addresses = Number(value);
    else if (key === "--address-base") opts.addressBase = Number(value);
    else if (key === "--concurrency") opts.concurrency = Number(value);
    else throw new Error(`unknown option ${key}`);
  }
  if (!opts.url) throw new Error("--url is required");
  return opts;
}

const opts = parseArgs(process.argv);
// Epoch milliseconds (float) of performance.now() === 0; BigInt ns for the parent.
const originMs = performance.timeOrigin;
const t0Ns = BigInt(Math.round(originMs * 1e6));
const nowOffsetNs = () => performance.now() * 1e6; // ns since t0, exact to ~1 ns for hours

const clients = [];
let pending = opts.clients; // until every client has its snapshot or failed
let inFlight = 0;
let next = 0;
const errors = new Set();

function settle(c) {
  if (!c.settled) {
    c.settled = true;
    pending -= 1;
    inFlight -= 1;
    if (pending === 0) emit({ ready: clients.filter((x) => x.base !== null).length,
                              t0_ns: t0Ns.toString() });
    else openMore();
  }
}

function onMessage(c, raw) {
  const at = nowOffsetNs();
  const data = JSON.parse(raw);
  const version = Number(data[opts.versionField]);
  if (c.base === null) {
    c.base = c.last = version;
    settle(c);
    return;
  }
  if (version !== c.last + 1) c.outOfOrder += 1;
  c.last = version;
  let value = at;
  if (opts.tsField) {
    // sent_ns is beyond 2**53: as a double it is exact to ~256 ns, plenty for ms figures.
    value = originMs * 1e6 + at - Number(data[opts.tsField]);
  }
  c.got.push(version - c.base, Math.round(value));
}

function open(index) {
  const c = { base: null, last: 0, outOfOrder: 0, got: [], settled: false, ws: null };
  clients.push(c);
  inFlight += 1;
  const host = `127.0.0.${opts.addressBase + (index % opts.addresses)}`;
  const ws = new WebSocket(opts.url, {
    perMessageDeflate: false,
    skipUTF8Validation: true,
    handshakeTimeout: 30000,
    headers: opts.headers,
    origin: opts.origin ?? undefined,
    localAddress: host,
  });
  c.ws = ws;
  ws.on("message", (raw) => onMessage(c, raw));
  ws.on("error", (err) => { errors.add(String(err.message || err)); settle(c); });
  ws.on("close", (code) => {
    if (!stopping) errors.add(`closed by server: ${code}`);
    settle(c);
  });
}

function openMore() {
  while (next < opts.clients && inFlight < opts.concurrency) open(next++);
}

function emit(obj, then) {
  // A pipe is written asynchronously: exit only once the line is out.
  process.stdout.write(JSON.stringify(obj) + "\n", then);
}

let stopping = false;

function report() {
  stopping = true;
  const connected = clients.filter((c) => c.base !== null);
  const byChange = connected.map((c) => {
    const pairs = [];
    for (let i = 0; i < c.got.length; i += 2) pairs.push([c.got[i], c.got[i + 1]]);
    return pairs;
  });
  for (const c of clients) c.ws.terminate();
  emit({ done: {
    connected: connected.length,
    received: connected.reduce((n, c) => n + c.got.length / 2, 0),
    out_of_order: connected.reduce((n, c) => n + c.outOfOrder, 0),
    by_change: byChange,
    errors: [...errors].sort().slice(0, 5),
  } }, () => process.exit(0));
}

function waitThenReport(stopAfter) {
  const deadline = performance.now() + stopAfter * 1000;
  const check = () => {
    const complete = clients.every((c) => c.base === null || c.got.length / 2 >= opts.changes);
    if (complete || performance.now() >= deadline) report();
    else setTimeout(check, 50);
  };
  check();
}

createInterface({ input: process.stdin }).on("line", (line) => {
  const msg = JSON.parse(line);
  if (msg.stop_after !== undefined) waitThenReport(msg.stop_after);
});
if (opts.clients === 0) emit({ ready: 0, t0_ns: t0Ns.toString() });
openMore();
