#!/bin/bash
# Run from anywhere, under the bench lock; each dir is a checkout with `npm run build:bench` done, e.g.
#   flock /work/wt/bench.lock bench/hot-path-embedded/interleave-memory.sh out.jsonl 3 50000 main=../base new=.
# memory.sh OUT ROUNDS JOBS label=dir ... : the suite's memory scenario (JOBS queued), alternated.
out=$1; rounds=$2; jobs=$3; shift 3
for r in $(seq 1 $rounds); do
  for spec in "$@"; do
    label=${spec%%=*}; dir=${spec#*=}
    line=$(cd $dir && node bench/dist/bench/run.js --no-sweep --systems docket-embedded --scenarios memory --memory-jobs $jobs --memory-seconds 5 --repeat 1 --out /tmp/hs-suite-out 2>&1 | grep '^docket-embedded memory:' | sed 's/^docket-embedded memory: //')
    echo "{\"label\":\"$label\",\"round\":$r,\"result\":$line}" >> $out
  done
done
