#!/bin/bash
# Run under the bench lock: bench/hot-path-embedded/interleave-latency.sh out.jsonl 3 main=../base new=.  (the suite's idle latency scenario, 1,000 probes, alternated)
out=$1; rounds=$2; shift 2
for r in $(seq 1 $rounds); do
  for spec in "$@"; do
    label=${spec%%=*}; dir=${spec#*=}
    line=$(cd $dir && node bench/dist/bench/run.js --no-sweep --systems docket-embedded --scenarios latency --latency 1000 --repeat 1 --out /tmp/hs-suite-out 2>&1 | grep '^docket-embedded' | grep -i latency | head -1 | sed 's/^docket-embedded[^{]*//')
    echo "{\"label\":\"$label\",\"round\":$r,\"result\":$line}" >> $out
  done
done
