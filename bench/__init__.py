"""`make bench`: throughput, latency and CPU cost of each endpoint against the real
servers, with the ratios that show where the time goes. See docs/performance.md."""
