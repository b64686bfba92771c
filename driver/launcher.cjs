#!/usr/bin/env node
// Camo-fleet session launcher: one process per session, owning one browser.
//
// The worker starts this script with a JSON configuration on the first line of
// stdin. The script launches the browser behind a Playwright server bound to
// 127.0.0.1 on an unguessable path, and prints one JSON event per line on
// stdout ("ready" carries the wsEndpoint). Every browser context, whoever
// creates it (a Direct client or the worker's Managed runner), is instrumented
// here, on the server side, so both modes get the same artifacts:
//   console.jsonl, network.jsonl, .har-entries.jsonl, video/*.webm and
//   downloads/.incoming/<id> (the worker gives downloads their safe names).
// The URL policy is enforced here too, for every client.
//
// It ends when stdin closes, a {"cmd":"close"} line arrives, or SIGTERM: it
// closes contexts first (videos and downloads are finished), then the browser,
// then prints "closed" and exits. The worker kills the process groups of this
// script and of the browser after a grace period whatever happens here.
//
// It relies on server-side classes of playwright-core, which is pinned to one
// exact version in package.json; a version bump must re-run the driver tests.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const crypto = require('crypto');
const { server, remote } = require('playwright-core/lib/coreBundle');

const ENGINE_TYPES = { chromium: 'chromium', firefox: 'firefox', camoufox: 'firefox' };
const CONTEXT_CLOSE_TIMEOUT_MS = 10000;
const SIZES_TIMEOUT_MS = 5000;
const DOWNLOAD_COPY_TIMEOUT_MS = 10000;
const ERROR_PAGE_WAIT_MS = 2000;
const MASKED_HEADERS = new Set(['cookie', 'set-cookie', 'authorization', 'proxy-authorization']);

let cfg;
let closing = false;
const pending = new Set(); // promises that must settle before the browser closes

function emit(event, fields) {
  process.stdout.write(JSON.stringify({ event, time: new Date().toISOString(), ...fields }) + '\n');
}

// When the worker dies its end of stdout goes with it, and the SIGTERM that
// tells us so (Pdeathsig) starts a polite close whose events cannot be read.
// An unhandled EPIPE would end the process before contexts and the browser
// are closed; lost events are harmless then.
process.stdout.on('error', () => {});

function track(promise) {
  pending.add(promise);
  promise.finally(() => pending.delete(promise)).catch(() => {});
  return promise;
}

function withTimeout(promise, ms, fallback) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(fallback), ms); });
  return Promise.race([promise.catch(() => fallback), timeout]).finally(() => clearTimeout(timer));
}

// Append-only JSONL writers; appendFileSync keeps each line whole even when
// the process is killed right after.
function jsonl(name) {
  const file = path.join(cfg.sessionDir, name);
  return (obj) => {
    try {
      fs.appendFileSync(file, JSON.stringify(obj) + '\n');
    } catch (e) {
      emit('artifact_error', { file: name, message: String(e && e.message || e) });
    }
  };
}

// ---- URL policy -------------------------------------------------------------

function urlAllowed(raw) {
  let scheme = '';
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(String(raw).trim());
  if (m) scheme = m[1].toLowerCase();
  if (scheme === 'http' || scheme === 'https') return true;
  if (scheme === 'data') return !!cfg.urlPolicy.allowData;
  if (scheme === 'about') {
    const rest = String(raw).trim().slice(6).toLowerCase();
    return rest === 'blank' || rest === 'srcdoc';
  }
  return false;
}

// Blocks seen on each page: a goto that a block interrupted or followed fails
// with URL_BLOCKED itself, whichever way the browser refused the load.
const pageBlocks = new WeakMap(); // page -> { count, message }

function policyMessage(url) {
  return `URL_BLOCKED: navigation to "${url}" is blocked by the worker's URL policy ` +
    `(allowed: http, https, about:blank${cfg.urlPolicy.allowData ? ', data' : ''})`;
}

