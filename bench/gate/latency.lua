-- wrk script for direct runs: only the tail quantile wrk's --latency table leaves out.
done = function(summary, latency, requests)
  io.write(string.format("p99.9: %.3fms\n", latency:percentile(99.9) / 1000))
end
