-- wrk script: createDeal on distinct vehicles. Each request takes the next vehicle id of the
-- file $VEHICLES (one global id a line) and a new customer; $TEMPLATE is the JSON body with
-- @V@ for the vehicle and @N@ for the request's number. Prints one RESULT line of JSON:
-- `unexpected` counts answers that are not CreateDealSuccess, `exhausted` requests sent after
-- the list ran out (they reuse the last vehicle and fail).
local ids = {}
for line in io.lines(os.getenv("VEHICLES")) do
  if line ~= "" then table.insert(ids, line) end
end
local template = os.getenv("TEMPLATE")
local headers = {
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json",
  ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
}
local path = wrk.path

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

n = 0
exhausted = 0
gql_errors = 0
unexpected = 0
function request()
  n = n + 1
  local id = ids[n]
  if id == nil then
    exhausted = exhausted + 1
    id = ids[#ids]
  end
  local body = template:gsub("@V@", id):gsub("@N@", tostring(n))
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if string.find(body, '"errors"', 1, true) then
    gql_errors = gql_errors + 1
  end
  if not string.find(body, "CreateDealSuccess", 1, true) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local ge, ue, ex, sent = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    ge = ge + (t:get("gql_errors") or 0)
    ue = ue + (t:get("unexpected") or 0)
    ex = ex + (t:get("exhausted") or 0)
    sent = sent + (t:get("n") or 0)
  end
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,' ..
    '"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d,"gql_errors":%d,"unexpected":%d,' ..
    '"exhausted":%d,"sent":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, ge, ue, ex, sent))
end