function policyError(url, via, page, message = policyMessage(url)) {
  emit('policy_block', { url: String(url).slice(0, 2048), via });
  if (page) pageBlocks.set(page, { count: blockCount(page) + 1, message });
  return new Error(message);
}

function blockCount(page) {
  return (pageBlocks.get(page) || { count: 0 }).count;
}

let framePatched = false;
function patchFrameGoto(frame) {
  if (framePatched) return;
  framePatched = true;
  const proto = Object.getPrototypeOf(frame);
  const goto = proto.goto;
  proto.goto = async function (progress, url, options) {
    if (!urlAllowed(url)) throw policyError(url, 'goto');
    const page = this._page;
    const before = blockCount(page);
    let failure = null;
    const response = await goto.call(this, progress, url, options).catch((e) => { failure = e; });
    if (failure) await errorPageShown(this, failure);
    if (blockCount(page) > before) throw new Error(pageBlocks.get(page).message);
    if (failure) throw failure;
    return response;
  };
}

// Chromium commits its error page for a failed navigation after the goto has
// failed; a navigation sent right after would be interrupted by it. Wait for
// that page, briefly, before the failure is reported.
function errorPageShown(frame, failure) {
  const message = String(failure && failure.message);
  if (cfg.engine !== 'chromium' || !message.includes('net::ERR_') || message.includes('ERR_ABORTED') ||
    frame.url().startsWith('chrome-error:')) return Promise.resolve();
  const page = frame._page;
  const event = server.Page.Events.InternalFrameNavigatedToNewDocument;
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      page.off(event, onNavigated);
      resolve();
    };
    const onNavigated = (f) => { if (f === frame) done(); };
    const timer = setTimeout(done, ERROR_PAGE_WAIT_MS);
    page.on(event, onNavigated);
  });
}

// The browser's own error pages stand in for a failed navigation; they are
// not content a page can reach.
const ERROR_PAGES = [/^chrome-error:/i, /^about:(neterror|certerror|blocked)(\?|$)/i];

// frameAllowed applies the policy to a document a frame shows. A data:
// document in an iframe is part of its page (applications build frames from
// them); ALLOW_DATA_URLS is about what the page itself may be.
function frameAllowed(frame, url) {
  if (urlAllowed(url) || ERROR_PAGES.some((re) => re.test(url))) return true;
  return !!frame.parentFrame() && /^data:/i.test(url);
}

function watchNavigations(page) {
  page.on(server.Page.Events.InternalFrameNavigatedToNewDocument, (frame) => {
    const url = frame.url();
    if (frameAllowed(frame, url)) return;
    policyError(url, 'navigation', page);
    track(frame.goto(server.nullProgress, 'about:blank', {}).catch(() => {}));
  });
}

// Loads the browser itself refuses (a script sending the page to a file:
// URL, a redirect to one) never become navigations; they are known only by
// what the browser reports. These patterns recognise those reports.
const REFUSED_CONSOLE = /^Not allowed to load local resource: (\S+)/; // Chromium
const REFUSED_PAGEERROR = /Access to '([^']+)' from script denied/; // Firefox

function refusedLoad(text, pattern) {
  const m = pattern.exec(String(text || ''));
  return m && !urlAllowed(m[1]) ? m[1] : '';
}

// ---- network: compact log and HAR entries ------------------------------------

function headerList(headers) {
  return (headers || []).map((h) => ({
    name: h.name,
    value: MASKED_HEADERS.has(h.name.toLowerCase()) ? '<masked>' : h.value,
  }));
}

function queryString(url) {
  try {
    return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
  } catch {
    return [];
  }
}

function harTimings(timing, totalMs) {
  if (!timing || timing.startTime <= 0) return { send: 0, wait: totalMs, receive: 0 };
  const span = (a, b) => (a >= 0 && b >= 0 && b >= a ? b - a : -1);
  const wait = span(timing.requestStart, timing.responseStart);
  return {
    blocked: -1,
    dns: span(timing.domainLookupStart, timing.domainLookupEnd),
    connect: span(timing.connectStart, timing.connectEnd),
    ssl: span(timing.secureConnectionStart, timing.connectEnd),
    send: 0,
    wait: wait < 0 ? totalMs : wait,
    receive: 0,
  };
}

