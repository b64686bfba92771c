#!/usr/bin/env node
// Camo-fleet benchmarks against bare Playwright, in one process and one run.
// bench/run.sh starts the worker and runs this script; see docs/benchmarks.md.
//
//   1. create-to-ready: POST /sessions → connect → newContext → newPage →
//      evaluate("1"), against launchServer → connect → ... in this process,
//      interleaved A B A B after warm-up rounds;
//   2. relay overhead: sequential evaluate("1") through the worker's relay,
//      against the same loop connected straight to a bare browser server;
//   3. memory: RSS (and PSS) summed over the processes of an idle ready
//      session against a bare launchServer in its own Node process, and the
//      worker's own RSS with 0 and with 4 sessions.
//
// Environment: WORKER_URL, WORKER_PID (required); BENCH_ENGINES (chromium,
// firefox), BENCH_ROUNDS (15), BENCH_WARMUP (2), BENCH_EVALS (1000),
// BENCH_EVAL_ROUNDS (10), BENCH_SETTLE_MS (3000), BENCH_MEM_SAMPLES (3),
// BENCH_TIMEOUT_SEC (2400), BENCH_JSON (file for the raw results),
// GO_BENCH_FILE (output of the Go relay benchmarks, for the report).
// Progress goes to stderr; the Markdown report goes to stdout.
//
// Everything it starts (sessions, browser servers, child processes) is ended
// before it exits, also on failure, on SIGTERM and when the deadline passes.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { spawn, execFileSync } = require('child_process');
const pw = require('playwright-core');

const ROOT = path.resolve(__dirname, '..');
const env = process.env;
const WORKER_URL = required('WORKER_URL').replace(/\/$/, '');
const WORKER_PID = Number(required('WORKER_PID'));
const ENGINES = (env.BENCH_ENGINES || 'chromium,firefox').split(',').filter(Boolean);
const ROUNDS = int('BENCH_ROUNDS', 15);
const WARMUP = int('BENCH_WARMUP', 2);
const EVALS = int('BENCH_EVALS', 1000);
const EVAL_ROUNDS = int('BENCH_EVAL_ROUNDS', 10);
const EVAL_WARMUP = 100;
const SETTLE_MS = int('BENCH_SETTLE_MS', 3000);
const MEM_SAMPLES = int('BENCH_MEM_SAMPLES', 3);
const DEADLINE_MS = int('BENCH_TIMEOUT_SEC', 2400) * 1000;
const STEP_TIMEOUT_MS = 90000; // any single await of the benchmark
const END_WAIT_MS = 60000; // a session's end after its client left
const MEM_SESSIONS = 4;
const IDLE_CPU_MS = 10000; // window for the worker's idle CPU use

function required(name) {
  if (!env[name]) fail(`${name} is required (bench/run.sh sets it)`);
  return env[name];
}

function int(name, def) {
  const v = env[name] === undefined || env[name] === '' ? def : Number(env[name]);
  if (!Number.isInteger(v) || v < 0) fail(`${name} must be a whole number, got ${env[name]}`);
  return v;
}

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function bounded(promise, what, ms = STEP_TIMEOUT_MS) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// ---- what the worker's engines launch -----------------------------------------

// chromiumArgs and firefoxPrefs are read from the engine sources, so the
// baseline launches with exactly what the worker passes.
function engineSource(name) {
  return fs.readFileSync(path.join(ROOT, 'internal', 'engine', `${name}.go`), 'utf8');
}

function chromiumArgs() {
  const m = /var chromiumArgs = \[\]string\{([^}]*)\}/.exec(engineSource('chromium'));
  if (!m) throw new Error('chromiumArgs not found in internal/engine/chromium.go');
  return [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
}

