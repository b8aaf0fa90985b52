-- wrk script for proxy forward mode: absolute-URI request target, Host header to match.
-- TARGET is set from the environment (host:port of the origin).
local target = os.getenv("TARGET")
wrk.method = "GET"
wrk.path = "http://" .. target .. "/"
wrk.headers["Host"] = target
