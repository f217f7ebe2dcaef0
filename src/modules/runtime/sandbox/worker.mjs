/*
 * Sandbox worker: a separate Node process (forked by pool.ts with a minimal environment, no argv and an IPC
 * channel only) that runs one untrusted script at a time inside an isolated-vm isolate. Plain JavaScript so it
 * starts without a TypeScript loader. The isolate sees only ECMAScript built-ins plus `console`; it has no
 * require, process, timers, filesystem or network. Protocol (IPC, one run at a time):
 *   parent → worker  {type:'run', runId, code, module, memoryMb, timeoutMs, maxOutputBytes}
 *                    {type:'cancel', runId}
 *   worker → parent  {type:'ready', ivmVersion}
 *                    {type:'output', runId, text}            (whole console lines, in order)
 *                    {type:'done', runId, status, result, error}
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The newest isolated-vm that loads on this Node (6.x needs Node ≥ 22 and fixes a sandbox escape in 5.x). */
function loadIsolatedVm() {
  const failures = [];
  for (const name of ['isolated-vm-6', 'isolated-vm-5']) {
    try {
      const ivm = require(name);
      const { version } = require(`${name}/package.json`);
      return { ivm, version };
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  throw new Error(`no usable isolated-vm build (${failures.join('; ')})`);
}

const { ivm, version } = loadIsolatedVm();
const send = (message) => {
  if (process.connected) process.send(message);
};

const outputFlushMs = 20;
const outputFlushBytes = 60 * 1024;

/** The console installed in every context; `$0` is a host reference that appends one line. */
const consoleSetup = `
const emit = $0;
const format = (value) => {
  if (typeof value === 'string') return value;
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json;
  } catch {}
  try { return String(value); } catch { return '[unprintable]'; }
};
const writer = (prefix) => function (...args) {
  emit.applySync(undefined, [prefix + args.map(format).join(' ') + '\\n']);
};
const console = Object.freeze({
  log: writer(''), debug: writer(''), trace: writer(''),
  info: writer('[INFO] '), warn: writer('[WARN] '), error: writer('[ERROR] '),
});
Object.defineProperty(globalThis, 'console', { value: console, writable: true, configurable: true, enumerable: false });
`;

const stringify = `
const value = $0;
if (value === undefined) return null;
try {
  const json = JSON.stringify(value);
  if (json !== undefined) return json;
} catch {}
return JSON.stringify(String(value));
`;

let current;

/**
 * A fresh isolate + context with the console installed, prepared while the worker is idle so a run does not wait
 * for it. Each is used for exactly one run (never reused): `sink.write` is pointed at that run's output.
 */
async function prepare(memoryMb) {
  const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
  const sink = { write: undefined };
  const context = await isolate.createContext();
  const emit = new ivm.Reference((text) => sink.write?.(text));
  await context.evalClosure(consoleSetup, [emit]);
  return { isolate, context, sink, memoryMb };
}

let spare;
const warm = (memoryMb) => {
  spare = prepare(memoryMb).catch(() => undefined);
};

async function take(memoryMb) {
  const ready = spare ? await spare : undefined;
  spare = undefined;
  if (ready && ready.memoryMb === memoryMb && !ready.isolate.isDisposed) return ready;
  if (ready && !ready.isolate.isDisposed) ready.isolate.dispose();
  return prepare(memoryMb);
}

async function run(message) {
  const { runId } = message;
  const state = { outcome: undefined, isolate: undefined };
  const settle = (outcome) => {
    state.outcome ??= outcome;
  };
  const stop = (outcome) => {
    settle(outcome);
    if (state.isolate && !state.isolate.isDisposed) state.isolate.dispose();
  };
  // Registered before the isolate exists, so a cancel or the timeout during setup still stops the run.
  current = { runId, stop };
  const timer = setTimeout(() => stop({ status: 'timed_out', error: 'Execution timed out' }), message.timeoutMs);
  let prepared;
  try {
    prepared = await take(message.memoryMb);
  } catch (err) {
    clearTimeout(timer);
    current = undefined;
    const error = `Sandbox setup failed: ${err instanceof Error ? err.message : String(err)}`;
    send({ type: 'done', runId, status: 'failed', result: null, error });
    return;
  }
  const { isolate, context, sink } = prepared;
  state.isolate = isolate;
  if (state.outcome) isolate.dispose();

  // Output: whole lines, batched, capped at maxOutputBytes (then one truncation notice and nothing more).
  let pending = [];
  let pendingBytes = 0;
  let totalBytes = 0;
  let truncated = false;
  let flushTimer;
  const flush = () => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    if (pending.length === 0) return;
    send({ type: 'output', runId, text: pending.join('') });
    pending = [];
    pendingBytes = 0;
  };
  const append = (text) => {
    if (truncated || state.outcome) return;
    const line = String(text);
    const bytes = Buffer.byteLength(line);
    if (totalBytes + bytes > message.maxOutputBytes) {
      truncated = true;
      pending.push('[WARN] output truncated\n');
    } else {
      totalBytes += bytes;
      pending.push(line);
      pendingBytes += bytes;
    }
    if (pendingBytes >= outputFlushBytes || truncated) flush();
    else flushTimer ??= setTimeout(flush, outputFlushMs);
  };

  sink.write = append;
  try {
    let value;
    let script;
    try {
      script = await isolate.compileScript(message.code, { filename: 'script.js' });
    } catch (err) {
      // `await`, `import` or `export` at top level: compile as an ES module (result = its default export).
      if (!(err instanceof SyntaxError) || !/await|import|export/.test(err.message)) throw err;
    }
    if (script) {
      value = await script.run(context, { reference: true, promise: true, timeout: message.timeoutMs });
    } else {
      const module = await isolate.compileModule(message.code, { filename: 'script.mjs' });
      await module.instantiate(context, (specifier) => {
        throw new Error(`import of "${specifier}" is not supported in the sandbox`);
      });
      await module.evaluate({ promise: true, timeout: message.timeoutMs });
      value = await module.namespace.get('default', { reference: true });
    }
    const json = await context.evalClosure(stringify, [value ? value.derefInto() : undefined], {
      result: { copy: true },
      timeout: Math.max(1, message.timeoutMs),
    });
    settle({ status: 'completed', result: json ?? null });
  } catch (err) {
    let text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    // Keep the script's frames only: everything after the isolate boundary is the worker's own code.
    const boundary = text.search(/\n\s*at \(<isolated-vm boundary>\)/);
    if (boundary >= 0) text = text.slice(0, boundary);
    if (/memory limit/i.test(text))
      settle({ status: 'failed', error: `Memory limit exceeded (${message.memoryMb} MB)` });
    else if (/timed out/i.test(text)) settle({ status: 'timed_out', error: 'Execution timed out' });
    else settle({ status: 'failed', error: text.replace(/\s+\[<isolated-vm>.*$/m, '') });
  } finally {
    clearTimeout(timer);
    flush();
    if (!isolate.isDisposed) isolate.dispose();
    current = undefined;
    const outcome = state.outcome ?? { status: 'failed', error: 'Execution ended without a result' };
    send({ type: 'done', runId, status: outcome.status, result: outcome.result ?? null, error: outcome.error ?? null });
    warm(message.memoryMb);
  }
}

process.on('message', (message) => {
  if (!message || typeof message !== 'object') return;
  if (message.type === 'run') {
    if (current) {
      send({ type: 'done', runId: message.runId, status: 'failed', result: null, error: 'Sandbox worker busy' });
      return;
    }
    void run(message);
  } else if (message.type === 'cancel') {
    if (current && current.runId === message.runId) current.stop({ status: 'cancelled', error: 'Cancelled by user' });
  }
});
process.on('disconnect', () => process.exit(0));
warm(64);
send({ type: 'ready', ivmVersion: version });