function firefoxPrefs() {
  const m = /var firefoxPrefs = map\[string\]any\{([^}]*)\}/.exec(engineSource('firefox'));
  if (!m) throw new Error('firefoxPrefs not found in internal/engine/firefox.go');
  const prefs = {};
  for (const x of m[1].matchAll(/"([^"]+)":\s*([^,\n]+),/g)) prefs[x[1]] = JSON.parse(x[2]);
  return prefs;
}

let health;
function bareOptions(engine) {
  const e = health.engines.find((x) => x.name === engine);
  if (!e || !e.available) throw new Error(`engine ${engine} is not available on the worker`);
  const base = { executablePath: e.path, headless: true, host: '127.0.0.1' };
  if (engine === 'chromium') return { ...base, args: chromiumArgs() };
  return { ...base, channel: 'moz-firefox', firefoxUserPrefs: firefoxPrefs() };
}

// ---- worker API ----------------------------------------------------------------

async function api(method, p, body) {
  const res = await bounded(fetch(WORKER_URL + p, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  }), `${method} ${p}`);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  if (!res.ok && res.status !== 202) {
    throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 500)}`);
  }
  return json;
}

const openSessions = new Set();
const creating = new Set(); // create requests in flight, awaited by cleanup

async function createSession(engine) {
  const req = api('POST', '/sessions', { mode: 'direct', engine }).then((s) => {
    if (s && s.id) openSessions.add(s.id);
    return s;
  });
  creating.add(req);
  const s = await req.finally(() => creating.delete(req));
  if (s.state !== 'ready' || !s.wsEndpoint) {
    throw new Error(`session not ready: ${JSON.stringify(s)}`);
  }
  return s;
}

const ENDED = new Set(['closed', 'failed', 'expired', 'killed', 'lost']);

// waitEnded polls until the worker has ended the session: every process of
// it is gone and its slot is free.
async function waitEnded(id) {
  const deadline = Date.now() + END_WAIT_MS;
  while (Date.now() < deadline) {
    const s = await api('GET', `/sessions/${id}`);
    if (ENDED.has(s.state)) {
      openSessions.delete(id);
      return s;
    }
    await sleep(25);
  }
  throw new Error(`session ${id} did not end within ${END_WAIT_MS} ms`);
}

async function deleteSession(id) {
  await api('DELETE', `/sessions/${id}`).catch((e) => log(`delete ${id}: ${e.message}`));
  return waitEnded(id);
}

// ---- cleanup ---------------------------------------------------------------------

const openBrowsers = new Set(); // connected clients
const openServers = new Set(); // in-process launchServer results
const openChildren = new Set(); // bare-server.cjs processes

async function cleanup() {
  for (const b of openBrowsers) await bounded(b.close(), 'close client', 10000).catch(() => {});
  openBrowsers.clear();
  for (const s of openServers) {
    await bounded(s.close(), 'close server', 15000).catch(() => s.kill());
  }
  openServers.clear();
  for (const c of openChildren) await stopChild(c);
  await Promise.allSettled([...creating]); // api() bounds each request
  for (const id of [...openSessions]) {
    await bounded(deleteSession(id), `delete ${id}`, 30000).catch((e) => log(e.message));
  }
}

let exiting = false;
async function exitAfterCleanup(code, why) {
  if (exiting) return;
  exiting = true;
  if (why) log(why);
  await bounded(cleanup(), 'cleanup', 60000).catch((e) => log(`cleanup: ${e.message}`));
  process.exit(code);
}

process.on('SIGTERM', () => exitAfterCleanup(143, 'SIGTERM: cleaning up'));
process.on('SIGINT', () => exitAfterCleanup(130, 'SIGINT: cleaning up'));
setTimeout(() => exitAfterCleanup(1, `deadline of ${DEADLINE_MS / 1000} s passed`),
  DEADLINE_MS).unref();

// ---- statistics --------------------------------------------------------------------

function stats(values) {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  const rank = (p) => v[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]; // nearest rank
  const median = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return { n, median, p90: rank(0.9), p99: rank(0.99), mean: v.reduce((a, b) => a + b, 0) / n,
    min: v[0], max: v[n - 1] };
}

// ---- 1. create-to-ready ---------------------------------------------------------------

async function firstEvaluate(browserType, wsEndpoint, t) {
  const browser = await bounded(browserType.connect(wsEndpoint), 'connect');
  openBrowsers.add(browser);
  t.connect = now();
  const context = await bounded(browser.newContext(), 'newContext');
  t.newContext = now();
  const page = await bounded(context.newPage(), 'newPage');
  t.newPage = now();
  const one = await bounded(page.evaluate('1'), 'evaluate');
  t.evaluate = now();
  if (one !== 1) throw new Error(`evaluate returned ${one}`);
  return browser;
}

function phases(t, first) {
  const order = [first, 'connect', 'newContext', 'newPage', 'evaluate'];
  const out = { total: t.evaluate - t.start };
  let prev = t.start;
  for (const k of order) {
    out[k] = t[k] - prev;
    prev = t[k];
  }
  return out;
}

async function readyViaWorker(engine) {
  const t = { start: now() };
  const s = await createSession(engine);
  t.create = now();
  const browser = await firstEvaluate(pw[engine], s.wsEndpoint, t);
  await bounded(browser.close(), 'close client');
  openBrowsers.delete(browser);
  await waitEnded(s.id); // not timed: the next round starts on a quiet machine
  return phases(t, 'create');
}

async function readyBare(engine, options) {
  const t = { start: now() };
  const server = await bounded(pw[engine].launchServer(options), 'launchServer');
  openServers.add(server);
  t.launch = now();
  const browser = await firstEvaluate(pw[engine], server.wsEndpoint(), t);
  await bounded(browser.close(), 'close client');
  openBrowsers.delete(browser);
  await bounded(server.close(), 'close server');
  openServers.delete(server);
  return phases(t, 'launch');
}

// readyBareChild is bare launchServer in a fresh Node process, as the
// worker's launcher is: it shows what Node's start costs on its own.
async function readyBareChild(engine, options) {
  const t = { start: now() };
  const child = await startChild(engine, options);
  t.launch = now();
  const browser = await firstEvaluate(pw[engine], child.wsEndpoint, t);
  await bounded(browser.close(), 'close client');
  openBrowsers.delete(browser);
  await stopChild(child);
  return phases(t, 'launch');
}

async function createToReady(engine) {
  const options = bareOptions(engine);
  const out = { worker: [], bare: [], bareChild: [] };
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const a = await readyViaWorker(engine);
    const b = await readyBare(engine, options);
    const c = await readyBareChild(engine, options);
    const tag = i < WARMUP ? 'warm-up' : `round ${i - WARMUP + 1}/${ROUNDS}`;
    log(`${engine} create-to-ready ${tag}: worker ${a.total.toFixed(0)} ms, ` +
      `bare ${b.total.toFixed(0)} ms, bare in a child ${c.total.toFixed(0)} ms`);
    if (i >= WARMUP) {
      out.worker.push(a);
      out.bare.push(b);
      out.bareChild.push(c);
    }
  }
  return out;
}

// ---- 2. relay overhead ------------------------------------------------------------------

async function openPage(browserType, wsEndpoint) {
  const browser = await bounded(browserType.connect(wsEndpoint), 'connect');
  openBrowsers.add(browser);
  const page = await bounded((await browser.newContext()).newPage(), 'newPage');
  return { browser, page };
}

async function evalLoop(page, n) {
  const each = new Array(n);
  const start = now();
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await page.evaluate('1');
    each[i] = now() - t0;
  }
  return { total: now() - start, each };
}

// relayOverhead runs the bare server in its own Node process, like the
// launcher: in this process it would share the client's event loop. Besides
// wall time it counts the CPU time the worker (the relay) and each Playwright
// server process (launcher, bare-server.cjs) used during each variant's
// batches.
async function relayOverhead(engine) {
  const s = await createSession(engine);
  const child = await startChild(engine, bareOptions(engine));
  const viaWorker = await openPage(pw[engine], s.wsEndpoint);
  const bare = await openPage(pw[engine], child.wsEndpoint);
  viaWorker.serverPid = launcherPid(s.id);
  bare.serverPid = child.pid;
  const side = () => ({ totals: [], each: [], workerCPU: 0, serverCPU: 0, evals: 0 });
  const out = { worker: side(), bare: side() };
  try {
    await bounded(evalLoop(viaWorker.page, EVAL_WARMUP), 'warm-up evaluates');
    await bounded(evalLoop(bare.page, EVAL_WARMUP), 'warm-up evaluates');
    for (let r = 0; r < EVAL_ROUNDS; r++) {
      for (const [name, conn] of [['worker', viaWorker], ['bare', bare]]) {
        const w0 = cpuMS(WORKER_PID);
        const s0 = cpuMS(conn.serverPid);
        const res = await bounded(evalLoop(conn.page, EVALS), `${EVALS} evaluates`, 300000);
        out[name].workerCPU += cpuMS(WORKER_PID) - w0;
        out[name].serverCPU += cpuMS(conn.serverPid) - s0;
        out[name].evals += EVALS;
        out[name].totals.push(res.total);
        out[name].each.push(...res.each);
      }
      log(`${engine} relay round ${r + 1}/${EVAL_ROUNDS}: worker ` +
        `${out.worker.totals[r].toFixed(0)} ms, bare ${out.bare.totals[r].toFixed(0)} ms`);
    }
  } finally {
    for (const conn of [viaWorker, bare]) {
      await bounded(conn.browser.close(), 'close client').catch(() => {});
      openBrowsers.delete(conn.browser);
    }
    await stopChild(child);
    await waitEnded(s.id);
  }
  return out;
}

// ---- 3. memory ---------------------------------------------------------------------------

// snapshot reads every process: parent, the environment it started with,
// RSS (VmRSS) and PSS (smaps_rollup), in kB.
function snapshot() {
  const procs = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const rss = Number((/VmRSS:\s+(\d+)/.exec(status) || [0, 0])[1]);
      let pss = 0;
      try {
        pss = Number((/Pss:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))
          || [0, 0])[1]);
      } catch {}
      let environ = '';
      try { environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1'); } catch {}
      procs.set(pid, { pid, ppid: Number(fields[1]), rss, pss, environ: environ.split('\0') });
    } catch {} // gone meanwhile
  }
  return procs;
}

// treeOf returns the processes that carry marker in their environment and
// all their descendants (Chromium's zygotes start with a clean environment;
// its crash handlers are re-parented, so a walk from one root misses them).
function treeOf(procs, marker) {
  const children = new Map();
  for (const p of procs.values()) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p);
  }
  const out = new Map();
  const stack = [...procs.values()].filter((p) => p.environ.includes(marker));
  while (stack.length) {
    const p = stack.pop();
    if (out.has(p.pid)) continue;
    out.set(p.pid, p);
    stack.push(...(children.get(p.pid) || []));
  }
  return [...out.values()];
}

function sum(list) {
  return {
    processes: list.length,
    rssKB: list.reduce((a, p) => a + p.rss, 0),
    pssKB: list.reduce((a, p) => a + p.pss, 0),
  };
}

function workerRSS() {
  const p = snapshot().get(WORKER_PID);
  if (!p) throw new Error(`worker ${WORKER_PID} is not running`);
  return { rssKB: p.rss, pssKB: p.pss };
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

// cpuMS returns the user + system CPU time a process has used, in ms.
function cpuMS(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 1000 / CLK_TCK;
}

// launcherPid finds the Node launcher of a session.
function launcherPid(id) {
  const p = treeOf(snapshot(), `CAMOFLEET_SESSION=${id}`)
    .find((x) => x.ppid === WORKER_PID && fs.readFileSync(`/proc/${x.pid}/cmdline`, 'latin1')
      .includes('launcher.cjs'));
  if (!p) throw new Error(`no launcher process found for session ${id}`);
  return p.pid;
}

function startChild(engine, options) {
  const mark = `CAMOFLEET_BENCH_BARE=${crypto.randomUUID()}`;
  const [k, v] = mark.split('=');
  const child = spawn(process.execPath, [path.join(__dirname, 'bare-server.cjs')], {
    env: { ...process.env, [k]: v }, stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.mark = mark;
  child.exited = new Promise((r) => child.once('exit', r));
  openChildren.add(child);
  child.stdin.write(JSON.stringify({ engine, options }) + '\n');
  const ready = new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const msg = JSON.parse(buf.slice(0, nl));
      if (msg.error) reject(new Error(`bare server: ${msg.error}`));
      else resolve(msg);
    });
    child.exited.then((c) => reject(new Error(`bare server exited with ${c}`)));
  });
  return bounded(ready, 'bare server start').then((msg) => {
    child.wsEndpoint = msg.wsEndpoint;
    return child;
  });
}

// stopChild closes a bare server politely, then kills what is left of it.
async function stopChild(child) {
  const left = () => treeOf(snapshot(), child.mark).map((p) => p.pid);
  const pids = left();
  child.stdin.end();
  await bounded(child.exited, 'bare server exit', 15000).catch(() => {});
  for (const pid of [...pids, ...left()]) {
    try { process.kill(pid, 'SIGKILL'); } catch {}
  }
  openChildren.delete(child);
}

async function memory(engine) {
  const out = { session: [], bare: [] };
  for (let i = 0; i < MEM_SAMPLES; i++) {
    const s = await createSession(engine);
    await sleep(SETTLE_MS);
    out.session.push(sum(treeOf(snapshot(), `CAMOFLEET_SESSION=${s.id}`)));
    await deleteSession(s.id);

    const child = await startChild(engine, bareOptions(engine));
    await sleep(SETTLE_MS);
    out.bare.push(sum(treeOf(snapshot(), child.mark)));
    await stopChild(child);
    log(`${engine} memory sample ${i + 1}/${MEM_SAMPLES}: session ` +
      `${mb(out.session[i].rssKB)} MB, bare ${mb(out.bare[i].rssKB)} MB (RSS sums)`);
  }
  return out;
}

// idleCPU returns the worker's CPU use in ms per second over a quiet window,
// and how many processes the machine had (its reaper scans /proc).
async function idleCPU(windowMS) {
  const c0 = cpuMS(WORKER_PID);
  const t0 = now();
  await sleep(windowMS);
  const perSec = (cpuMS(WORKER_PID) - c0) * 1000 / (now() - t0);
  return { cpuMSPerSec: perSec, machineProcesses: snapshot().size };
}

async function workerMemory(engine) {
  const ids = [];
  for (let i = 0; i < MEM_SESSIONS; i++) ids.push((await createSession(engine)).id);
  await sleep(SETTLE_MS);
  const idle = await idleCPU(IDLE_CPU_MS);
  const procs = snapshot();
  const worker = procs.get(WORKER_PID);
  const sessions = ids.map((id) => sum(treeOf(procs, `CAMOFLEET_SESSION=${id}`)));
  for (const id of ids) await deleteSession(id);
  return {
    engine, sessions: MEM_SESSIONS, workerRSSKB: worker.rss, workerPSSKB: worker.pss,
    totalRSSKB: worker.rss + sessions.reduce((a, s) => a + s.rssKB, 0), idle,
  };
}

// Node's own start, for the breakdown: the launcher is a fresh Node process
// that loads playwright-core's bundle before it starts the browser. The child
// also reports the CPU time the load took, which contention does not inflate
// as much as wall time.
function nodeStart(n) {
  const bundle = require.resolve('playwright-core/lib/coreBundle');
  const probe = `const c0 = process.cpuUsage(), t0 = performance.now();
    require(${JSON.stringify(bundle)});
    const c = process.cpuUsage(c0);
    const wall = performance.now() - t0;
    console.log(JSON.stringify({ wall, cpu: (c.user + c.system) / 1000 }));`;
  const out = { node: [], nodeWithBundle: [], requireWall: [], requireCPU: [] };
  for (let i = 0; i < n; i++) {
    let t0 = now();
    execFileSync(process.execPath, ['-e', '0'], { stdio: 'ignore', timeout: 30000 });
    out.node.push(now() - t0);
    t0 = now();
    const r = JSON.parse(execFileSync(process.execPath, ['-e', probe], { timeout: 60000 }));
    out.nodeWithBundle.push(now() - t0);
    out.requireWall.push(r.wall);
    out.requireCPU.push(r.cpu);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, stats(v)]));
}

// ---- report ---------------------------------------------------------------------------------

const mb = (kb) => (kb / 1024).toFixed(0);
const ms = (x) => x.toFixed(1);
const ratio = (a, b) => `${(a / b).toFixed(3)}×`;
const verdict = (r, goal) =>
  (r <= goal ? `met (≤ ${goal}×)` : `**missed** (goal ≤ ${goal}×)`);

function reportReady(lines, results) {
  lines.push('### 1. Create-to-ready (ms)', '');
  lines.push(`${ROUNDS} interleaved rounds (worker, bare, bare in a child) after ${WARMUP} ` +
    'warm-up rounds. The ratio and the goal compare the worker with bare launchServer in the ' +
    'benchmark process; "bare launchServer, own Node process" starts a fresh Node that loads ' +
    'playwright-core first, as the worker\'s launcher does, and is shown for the breakdown.', '');
  lines.push('| engine | variant | median | p90 | mean | min | max | ratio of medians | ' +
    'goal ≤ 1.15× |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const [engine, r] of Object.entries(results.ready)) {
    const w = stats(r.worker.map((x) => x.total));
    const b = stats(r.bare.map((x) => x.total));
    const c = stats(r.bareChild.map((x) => x.total));
    const row = (name, x, rest) => lines.push(`| ${engine} | ${name} | ${ms(x.median)} | ` +
      `${ms(x.p90)} | ${ms(x.mean)} | ${ms(x.min)} | ${ms(x.max)} | ${rest} |`);
    row('camofleet worker', w,
      `${ratio(w.median, b.median)} | ${verdict(w.median / b.median, 1.15)}`);
    row('bare launchServer', b, ' | ');
    row('bare launchServer, own Node process', c, `${ratio(c.median, b.median)} | `);
  }
  lines.push('', 'Median of each phase (ms); the first phase is POST /sessions (worker), ' +
    'launchServer (bare) or spawning the Node process until its server listens:', '');
  lines.push('| engine | variant | create / launch | connect | newContext | newPage | evaluate |');
  lines.push('|---|---|---:|---:|---:|---:|---:|');
  for (const [engine, r] of Object.entries(results.ready)) {
    for (const [name, list, first] of [['camofleet worker', r.worker, 'create'],
      ['bare launchServer', r.bare, 'launch'],
      ['bare launchServer, own Node process', r.bareChild, 'launch']]) {
      const med = (k) => ms(stats(list.map((x) => x[k])).median);
      lines.push(`| ${engine} | ${name} | ${med(first)} | ${med('connect')} | ` +
        `${med('newContext')} | ${med('newPage')} | ${med('evaluate')} |`);
    }
  }
  const n = results.nodeStart;
  lines.push('', `Node start alone (\`node -e 0\`): median ${ms(n.node.median)} ms. ` +
    `Node start + loading playwright-core's coreBundle (what launcher.cjs does before it ` +
    `launches): median ${ms(n.nodeWithBundle.median)} ms, of which the \`require\` takes ` +
    `${ms(n.requireWall.median)} ms wall time and ${ms(n.requireCPU.median)} ms CPU time ` +
    `(${n.node.n} runs each).`, '');
}

