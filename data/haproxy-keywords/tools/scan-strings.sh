#!/bin/bash
cd /tmp/hk
for v in 2.6 3.0 3.2; do
  for s in global listen defaults frontend backend userlist peers mailers resolvers cache program http-errors ring fcgi-app traces acme log-forward crt-store log-profile; do
    [ -s scan/$v.$s.tsv ] && continue
    python3 py/probe.py $v $s < strings.cand > scan/$v.$s.tsv.tmp && mv scan/$v.$s.tsv.tmp scan/$v.$s.tsv
    echo "$(date +%T) $v $s $(awk -F'\t' '$2!="unknown"' scan/$v.$s.tsv | wc -l)"
  done
done
