// GraphQL-over-HTTP conformance audit (graphql-http's auditServer) against one URL.
// Usage: node audit.cjs http://127.0.0.1:8000/graphql
// Prints each audit that is not ok to stderr, and one JSON summary to stdout:
// {"total": N, "ok": N, "notice": N, "warn": N, "error": N, "results": [...not ok...]}
const { auditServer } = require("graphql-http");

async function main() {
  const url = process.argv[2];
  if (!url) throw new Error("usage: node audit.cjs URL");
  const results = await auditServer({ url });
  const summary = { total: results.length, ok: 0, notice: 0, warn: 0, error: 0, results: [] };
  for (const r of results) {
    summary[r.status]++;
    if (r.status === "ok") continue;
    let body = "";
    try {
      body = (await r.response.text()).slice(0, 300);
    } catch {}
    const got = {
      status: r.response.status,
      contentType: r.response.headers.get("content-type"),
      body,
    };
    summary.results.push({ id: r.id, name: r.name, status: r.status, reason: r.reason, got });
    console.error(`[${r.status}] ${r.id} ${r.name}\n    reason: ${r.reason}\n    got: ` +
                  `HTTP ${got.status} ${got.contentType ?? ""} ${body.replace(/\s+/g, " ")}`);
  }
  console.error(`${url}: ${summary.total} audits: ${summary.ok} ok, ${summary.notice} notice, ` +
                `${summary.warn} warn, ${summary.error} error`);
  console.log(JSON.stringify(summary));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
