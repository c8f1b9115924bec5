// A tiny static file server for the prerendered site in build/, plus the "is the build fresh?"
// check. Used by `npm start` (scripts/start.mjs) and the browser tests (scripts/test-browser.mjs).
// node:http only; no SPA fallback: /x serves x, x.html or x/index.html, else the site's 404 page.
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD_DIR = join(ROOT, 'build');

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.webmanifest': 'application/manifest+json',
  '.xml': 'application/xml',
};

/** Sources whose change makes build/ stale (relative to the project root). */
const SOURCE_PATHS = [
  'src', 'components', 'kernels', 'notebooks', 'static',
  'svelte.config.js', 'vite.config.ts', 'tsconfig.json', 'package.json', 'package-lock.json',
];

function newestMtime(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs; // catches deletions
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry.name)));
  }
  return newest;
}

/** Why build/ must be (re)built, or null when it is fresh. */
export function buildStaleReason(root = ROOT) {
  const marker = join(root, 'build', 'index.html');
  if (!existsSync(marker)) return 'build/ is missing';
  const built = statSync(marker).mtimeMs;
  for (const p of SOURCE_PATHS) {
    if (newestMtime(join(root, p)) > built) return `${p} changed since the last build`;
  }
  return null;
}

/** Run `npm run build` when build/ is missing or older than the sources. */
export async function ensureBuild({ root = ROOT, force = false, log = console.log, quiet = false } = {}) {
  const reason = force ? 'rebuild requested' : buildStaleReason(root);
  if (!reason) return false;
  log(`[nanoseek] building the site (${reason})…`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // quiet: the build's own output (hundreds of lines, and vite's advice to run a preview) is kept
  // and printed only when the build fails.
  const output = [];
  await new Promise((ok, fail) => {
    const child = spawn(npm, ['run', 'build'], { cwd: root, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', shell: process.platform === 'win32' });
    if (quiet) for (const s of [child.stdout, child.stderr]) s.on('data', (d) => output.push(d));
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      if (code === 0) return ok();
      if (quiet) process.stderr.write(Buffer.concat(output));
      fail(new Error(`npm run build failed (${signal ?? `exit code ${code}`})`));
    });
  });
  if (quiet) log('[nanoseek] built.');
  return true;
}

/** ensureBuild() for a command-line script: a failed build prints its reason and exits 1. */
export async function ensureBuildOrExit({ quiet = false } = {}) {
  try {
    await ensureBuild({ quiet });
  } catch (err) {
    console.error(`[nanoseek] ${err.message}`);
    process.exit(1);
  }
}

async function fileInfo(file) {
  try {
    const st = await stat(file);
    if (st.isFile()) return { file, size: st.size, mtime: st.mtime };
  } catch {
    // not there
  }
  return null;
}

/**
 * What a URL path names inside `dir`: { file } for a file (exact name, then `.html`), or
 * { redirect } when the other spelling of a trailing slash is the page (/x -> /x/ when only
 * x/index.html exists, /x/ -> /x when only x.html does), so relative asset URLs stay right;
 * null when nothing matches.
 */
async function resolvePath(dir, pathname) {
  let rel;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (rel.includes('\0')) return null;
  const base = resolve(dir, '.' + (rel.startsWith('/') ? rel : '/' + rel));
  if (base !== dir && !base.startsWith(dir + sep)) return null; // outside the root
  if (rel.endsWith('/')) {
    const index = await fileInfo(join(base, 'index.html'));
    if (index) return index;
    if (base !== dir && (await fileInfo(base + '.html'))) return { redirect: pathname.replace(/\/+$/, '') };
    return null;
  }
  const found = (await fileInfo(base)) ?? (await fileInfo(base + '.html'));
  if (found) return found;
  if (await fileInfo(join(base, 'index.html'))) return { redirect: pathname + '/' };
  return null;
}

/**
 * Serve `dir` on host:port. When the port is busy, try the next ones (up to `tries`); port 0 picks
 * any free port. Resolves to { server, url, port, close() }.
 *
 * Responses carry Cross-Origin-Opener-Policy/Embedder-Policy so pages are cross-origin isolated
 * (SharedArrayBuffer, hence threaded WebAssembly kernels, work here). The site must not need them:
 * any static server can host build/.
 */
export async function serveStatic({ dir = BUILD_DIR, host = '127.0.0.1', port = 4173, tries = 20, isolate = true, quiet = true } = {}) {
  const root = resolve(dir);
  const server = createServer(async (req, res) => {
    const headers = { 'X-Content-Type-Options': 'nosniff' };
    if (isolate) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      headers['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('405 method not allowed\n');
      return;
    }
    let url;
    try {
      url = new URL(`http://localhost${req.url?.startsWith('/') ? req.url : '/'}`);
    } catch {
      res.writeHead(400, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('400 bad request\n');
      return;
    }
    const found = await resolvePath(root, url.pathname);
    if (!quiet) console.log(`${req.method} ${url.pathname} -> ${found ? (found.redirect ? 308 : 200) : 404}`);
    if (found?.redirect) {
      res.writeHead(308, { ...headers, Location: found.redirect + url.search, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : `moved to ${found.redirect}\n`);
      return;
    }
    if (!found) {
      const notFound = join(root, '404.html');
      const body = existsSync(notFound) ? null : `404 not found: ${url.pathname}\n`;
      res.writeHead(404, { ...headers, 'Content-Type': body ? 'text/plain; charset=utf-8' : MIME['.html'] });
      if (req.method === 'HEAD') res.end();
      else if (body) res.end(body);
      // build/404.html is the site's prerendered "page not found" (src/routes/404). Its links are
      // relative to the site root, and it is served at any depth: a <base> makes them resolve there.
      else res.end(readFileSync(notFound, 'utf8').replace('<head>', '<head>\n\t\t<base href="/" />'));
      return;
    }
    const type = MIME[extname(found.file).toLowerCase()] ?? 'application/octet-stream';
    const immutable = url.pathname.includes('/_app/immutable/');
    res.writeHead(200, {
      ...headers,
      'Content-Type': type,
      'Content-Length': found.size,
      'Last-Modified': found.mtime.toUTCString(),
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(found.file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });

  let p = Number(port);
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise((ok, fail) => {
        const onError = (err) => {
          server.off('listening', onListening);
          fail(err);
        };
        const onListening = () => {
          server.off('error', onError);
          ok();
        };
        server.once('error', onError);
        server.once('listening', onListening);
        server.listen(p, host);
      });
      break;
    } catch (err) {
      if (err.code !== 'EADDRINUSE' || p === 0 || attempt + 1 >= tries) throw err;
      p += 1;
    }
  }
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : p;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port: actual,
    url: `http://${shownHost}:${actual}/`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}