function pageOf(request) {
  const frame = request.frame && request.frame();
  return frame ? frame._page : null;
}

// A redirect to a URL the policy forbids is reported as soon as its response
// arrives, before the navigation it belongs to settles.
function checkRedirect(response) {
  const status = response.status();
  const location = (response.headers().find((h) => h.name.toLowerCase() === 'location') || {}).value;
  if (status < 300 || status >= 400 || !location) return;
  let target = location;
  try { target = new URL(location, response.url()).href; } catch {}
  if (!urlAllowed(target)) policyError(target, 'redirect', pageOf(response.request()));
}

// Chromium refuses a redirect to a file: or internal URL itself and shows
// neither the response nor the target, only this failure.
function checkRefusedRedirect(request) {
  if (!String(request._failureText || '').includes('ERR_UNSAFE_REDIRECT')) return;
  policyError(request.url(), 'redirect', pageOf(request),
    `URL_BLOCKED: "${request.url()}" redirects to a URL the browser refuses (a local file or ` +
    `an internal page), which the worker's URL policy blocks as well`);
}

function makeNetworkRecorder(pageIDs) {
  const writeCompact = jsonl('network.jsonl');
  const writeHar = jsonl('.har-entries.jsonl');
  const started = new Map(); // request -> wall time in ms

  async function finish(request, failure) {
    const begin = started.get(request) || Date.now();
    started.delete(request);
    const durationMs = Date.now() - begin;
    const response = request._existingResponse ? request._existingResponse() : null;
    let sizes = null;
    if (response) sizes = await withTimeout(response.internalSizes(), SIZES_TIMEOUT_MS, null);
    const status = response ? response.status() : 0;
    const headers = response ? response.headers() : [];
    const mime = (headers.find((h) => h.name.toLowerCase() === 'content-type') || {}).value || '';
    const location = (headers.find((h) => h.name.toLowerCase() === 'location') || {}).value || '';
    const bytes = sizes ? sizes.responseBodySize : 0;
    writeCompact({
      time: new Date(begin).toISOString(),
      method: request.method(),
      url: request.url(),
      status,
      resourceType: request.resourceType(),
      bytes,
      durationMs,
      failure: failure || '',
    });
    const page = pageOf(request);
    writeHar({
      pageref: page ? pageIDs.get(page) : undefined,
      startedDateTime: new Date(begin).toISOString(),
      time: durationMs,
      request: {
        method: request.method(),
        url: request.url(),
        httpVersion: 'HTTP/1.1',
        cookies: [],
        headers: headerList(request.headers()),
        queryString: queryString(request.url()),
        headersSize: sizes ? sizes.requestHeadersSize : -1,
        bodySize: request.bodySize ? request.bodySize() : 0,
      },
      response: {
        status,
        statusText: response ? response.statusText() : '',
        httpVersion: 'HTTP/1.1',
        cookies: [],
        headers: headerList(headers),
        content: { size: bytes, mimeType: mime },
        redirectURL: location,
        headersSize: sizes ? sizes.responseHeadersSize : -1,
        bodySize: bytes,
        _failureText: failure || undefined,
      },
      cache: {},
      timings: harTimings(response && response.timing(), durationMs),
      serverIPAddress: undefined,
    });
  }

  return (context) => {
    const E = server.BrowserContext.Events;
    context.on(E.Request, (request) => started.set(request, Date.now()));
    context.on(E.Response, checkRedirect);
    context.on(E.RequestFinished, ({ request }) => track(finish(request, '')));
    context.on(E.RequestFailed, (request) => {
      checkRefusedRedirect(request);
      track(finish(request, request._failureText || 'failed'));
    });
  };
}

// ---- console, dialogs, downloads, pages -----------------------------------------

