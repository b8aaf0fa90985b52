-- wrk script for proxy forward mode: absolute-URI request target, Host header to match.
-- TARGET is set from the environment (host:port of the origin).
local target = os.getenv("TARGET")
wrk.method = "GET"
wrk.path = "http://" .. target .. "/"
wrk.headers["Host"] = target
-- The tail quantile wrk's --latency table leaves out.
done = function(summary, latency, requests)
  io.write(string.format("p99.9: %.3fms\n", latency:percentile(99.9) / 1000))
end