function reportRelay(lines, results) {
  lines.push('### 2. Relay overhead: sequential `page.evaluate("1")`', '');
  lines.push('Both servers run in their own Node process (the session\'s launcher; ' +
    'bench/bare-server.cjs), so the difference is the relay hop and the launcher.', '');
  lines.push(`${EVAL_ROUNDS} interleaved batches of ${EVALS} evaluates per variant on one open ` +
    `page each, after ${EVAL_WARMUP} warm-up evaluates; totals are per batch of ${EVALS}, ` +
    `per-evaluate figures pool all ${EVAL_ROUNDS * EVALS}.`, '');
  lines.push(`| engine | variant | total per ${EVALS} (median of batches), ms | ` +
    'per evaluate median, ms | p99, ms | ratio of totals | ratio of medians | goal ≤ 1.05× |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---|');
  for (const [engine, r] of Object.entries(results.relay)) {
    const wt = stats(r.worker.totals);
    const bt = stats(r.bare.totals);
    const we = stats(r.worker.each);
    const be = stats(r.bare.each);
    lines.push(`| ${engine} | via worker relay | ${ms(wt.median)} | ${we.median.toFixed(3)} | ` +
      `${we.p99.toFixed(3)} | ${ratio(wt.median, bt.median)} | ${ratio(we.median, be.median)} | ` +
      `${verdict(wt.median / bt.median, 1.05)} |`);
    lines.push(`| ${engine} | straight to launchServer (own Node process) | ${ms(bt.median)} | ` +
      `${be.median.toFixed(3)} | ${be.p99.toFixed(3)} | | | |`);
  }
  lines.push('', 'CPU time per evaluate, µs (from /proc, summed over all batches; the ' +
    'worker\'s CPU during the bare batches is its idle baseline):', '');
  lines.push('| engine | variant | worker process (relay) | Playwright server\'s Node ' +
    '(launcher / bare-server.cjs) |');
  lines.push('|---|---|---:|---:|');
  for (const [engine, r] of Object.entries(results.relay)) {
    for (const [name, x] of [['via worker relay', r.worker],
      ['straight to launchServer', r.bare]]) {
      const us = (v) => (v * 1000 / x.evals).toFixed(1);
      lines.push(`| ${engine} | ${name} | ${us(x.workerCPU)} | ${us(x.serverCPU)} |`);
    }
  }
  lines.push('');
  if (results.goBench) lines.push(...results.goBench, '');
}

