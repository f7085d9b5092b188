#!/bin/bash
cd /tmp/hk
for v in 2.6 3.0 3.2; do
  for s in global listen userlist peers mailers resolvers cache program http-errors ring fcgi-app traces acme; do
    case "$v:$s" in 2.6:traces|2.6:acme|3.0:traces|3.0:acme) continue;; esac
    [ -s scan/$v.$s.2.tsv ] && continue
    python3 py/probe.py $v $s < strings2.cand > scan/$v.$s.2.tsv.tmp && mv scan/$v.$s.2.tsv.tmp scan/$v.$s.2.tsv
    echo "$(date +%T) $v $s $(awk -F'\t' '$2!="unknown"' scan/$v.$s.2.tsv | wc -l)"
  done
done
python3 py/candidates.py && python3 py/probe_all.py > probe_all.log 2>&1
echo done
