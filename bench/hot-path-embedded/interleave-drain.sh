#!/bin/bash
# Run from anywhere, under the bench lock; each dir is a checkout with `npm run build:bench` done, e.g.
#   flock /work/wt/bench.lock bench/hot-path-embedded/interleave-drain.sh out.jsonl 3 50000 main=../base new=.
# interleave.sh OUT ROUNDS JOBS label1=dir1 label2=dir2 ... : the suite's embedded drain, alternated, one line per run.
out=$1; rounds=$2; jobs=$3; shift 3
for r in $(seq 1 $rounds); do
  for spec in "$@"; do
    label=${spec%%=*}; dir=${spec#*=}
    line=$(cd $dir && node bench/dist/bench/run.js --no-sweep --systems docket-embedded --scenarios drain --jobs $jobs --repeat 1 --out /tmp/hs-suite-out 2>&1 | grep '^docket-embedded run 1:' | sed 's/^docket-embedded run 1: //')
    echo "{\"label\":\"$label\",\"round\":$r,\"result\":$line}" >> $out
  done
done
