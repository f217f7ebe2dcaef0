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
import v8 from 'node:v8';

const require = createRequire(import.meta.url);

/** A host message without the directories of the paths in it (what runs record never shows the server's layout). */
function withoutDirectories(text) {
  return String(text).replace(/(?:[A-Za-z]:)?(?:file:\/\/)?\/(?:[^\s'"/]+\/)+/g, '');
}

/**
 * isolated-vm 7.x (Node ≥ 24; prebuilt for Node 24 and 26). On an older Node its loader finds no matching build and the
 * failure names the Node version, so the pool can say why the sandbox is unavailable.
 */
function loadIsolatedVm() {
  const failures = [];
  // The pool may name the candidates (argv[2], comma-separated; tests use it); by default the one dependency.
  const candidates = process.argv[2] ? process.argv[2].split(',') : ['isolated-vm'];
  for (const name of candidates) {
    try {
      const ivm = require(name);
      const { version } = require(`${name}/package.json`);
      return { ivm, version };
    } catch (err) {
      failures.push(`${name}: ${withoutDirectories(err instanceof Error ? err.message.split('\n')[0] : String(err))}`);
    }
  }
  throw new Error(`no usable isolated-vm build for Node ${process.version} (${failures.join('; ')})`);
}

let loaded;
try {
  loaded = loadIsolatedVm();
} catch (err) {
  // Tell the pool why no run can ever start here, then leave (nothing else to do in this process).
  if (process.connected)
    process.send({ type: 'unavailable', reason: err instanceof Error ? err.message : String(err) });
  process.disconnect?.();
  process.exit(3);
}
const { ivm, version } = loaded;
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

/** Longest error text a run records (UTF-16 units, before control characters are escaped). */
const maxErrorChars = 8 * 1024;

/**
 * Settles the run's value inside the isolate: awaits it (a rejection is described here, where the thrown value
 * lives, so cyclic objects, throwing getters, `toString` or `Symbol.toPrimitive` tricks and non-Error values all
 * become one bounded string), then serialises it as JSON. Only strings cross back to the worker.
 */
const settleValue = `
const value = $0;
const max = $1;
const cut = (s) => (s.length > max ? s.slice(0, max) + '… (truncated)' : s);
const attempt = (f) => { try { return f(); } catch { return undefined; } };
const asString = (v) => (typeof v === 'string' ? v : undefined);
const describe = (e) => {
  if (typeof e === 'string') return cut('Uncaught ' + e);
  if (e === null || (typeof e !== 'object' && typeof e !== 'function')) {
    return cut('Uncaught ' + (attempt(() => String(e)) ?? typeof e));
  }
  if (attempt(() => e instanceof Error) === true) {
    const stack = attempt(() => asString(e.stack));
    if (stack) return cut(stack);
    const name = attempt(() => asString(e.name)) ?? 'Error';
    const message = attempt(() => asString(e.message)) ?? '';
    return cut(message ? name + ': ' + message : name);
  }
  const json = attempt(() => asString(JSON.stringify(e)));
  if (json !== undefined) return cut('Uncaught ' + json);
  const text = attempt(() => asString(String(e)));
  if (text !== undefined) return cut('Uncaught ' + text);
  return 'Uncaught ' + (attempt(() => asString(Object.prototype.toString.call(e))) ?? '[object]');
};
return (async () => {
  let settled;
  try {
    settled = await value;
  } catch (e) {
    return { error: attempt(() => describe(e)) ?? 'Uncaught exception' };
  }
  if (settled === undefined) return { json: null };
  try {
    const json = JSON.stringify(settled);
    if (json !== undefined) return { json };
  } catch {}
  try {
    return { json: JSON.stringify(String(settled)) };
  } catch {
    return { json: JSON.stringify(Object.prototype.toString.call(settled)) };
  }
})();
`;

/** The message isolated-vm gives when a script throws something that is not an Error (the value stays inside). */
const nonErrorThrown = /^An object was thrown from supplied code within isolated-vm/;

/**
 * The text of an error that crossed the isolate boundary (isolated-vm copies Errors' name, message and stack, and
 * primitives as they are): the script's frames only (the worker's own frames are cut at the boundary), bounded.
 */
function describeCrossed(err) {
  let text;
  try {
    if (err instanceof Error) {
      const message = typeof err.message === 'string' ? err.message : '';
      if (nonErrorThrown.test(message)) return 'Uncaught exception (a value that is not an Error)';
      text = typeof err.stack === 'string' && err.stack ? err.stack : `Error: ${message}`;
    } else {
      text = `Uncaught ${String(err)}`;
    }
  } catch {
    return 'Uncaught exception';
  }
  if (text.length > maxErrorChars * 2) text = text.slice(0, maxErrorChars * 2);
  const boundary = text.search(/\n\s*at \(<isolated-vm boundary>\)/);
  if (boundary >= 0) text = text.slice(0, boundary);
  // Frames outside the script (the worker's, Node's) are never shown.
  text = text
    .split('\n')
    .filter((line) => !/^\s*at .*(?:file:|node:|\/)/.test(line) || /\bscript\.m?js:\d/.test(line))
    .join('\n')
    .replace(/\s+\[<isolated-vm>.*$/m, '');
  return text.length > maxErrorChars ? `${text.slice(0, maxErrorChars)}… (truncated)` : text;
}

/** The in-sandbox `fs` (present only when the run mounts a snapshot): Node-like promises over host calls. */
const fsSetup = `
const host = $0;
const call = (op, ...args) => {
  try {
    return Promise.resolve(host.applySync(undefined, [op, ...args], { arguments: { copy: true }, result: { copy: true } }));
  } catch (err) {
    return Promise.reject(new Error(err && err.message ? err.message : String(err)));
  }
};
const bytes = (data) => (typeof data === 'string' ? data : new Uint8Array(ArrayBuffer.isView(data) ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data));
const fs = Object.freeze({
  readFile: (path, encoding) => call('readFile', String(path), encoding == null ? null : String(typeof encoding === 'object' ? encoding.encoding : encoding)),
  writeFile: (path, data) => call('writeFile', String(path), bytes(data)),
  appendFile: (path, data) => call('appendFile', String(path), bytes(data)),
  readdir: (path) => call('readdir', String(path ?? '')),
  stat: (path) => call('stat', String(path)).then((s) => Object.freeze({ size: s.size, isFile: () => s.file, isDirectory: () => !s.file })),
  exists: (path) => call('exists', String(path)),
  unlink: (path) => call('unlink', String(path)),
  rm: (path, options) => call('rm', String(path), Boolean(options && options.recursive), Boolean(options && options.force)),
  rename: (from, to) => call('rename', String(from), String(to)),
  copyFile: (from, to) => call('copyFile', String(from), String(to)),
});
Object.defineProperty(globalThis, 'fs', { value: fs, writable: true, configurable: true, enumerable: false });
`;

/** Bytes a run may add to its mount (the overlay lives in this worker's memory, outside the isolate's heap). */
const maxOverlayBytes = 64 * 1024 * 1024;

/**
 * Copy-on-write view of a snapshot: `base` (path → bytes, never mutated) plus an overlay of writes and deletions.
 * Paths are POSIX, relative to the mount root ("a/b.txt"; a leading "/" and "." segments are ignored, ".." is
 * refused). Directories are implicit: they exist while they contain files.
 */
function createMount(base) {
  const overlay = new Map();
  let overlayBytes = 0;
  let changed = false;
  const fail = (code, message) => {
    throw new Error(`${code}: ${message}`);
  };
  const norm = (p) => {
    const parts = String(p)
      .split('/')
      .filter((seg) => seg !== '' && seg !== '.');
    if (parts.some((seg) => seg === '..')) fail('EINVAL', `path may not contain "..": ${p}`);
    return parts.join('/');
  };
  const get = (k) => (overlay.has(k) ? overlay.get(k) : base.get(k));
  const keys = () => {
    const all = new Set(base.keys());
    for (const [k, v] of overlay) {
      if (v === null) all.delete(k);
      else all.add(k);
    }
    return all;
  };
  const isDir = (k) => {
    if (k === '') return true;
    for (const key of keys()) if (key.startsWith(`${k}/`)) return true;
    return false;
  };
  const put = (k, data) => {
    if (k === '' || isDir(k)) fail('EISDIR', `is a directory: ${k || '/'}`);
    const value = typeof data === 'string' ? new Uint8Array(Buffer.from(data, 'utf8')) : new Uint8Array(data);
    overlayBytes += value.byteLength;
    if (overlayBytes > maxOverlayBytes) fail('ENOSPC', `the run wrote more than ${maxOverlayBytes} bytes`);
    overlay.set(k, value);
    changed = true;
  };
  const remove = (k) => {
    overlay.set(k, null);
    changed = true;
  };
  const mustRead = (k) => {
    const v = get(k);
    if (!v) fail(isDir(k) ? 'EISDIR' : 'ENOENT', `${isDir(k) ? 'is a directory' : 'no such file'}: ${k}`);
    return v;
  };
  const ops = {
    readFile(p, encoding) {
      const v = mustRead(norm(p));
      if (encoding === null) return new Uint8Array(v);
      if (!/^utf-?8$/i.test(encoding)) fail('EINVAL', `unsupported encoding ${encoding} (utf8 or none)`);
      return Buffer.from(v).toString('utf8');
    },
    writeFile(p, data) {
      put(norm(p), data);
    },
    appendFile(p, data) {
      const k = norm(p);
      const prev = get(k) ?? new Uint8Array(0);
      const next = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
      put(k, Buffer.concat([Buffer.from(prev), next]));
    },
    readdir(p) {
      const k = norm(p);
      if (!isDir(k)) fail(get(k) ? 'ENOTDIR' : 'ENOENT', `not a directory: ${k}`);
      const prefix = k ? `${k}/` : '';
      const names = new Set();
      for (const key of keys()) if (key.startsWith(prefix)) names.add(key.slice(prefix.length).split('/')[0]);
      return [...names].sort();
    },
    stat(p) {
      const k = norm(p);
      const v = get(k);
      if (v) return { size: v.byteLength, file: true };
      if (isDir(k)) return { size: 0, file: false };
      return fail('ENOENT', `no such file or directory: ${k}`);
    },
    exists(p) {
      const k = norm(p);
      return Boolean(get(k)) || isDir(k);
    },
    unlink(p) {
      const k = norm(p);
      mustRead(k);
      remove(k);
    },
    rm(p, recursive, force) {
      const k = norm(p);
      if (get(k)) return remove(k);
      if (isDir(k) && k !== '') {
        if (!recursive) fail('EISDIR', `is a directory (use {recursive: true}): ${k}`);
        for (const key of keys()) if (key.startsWith(`${k}/`)) remove(key);
        return;
      }
      if (!force) fail('ENOENT', `no such file or directory: ${k}`);
    },
    rename(from, to) {
      const a = norm(from);
      const v = mustRead(a);
      put(norm(to), v);
      remove(a);
    },
    copyFile(from, to) {
      put(norm(to), mustRead(norm(from)));
    },
  };
  return {
    call: (op, ...args) => {
      const fn = ops[op];
      if (typeof fn !== 'function') fail('EINVAL', `unknown fs operation ${op}`);
      return fn(...args);
    },
    changed: () => changed,
    tree: () => {
      const out = new Map();
      for (const k of [...keys()].sort()) out.set(k, get(k));
      return out;
    },
  };
}

/** Largest serialised heap a run may produce. */
const maxHeapBytes = 16 * 1024 * 1024;

/** Puts each saved global back (structured clone: data only) before the script runs. */
async function restoreHeap(context, bytes) {
  const saved = v8.deserialize(Buffer.from(bytes));
  for (const [name, value] of Object.entries(saved)) {
    await context.global.set(name, new ivm.ExternalCopy(value).copyInto());
  }
}

/**
 * The run's data globals (own properties of globalThis that a fresh context does not have: `var`s, `globalThis.x
 * = …`, restored ones), structured-cloned and V8-serialised with sorted names, so equal state gives equal bytes.
 * Functions, classes, symbols-as-values and other non-cloneable values cannot be saved: they are left out and named
 * in one `[WARN] heap:` line. Top-level `let`/`const`/`class` are not properties of globalThis and are not saved.
 */
async function captureHeap(context, pristine, append) {
  const names = (await context.eval('Object.getOwnPropertyNames(globalThis)', { copy: true }))
    .filter((name) => !pristine.has(name))
    .sort();
  const saved = {};
  const skipped = [];
  for (const name of names) {
    try {
      saved[name] = await context.global.get(name, { copy: true });
    } catch {
      skipped.push(name);
    }
  }
  if (skipped.length > 0) append(`[WARN] heap: not saved (not structured-cloneable): ${skipped.join(', ')}\n`);
  const bytes = v8.serialize(saved);
  if (bytes.byteLength > maxHeapBytes) {
    throw new Error(`Heap snapshot is ${bytes.byteLength} bytes; the limit is ${maxHeapBytes}`);
  }
  return new Uint8Array(bytes);
}

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
  const startedAt = performance.now();
  let prepared;
  try {
    prepared = await take(message.memoryMb);
  } catch (err) {
    clearTimeout(timer);
    current = undefined;
    const error = `Sandbox setup failed: ${withoutDirectories(err instanceof Error ? err.message : String(err))}`;
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
  let heapOut = null;
  const mount = message.fs ? createMount(message.fs) : undefined;
  try {
    if (mount) await context.evalClosure(fsSetup, [new ivm.Reference(mount.call)]);
    const pristine = message.heap
      ? new Set(await context.eval('Object.getOwnPropertyNames(globalThis)', { copy: true }))
      : undefined;
    if (message.heap?.restore) await restoreHeap(context, message.heap.restore);
    let value;
    let script;
    try {
      script = await isolate.compileScript(message.code, { filename: 'script.js' });
    } catch (err) {
      // Top-level `await`, `import` or `export`: compile as an ES module instead (result = its default export).
      // Sloppy scripts read `await` as an identifier, so look at the source, not only at the message.
      if (!(err instanceof SyntaxError) || !/\b(await|import|export)\b/.test(message.code)) throw err;
    }
    if (script) {
      value = await script.run(context, { reference: true, timeout: message.timeoutMs });
    } else {
      const module = await isolate.compileModule(message.code, { filename: 'script.mjs' });
      await module.instantiate(context, (specifier) => {
        throw new Error(`import of "${specifier}" is not supported in the sandbox`);
      });
      await module.evaluate({ promise: true, timeout: message.timeoutMs });
      value = await module.namespace.get('default', { reference: true });
    }
    const settled = await context.evalClosure(settleValue, [value ? value.derefInto() : undefined, maxErrorChars], {
      result: { promise: true, copy: true },
      timeout: Math.max(1, message.timeoutMs),
    });
    if (typeof settled?.error === 'string') {
      settle({ status: 'failed', error: settled.error });
    } else {
      // Captured while the run's timer still runs: a hostile getter cannot hang the worker.
      if (pristine) heapOut = await captureHeap(context, pristine, append);
      settle({ status: 'completed', result: typeof settled?.json === 'string' ? settled.json : null });
    }
  } catch (err) {
    // The run's own timer or a cancel may have settled it already (the isolate was disposed under the script).
    if (!state.outcome) {
      const text = describeCrossed(err);
      if (isolate.isDisposed && /memory limit/i.test(text))
        settle({ status: 'failed', error: `Memory limit exceeded (${message.memoryMb} MB)` });
      // isolated-vm's own verdict ("Script execution timed out.", then the script frame it stopped in) — told
      // apart from a script throwing that text by the clock: isolated-vm only says it once the budget is spent.
      else if (
        /^Error: Script execution timed out\.?(?:\n|$)/.test(text) &&
        performance.now() - startedAt >= message.timeoutMs - 5
      )
        settle({ status: 'timed_out', error: 'Execution timed out' });
      else if (isolate.isDisposed && /Isolate (?:was|is) disposed/i.test(text))
        settle({ status: 'failed', error: `Memory limit exceeded (${message.memoryMb} MB)` });
      else settle({ status: 'failed', error: text });
    }
  } finally {
    clearTimeout(timer);
    flush();
    current = undefined;
    const outcome = state.outcome ?? { status: 'failed', error: 'Execution ended without a result' };
    // A mounted tree goes back only for a completed run that changed it; failures discard the overlay.
    const fsTree = mount && outcome.status === 'completed' && mount.changed() ? mount.tree() : null;
    send({
      type: 'done',
      runId,
      status: outcome.status,
      result: outcome.result ?? null,
      error: outcome.error ?? null,
      fsTree,
      heapOut: state.outcome?.status === 'completed' ? heapOut : null,
    });
    // Disposed after the result is on its way: the caller does not wait for the teardown.
    if (!isolate.isDisposed) isolate.dispose();
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
