-- Prints wrk's summary as one JSON line, so the benchmark does not parse wrk's text.
-- Latencies are in microseconds. errors.status counts responses with a status >= 400.
done = function(summary, latency, requests)
  local e = summary.errors
  local fields = {
    requests = summary.requests,
    duration_us = summary.duration,
    errors_connect = e.connect,
    errors_read = e.read,
    errors_write = e.write,
    errors_status = e.status,
    errors_timeout = e.timeout,
    p50_us = latency:percentile(50),
    p95_us = latency:percentile(95),
    p99_us = latency:percentile(99),
    max_us = latency.max,
  }
  local parts = {}
  for name, value in pairs(fields) do
    parts[#parts + 1] = string.format('"%s":%d', name, math.floor(value))
  end
  io.write("WRK_JSON {" .. table.concat(parts, ",") .. "}\n")
end
