#!/usr/bin/env node
// A bare Playwright browser server in its own Node process: the baseline of
// the memory benchmark (node + browser, as a session is launcher + browser).
//
// Reads one JSON line on stdin: {"engine", "options"} where options go to
// <engine>.launchServer as they are. Prints {"wsEndpoint", "browserPid"} when
// the server listens. Closes the browser and exits when stdin closes or on
// SIGTERM.
'use strict';

const readline = require('readline');
const pw = require('playwright-core');

let server = null;
let closing = false;

async function stop(code) {
  if (closing) return;
  closing = true;
  if (server) await server.close().catch(() => {});
  process.exit(code);
}

process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));

const rl = readline.createInterface({ input: process.stdin });
let configured = false;
rl.on('line', async (line) => {
  if (configured) return;
  configured = true;
  const { engine, options } = JSON.parse(line);
  try {
    server = await pw[engine].launchServer(options);
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: String(e && e.message || e) }) + '\n');
    return stop(3);
  }
  const proc = server.process();
  process.stdout.write(JSON.stringify({
    wsEndpoint: server.wsEndpoint(), browserPid: proc ? proc.pid : 0,
  }) + '\n');
});
rl.on('close', () => stop(0));