function makeContextInstrumenter() {
  const writeConsole = jsonl('console.jsonl');
  const writeHar = jsonl('.har-entries.jsonl');
  const pageIDs = new Map();
  const recordNetwork = makeNetworkRecorder(pageIDs);
  let contextCount = 0;
  let pageCount = 0;

  function onDownload(download) {
    const id = crypto.randomUUID();
    const incoming = path.join(cfg.sessionDir, 'downloads', '.incoming');
    const copy = (async () => {
      const local = await download.artifact.localPathAfterFinished(server.nullProgress);
      fs.mkdirSync(incoming, { recursive: true });
      fs.copyFileSync(local, path.join(incoming, id));
      emit('download', { id, suggestedName: download.suggestedFilename(), url: download.url });
    })().catch((e) => emit('artifact_error', { file: 'download', message: String(e.message || e) }));
    track(withTimeout(copy, DOWNLOAD_COPY_TIMEOUT_MS));
  }

  function onPage(page, contextID) {
    const pageID = `page_${++pageCount}`;
    pageIDs.set(page, pageID);
    patchFrameGoto(page.mainFrame());
    watchNavigations(page);
    writeHar({ page: { id: pageID, startedDateTime: new Date().toISOString(), title: '', pageTimings: {} } });
    page.on(server.Page.Events.Download, onDownload);
    page.on(server.Page.Events.Crash, () => emit('page_crash', { context: contextID, page: pageID }));
    emit('page_open', { context: contextID, page: pageID });
  }

  return (context) => {
    const contextID = `context_${++contextCount}`;
    const E = server.BrowserContext.Events;
    recordNetwork(context);
    context.on(E.Page, (page) => onPage(page, contextID));
    for (const page of context.pages()) onPage(page, contextID);
    context.on(E.Console, (message) => {
      const loc = message.location() || {};
      const refused = message.type() === 'error' && refusedLoad(message.text(), REFUSED_CONSOLE);
      if (refused) policyError(refused, 'script', message.page());
      writeConsole({
        time: new Date().toISOString(),
        type: message.type(),
        text: message.text(),
        url: loc.url || '',
        line: loc.lineNumber || 0,
        page: pageIDs.get(message.page()) || '',
      });
    });
    context.on(E.PageError, (pageError, page) => {
      const refused = refusedLoad(pageError.error && pageError.error.message, REFUSED_PAGEERROR);
      if (refused) policyError(refused, 'script', page);
      writeConsole({
        time: new Date().toISOString(),
        type: 'pageerror',
        text: String(pageError.error && pageError.error.message || pageError.error),
        url: (pageError.location && pageError.location.url) || '',
        line: (pageError.location && pageError.location.lineNumber) || 0,
        page: pageIDs.get(page) || '',
      });
    });
    context.dialogManager.addDialogHandler((dialog) => {
      writeConsole({
        time: new Date().toISOString(),
        type: 'dialog',
        text: `${dialog.type()}: ${dialog.message()}`,
        url: dialog.page().mainFrame().url(),
        line: 0,
        page: pageIDs.get(dialog.page()) || '',
      });
      emit('dialog', { dialogType: dialog.type() });
      return false; // not handled here: the client's handler or Playwright's dismissal wins
    });
    context.on(E.Close, () => emit('context_close', { context: contextID }));
    emit('context_open', { context: contextID });
  };
}

// Playwright 1.64.1 dereferences pageError.location without a check; a page
// error without a location would throw inside the event dispatch. Fill it in.
function shimPageErrorLocation() {
  const emitOriginal = server.BrowserContext.prototype.emit;
  server.BrowserContext.prototype.emit = function (name, ...args) {
    if (name === server.BrowserContext.Events.PageError && args[0] && !args[0].location) {
      args[0].location = { url: '', lineNumber: 0, columnNumber: 0 };
    }
    return emitOriginal.call(this, name, ...args);
  };
}

