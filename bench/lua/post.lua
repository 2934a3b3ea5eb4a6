-- wrk script: POST the JSON body in file $BODY (with `Authorization: Bearer $TOKEN` when set)
-- and print one RESULT line of JSON. Counts responses whose body has a GraphQL "errors" key
-- (a server out of connections can answer 200 fast with errors) and, when $EXPECT is set,
-- responses whose body lacks that text.
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local token = os.getenv("TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
local expect = os.getenv("EXPECT")
if expect == "" then expect = nil end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

gql_errors = 0
unexpected = 0
function response(status, headers, body)
  if string.find(body, '"errors"', 1, true) then
    gql_errors = gql_errors + 1
  end
  if expect and not string.find(body, expect, 1, true) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local ge, ue = 0, 0
  for _, t in ipairs(threads) do
    ge = ge + (t:get("gql_errors") or 0)
    ue = ue + (t:get("unexpected") or 0)
  end
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,' ..
    '"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d,"gql_errors":%d,"unexpected":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, ge, ue))
end
