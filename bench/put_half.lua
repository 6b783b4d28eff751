-- wrk script for target 5: every request PUTs a new sender half under a fresh random tap key.
-- Usage: wrk ... -s bench/put_half.lua http://127.0.0.1:PORT -- <account bearer key>
-- At the end it prints one line, "bench-result {json}", that bench/intake.py reads.

local threads = {}
local body = '{"amount": 125, "currency": "USD", "device": {"os": "bench", "model": "wrk"}, '
  .. '"tapped_at": "2026-11-26T12:00:00.120Z"}'

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  -- Each thread its own seed, so no two threads make the same keys.
  math.randomseed(os.time() * 1000 + thread_number * 7919)
  wrk.method = "PUT"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
end

local function uuid4()
  return (string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end

function request()
  return wrk.format(nil, "/api/v1/taps/" .. uuid4() .. "/sender")
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'bench-result {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, '
      .. '"status_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