// Every new context gets the session's recording options, unless the client
// asked for its own video.
function patchNewContext(instrument) {
  const newContext = server.Browser.prototype.newContext;
  server.Browser.prototype.newContext = async function (progress, options) {
    const opts = { ...options };
    if (cfg.record.video && !opts.recordVideo) {
      const dir = path.join(cfg.sessionDir, 'video');
      fs.mkdirSync(dir, { recursive: true });
      const vp = opts.viewport || cfg.viewport;
      opts.recordVideo = { dir, size: vp ? { width: vp.width, height: vp.height } : undefined };
    }
    if (opts.acceptDownloads === undefined) opts.acceptDownloads = 'accept';
    const context = await newContext.call(this, progress, opts);
    instrument(context);
    return context;
  };
}

// ---- launch and close ------------------------------------------------------------

// The browser inherits this process's environment minus any CAMOU_CONFIG*
// (a stale chunk would be joined onto the session's configuration), plus the
// session's own variables.
function browserEnv() {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('CAMOU_CONFIG')) env[name] = value;
  }
  Object.assign(env, cfg.env || {});
  return Object.entries(env).map(([name, value]) => ({ name, value: String(value) }));
}

async function launch() {
  const playwright = server.createPlaywright({ sdkLanguage: 'javascript', isServer: true });
  const browserType = playwright[ENGINE_TYPES[cfg.engine]];
  const options = {
    executablePath: cfg.executablePath,
    channel: cfg.channel || undefined,
    headless: cfg.headless,
    args: cfg.args || [],
    env: browserEnv(),
    firefoxUserPrefs: cfg.firefoxUserPrefs || undefined,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    timeout: cfg.launchTimeoutMs || 30000,
    artifactsDir: cfg.artifactsDir,
  };
  // The worker bounds the whole start with its own timeout and kills the tree.
  return await browserType.launch(server.nullProgress, options);
}

async function closeAll(browser, reason) {
  if (closing) return;
  closing = true;
  emit('closing', { reason });
  const contexts = browser ? browser.contexts() : [];
  await withTimeout(Promise.all(contexts.map((c) => c.close(server.nullProgress, { reason }).catch(() => {}))),
    CONTEXT_CLOSE_TIMEOUT_MS);
  await withTimeout(Promise.all([...pending]), CONTEXT_CLOSE_TIMEOUT_MS);
  if (browser) await withTimeout(browser.close(server.nullProgress, { reason }).catch(() => {}), CONTEXT_CLOSE_TIMEOUT_MS);
  emit('closed', {});
  process.exit(0);
}

async function main() {
  const rl = readline.createInterface({ input: process.stdin });
  const lines = rl[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) process.exit(2);
  cfg = JSON.parse(first.value);
  cfg.urlPolicy = cfg.urlPolicy || {};
  cfg.record = cfg.record || {};

  shimPageErrorLocation();
  patchNewContext(makeContextInstrumenter());

  let browser = null;
  const stop = (reason) => closeAll(browser, reason);
  process.on('SIGTERM', () => stop('terminated'));
  process.on('SIGINT', () => stop('interrupted'));
  (async () => {
    for await (const line of { [Symbol.asyncIterator]: () => lines }) {
      if (line.trim() === '{"cmd":"close"}') return stop('close');
    }
    stop('stdin_closed');
  })();

  try {
    browser = await launch();
  } catch (e) {
    emit('error', { stage: 'launch', message: String(e && e.message || e) });
    process.exit(3);
  }
  browser.on(server.Browser.Events.Disconnected, () => {
    if (!closing) {
      emit('browser_disconnected', {});
      closing = true;
      withTimeout(Promise.all([...pending]), 2000).then(() => process.exit(4));
    }
  });
  const wsServer = new remote.PlaywrightServer({
    mode: 'launchServer',
    path: cfg.wsPath,
    maxConnections: Infinity,
    preLaunchedBrowser: browser,
  });
  const wsEndpoint = await wsServer.listen(0, '127.0.0.1');
  const proc = browser.options.browserProcess.process;
  emit('ready', { wsEndpoint, browserPid: proc ? proc.pid : 0, browserVersion: browser.version() });
}

main().catch((e) => {
  emit('error', { stage: 'main', message: String(e && e.stack || e) });
  process.exit(1);
});