function reportMemory(lines, results) {
  lines.push('### 3. Memory', '');
  lines.push(`Idle ready session (no client) against a bare launchServer in its own Node ` +
    `process, ${SETTLE_MS / 1000} s after ready; sums over every process of each (median of ` +
    `${MEM_SAMPLES} samples). PSS counts shared pages once; RSS counts them in every process.`, '');
  lines.push('| engine | variant | processes | RSS sum, MB | PSS sum, MB | RSS ratio |');
  lines.push('|---|---|---:|---:|---:|---:|');
  for (const [engine, r] of Object.entries(results.memory)) {
    const med = (list, k) => stats(list.map((x) => x[k])).median;
    const wr = med(r.session, 'rssKB');
    const br = med(r.bare, 'rssKB');
    lines.push(`| ${engine} | session (launcher + browser) | ${med(r.session, 'processes')} | ` +
      `${mb(wr)} | ${mb(med(r.session, 'pssKB'))} | ${ratio(wr, br)} |`);
    lines.push(`| ${engine} | bare launchServer (node + browser) | ${med(r.bare, 'processes')} | ` +
      `${mb(br)} | ${mb(med(r.bare, 'pssKB'))} | |`);
  }
  const w = results.workerMemory;
  const cpu = (x) => `${x.idle.cpuMSPerSec.toFixed(1)} (${x.idle.machineProcesses})`;
  lines.push('', '| worker process (camofleet alone) | RSS, MB | PSS, MB | ' +
    'worker + sessions RSS, MB | worker idle CPU, ms/s (processes on the machine) |');
  lines.push('|---|---:|---:|---:|---:|');
  lines.push(`| fresh, 0 sessions | ${mb(w.fresh.rssKB)} | ${mb(w.fresh.pssKB)} | | ` +
    `${cpu(w.fresh)} |`);
  for (const x of w.loaded) {
    lines.push(`| ${x.sessions} idle ${x.engine} sessions | ${mb(x.workerRSSKB)} | ` +
      `${mb(x.workerPSSKB)} | ${mb(x.totalRSSKB)} | ${cpu(x)} |`);
  }
  lines.push(`| 0 sessions again, at the end of the run | ${mb(w.after.rssKB)} | ` +
    `${mb(w.after.pssKB)} | | |`, '');
}

