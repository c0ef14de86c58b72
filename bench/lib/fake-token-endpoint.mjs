// A local OAuth token endpoint that answers every refresh after a fixed delay, and counts how many
// requests and TCP connections were open at once: local workerd does not enforce the Workers limit
// of 6 simultaneous outbound connections, so this is where the app's own bound shows.
import { randomBytes } from "node:crypto";
import http from "node:http";

export async function startFakeTokenEndpoint({ delayMs = 100 } = {}) {
  const current = { delayMs };
  const stats = {
    requests: 0,
    inFlight: 0,
    maxInFlight: 0,
    sockets: 0,
    maxSockets: 0,
    connectionsOpened: 0,
    firstAt: null,
    lastAt: null,
    /** Per kept-alive connection: from one response's end to the next request's arrival. */
    turnaroundsMs: [],
    /** Refresh tokens presented more than once: each is a refresh done twice. */
    reusedRefreshTokens: 0,
  };
  const presented = new Set();
  const lastEnd = new WeakMap();
  const server = http.createServer((req, res) => {
    stats.requests += 1;
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    stats.firstAt ??= performance.now();
    const previous = lastEnd.get(req.socket);
    if (previous !== undefined) stats.turnaroundsMs.push(performance.now() - previous);
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const token = new URLSearchParams(body).get("refresh_token");
      if (token && token !== "control") {
        if (presented.has(token)) stats.reusedRefreshTokens += 1;
        presented.add(token);
      }
      setTimeout(() => {
        const body = JSON.stringify({
          token_type: "bearer",
          access_token: randomBytes(30).toString("base64url"),
          refresh_token: randomBytes(30).toString("base64url"),
          expires_in: 7200,
          scope: "tweet.read tweet.write users.read offline.access media.write",
        });
        res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
        res.end(body);
        stats.inFlight -= 1;
        stats.lastAt = performance.now();
        lastEnd.set(req.socket, stats.lastAt);
      }, current.delayMs);
    });
  });
  server.on("connection", (socket) => {
    stats.sockets += 1;
    stats.connectionsOpened += 1;
    stats.maxSockets = Math.max(stats.maxSockets, stats.sockets);
    socket.on("close", () => {
      stats.sockets -= 1;
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    /** Answers later requests after `ms` instead. */
    setDelay(ms) {
      current.delayMs = ms;
    },
    reset() {
      Object.assign(stats, {
        requests: 0,
        connectionsOpened: 0,
        maxInFlight: stats.inFlight,
        maxSockets: stats.sockets,
        firstAt: null,
        lastAt: null,
        turnaroundsMs: [],
        reusedRefreshTokens: 0,
      });
      presented.clear();
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
