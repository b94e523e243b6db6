-- wrk script for the benchmark's load runs (benchmarks/http.py).
--
--   wrk ... -s requests.lua URL -- MODE TOKENS_FILE EXPECTED_STATUS
--
-- MODE "get" opens /s/<token>/step/1, "submit" posts /s/<token>/submit, "plain" requests URL's
-- path as it is. Every thread takes its own tokens (thread n: lines n, n + threads, ...), so
-- no two submits share a link. A response with any other status than EXPECTED_STATUS counts as
-- an error; done() prints one JSON line with the counts and latency percentiles (in µs).

local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("id", count)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or "plain"
  expected = tonumber(args[3] or "200")
  bad = 0
  reused = 0
  tokens = {}
  if mode ~= "plain" then
    local all = {}
    for line in io.lines(args[2]) do
      table.insert(all, line)
    end
    local nthreads = tonumber(args[4] or "1")
    for i = id, #all, nthreads do
      table.insert(tokens, all[i])
    end
  end
  position = 0
end

function request()
  if mode == "plain" then
    return wrk.format("GET")
  end
  position = position + 1
  if position > #tokens then
    position = 1
    reused = reused + 1
  end
  local token = tokens[position]
  if mode == "submit" then
    return wrk.format("POST", "/s/" .. token .. "/submit",
                      {["Content-Type"] = "application/x-www-form-urlencoded"}, "")
  end
  return wrk.format("GET", "/s/" .. token .. "/step/1")
end

function response(status, headers, body)
  if status ~= expected then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local wrong, reuses = 0, 0
  for _, thread in ipairs(threads) do
    wrong = wrong + thread:get("bad")
    reuses = reuses + thread:get("reused")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "wrong_status": %d, "tokens_reused": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, ' ..
    '"p50": %d, "p95": %d, "p99": %d, "max": %d}\n',
    summary.requests, summary.duration, wrong, reuses, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
