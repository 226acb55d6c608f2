// Harness HTTP server: serves the harness page, its bundle, the built plugins
// and Grafana's icons, and proxies /fsapi/* to the Fleetscope backend
// (FLEETSCOPE_API_URL), so the page talks to the backend from one origin.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const frontend = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const icons = path.join(frontend, 'node_modules', '@grafana', 'ui', 'dist', 'public', 'img', 'icons');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ttf': 'font/ttf',
  '.woff2': 'font/woff2',
  '.css': 'text/css',
};

function sendFile(res, file) {
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${file}`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': st.size });
    fs.createReadStream(file).pipe(res);
  });
}

/** Resolve `rel` under `root`, refusing anything that climbs out of it. */
function under(root, rel) {
  const file = path.resolve(root, '.' + path.posix.normalize('/' + rel));
  return file.startsWith(root + path.sep) ? file : undefined;
}

function proxy(apiUrl, req, res, rest) {
  const target = new URL(rest, apiUrl.endsWith('/') ? apiUrl : apiUrl + '/');
  const headers = { accept: 'application/json' };
  if (req.headers['content-type']) {
    headers['content-type'] = req.headers['content-type'];
  }
  const upstream = http.request(target, { method: req.method, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, { 'content-type': up.headers['content-type'] ?? 'application/json' });
    up.pipe(res);
  });
  upstream.on('error', (e) => {
    res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'HARNESS_PROXY', message: `${target}: ${e.message}` } }));
  });
  req.pipe(upstream);
}

export function startServer(apiUrl, port = 0) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://harness');
    const p = decodeURIComponent(url.pathname);
    if (p.startsWith('/fsapi/')) {
      proxy(apiUrl, req, res, p.slice('/fsapi/'.length) + url.search);
      return;
    }
    const icon = p.indexOf('public/build/img/icons/');
    let file;
    if (icon >= 0) {
      file = under(icons, p.slice(icon + 'public/build/img/icons/'.length));
    } else if (p.startsWith('/harness/') || p.startsWith('/dist/')) {
      file = under(frontend, p.slice(1));
    } else if (p === '/') {
      res.writeHead(302, { location: '/harness/index.html' }).end();
      return;
    }
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    sendFile(res, file);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const api = process.env.FLEETSCOPE_API_URL;
  if (!api) {
    console.error('FLEETSCOPE_API_URL is not set');
    process.exit(2);
  }
  const server = await startServer(api, Number(process.env.HARNESS_PORT ?? 8787));
  console.log(`harness on http://127.0.0.1:${server.address().port}/harness/index.html (backend ${api})`);
}
