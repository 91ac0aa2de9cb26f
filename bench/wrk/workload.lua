-- Replays a request list written by `lifeceo bench`: one request per line,
-- METHOD <tab> PATH <tab> BEARER-TOKEN-or-empty <tab> JSON-BODY-or-empty.
-- Each thread starts at its own offset and cycles through the list. done() writes a JSON summary to
-- the file named by BENCH_SUMMARY. With BENCH_DELAY_MS set, each connection waits that long
-- between its requests: a steady load at a bounded rate rather than as fast as the server goes.

local threads = {}
local requests = {}
local position = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local method, path, token, body = line:match("^(%u+)\t([^\t]+)\t([^\t]*)\t(.*)$")
    local headers = { ["Accept"] = "application/json", ["Accept-Encoding"] = "identity" }
    if token ~= "" then headers["Authorization"] = "Bearer " .. token end
    if body == "" then
      body = nil
    else
      headers["Content-Type"] = "application/json"
    end
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  position = math.random(#requests)
end

local pace = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pace then
  function delay()
    return pace
  end
end

function request()
  position = position % #requests + 1
  return requests[position]
end

function done(summary, latency, _)
  local out = assert(io.open(os.getenv("BENCH_SUMMARY"), "w"))
  local e = summary.errors
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"non_2xx_3xx":%d,' ..
    '"latency_us":{"p50":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f}}',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean))
  out:close()
end