function goBenchLines() {
  if (!env.GO_BENCH_FILE || !fs.existsSync(env.GO_BENCH_FILE)) return null;
  const text = fs.readFileSync(env.GO_BENCH_FILE, 'utf8');
  const runs = {};
  for (const m of text.matchAll(/^Benchmark(\w+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns\/op.*$/gm)) {
    (runs[m[1]] = runs[m[1]] || []).push(Number(m[2]));
  }
  const rel = runs.RelayRoundTrip;
  const dir = runs.DirectRoundTrip;
  if (!rel || !dir) return null;
  const r = stats(rel).median;
  const d = stats(dir).median;
  return [
    'Go benchmarks of the relay alone (`internal/relay`, a small Playwright-like message echoed ' +
      'by a coder/websocket server, no browser), median of the runs:', '',
    '| benchmark | runs | ns per round trip (median) |', '|---|---:|---:|',
    `| BenchmarkDirectRoundTrip (client → echo) | ${dir.length} | ${d.toFixed(0)} |`,
    `| BenchmarkRelayRoundTrip (client → relay → echo) | ${rel.length} | ${r.toFixed(0)} |`,
    '', `The relay adds ${((r - d) / 1000).toFixed(1)} µs per round trip on loopback ` +
      `(${ratio(r, d)} of the echo alone).`,
  ];
}

function report(results) {
  const lines = [
    'Baseline launch options, read from internal/engine at run time: chromium `args` ' +
      `${JSON.stringify(chromiumArgs())}; firefox \`channel: "moz-firefox"\`, ` +
      `\`firefoxUserPrefs\` ${JSON.stringify(firefoxPrefs())}; both headless, ` +
      'executablePath from the worker\'s /health.', '',
  ];
  reportReady(lines, results);
  reportRelay(lines, results);
  reportMemory(lines, results);
  return lines.join('\n');
}

// ---- main -------------------------------------------------------------------------------------

async function main() {
  health = await api('GET', '/health');
  const results = { ready: {}, relay: {}, memory: {}, workerMemory: { loaded: [] } };
  results.workerMemory.fresh = { ...workerRSS(), idle: await idleCPU(IDLE_CPU_MS) };
  for (const engine of ENGINES) {
    log(`${engine}: memory`);
    results.memory[engine] = await memory(engine);
    results.workerMemory.loaded.push(await workerMemory(engine));
  }
  for (const engine of ENGINES) {
    log(`${engine}: create-to-ready`);
    results.ready[engine] = await createToReady(engine);
    log(`${engine}: relay overhead`);
    results.relay[engine] = await relayOverhead(engine);
  }
  results.nodeStart = nodeStart(10);
  results.workerMemory.after = workerRSS();
  results.goBench = goBenchLines();
  if (env.BENCH_JSON) fs.writeFileSync(env.BENCH_JSON, JSON.stringify(results, null, 1));
  process.stdout.write(report(results) + '\n');
}

main().then(() => exitAfterCleanup(0), (e) => exitAfterCleanup(1, `failed: ${e.stack || e}`));
