#!/usr/bin/env bash
# Renders report.md (and, when gnuplot is installed, tps_ratio.png and
# lag_over_time.png) from the raw CSV files that bench/run leaves in a results directory. bench/run calls
# it at the end; run it by hand to re-render an older directory:
#   bash bench/lib/report.sh bench/results/20250101T000000Z
#
# Medians are over repetitions. A ratio is computed per repetition from the
# with-view run and the no-view run measured next to it, and the median of
# those paired ratios is reported (with their range), which cancels most of
# the drift of a shared machine. A scenario with a failed IMMV check or a
# failed run shows FAILED instead of with-view figures. Deadlocks are pooled
# over repetitions: all deadlocks of the runs / all their transactions.
set -euo pipefail

dir=${1:?usage: report.sh RESULTS_DIR}
[[ -d $dir ]] || {
  echo "report: no directory $dir" >&2
  exit 1
}
cd "$dir"
for f in tps.csv ops.csv bulk.csv status.csv targets.csv deadlock_targets.csv scenarios.txt lag.csv catchup.csv sweep.csv; do
  [[ -f $f ]] || : >"$f"
done

# Shared awk: median and range of a space-separated list, number formatting.
awk_lib='
function sortv(a, n,   i, j, t) {
  for (i = 2; i <= n; i++) {
    t = a[i]
    for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
    a[j + 1] = t
  }
}
function median(list,   a, n) {
  n = split(list, a, " ")
  if (n == 0) return ""
  sortv(a, n)
  return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function lo(list,   a, n) { n = split(list, a, " "); sortv(a, n); return a[1] }
function hi(list,   a, n) { n = split(list, a, " "); sortv(a, n); return a[n] }
function count(list,   a) { return split(list, a, " ") }
function pct(list, q,   a, n, r) {            # nearest-rank percentile
  n = split(list, a, " ")
  if (n == 0) return ""
  sortv(a, n)
  r = int(q * n); if (r < q * n) r++; if (r < 1) r = 1
  return a[r]
}
function fmt(v, digits) { return v == "" ? "—" : sprintf("%." digits "f", v) }
function per1000(sum, n) { return n > 0 ? 1000 * sum / n : "" }
function length_of(arr,   k, n) { n = 0; for (k in arr) n++; return n }
# paired(V, SC, MODE, C): the ratios V[SC|MODE|C|REP] / V[SC|none|C|REP] over
# the repetitions that have both (space-separated); empty for mode none.
function paired(v, sc, mode, c,   r, p, ratios) {
  ratios = ""
  if (mode == "none") return ""
  for (r in v) {
    split(r, p, "|")
    if (p[1] == sc && p[2] == mode && p[3] == c && ((sc "|none|" c "|" p[4]) in v) && v[sc "|none|" c "|" p[4]] > 0)
      ratios = ratios " " v[r] / v[sc "|none|" c "|" p[4]]
  }
  return ratios
}
function label(mode) {
  return mode == "none" ? "no view" : mode == "immediate" ? "IMMV (immediate)" : \
         mode == "deferred" ? "IMMV (deferred)" : \
         mode == "matview" ? "plain matview" : mode
}
'

render_tables() {
  awk -F, "$awk_lib"'
    FILENAME == "scenarios.txt" { split($0, s, "|"); kind[s[1]] = s[2]; desc[s[1]] = s[3]
                                   order[++nscen] = s[1]; next }
    FNR == 1 { next }                                   # CSV headers
    FILENAME == "status.csv" { status[$1] = $2; detail[$1] = $3; next }
    FILENAME == "targets.csv" { target[$1 "|" $2 "|" $3] = $4; next }
    FILENAME == "deadlock_targets.csv" { dtarget[$1 "|" $2 "|" $3] = $4; next }
    FILENAME == "sweep.csv" {                          # settings of each sweep point
      k = $1 "|deferred/" $2
      if (!(k in swset)) { swpoints[$1] = swpoints[$1] " deferred/" $2 }
      swset[k] = 1; swnap[k] = $3; swdelay[k] = $4; swbatch[k] = $5
      next
    }
    FILENAME == "lag.csv" {
      rk = $1 "|" $2 "|" $3 "|" $4
      if (!(rk in lagn)) lagruns[++nlagruns] = rk
      lagn[rk]++; lags[rk] = lags[rk] " " $6
      next
    }
    FILENAME == "catchup.csv" {
      rk = $1 "|" $2 "|" $3 "|" $4 "|" $5
      if (!(rk in cu)) curuns[++ncuruns] = rk
      cu[rk] = $6; cust[rk] = $7; cup0[rk] = $8
      if ($5 == "pgbench") {
        k = $1 "|" $2 "|" $3
        if ($7 == "ok") cums[k] = cums[k] " " $6; else cubad[k]++
      }
      next
    }
    FILENAME == "tps.csv" {
      sc = $1; mode = $2; c = $3; rep = $4
      if (!((sc "|" c) in seenc)) { seenc[sc "|" c] = 1; clients[sc] = clients[sc] " " c }
      if (!((sc "|" mode) in seenm)) { seenm[sc "|" mode] = 1; if (mode != "none") modes[sc] = modes[sc] " " mode }
      k = sc "|" mode "|" c
      runs[k]++
      if ($11 != "ok") { bad[k]++ }
      if ($6 != "") { tps[k] = tps[k] " " $6; lat[k] = lat[k] " " $7; per[k "|" rep] = $6 }
      if ($13 != "") { cpu[k] = cpu[k] " " $13; cper[k "|" rep] = $13 }
      if ($16 != "") { q50[k] = q50[k] " " $14; q95[k] = q95[k] " " $15; q99[k] = q99[k] " " $16; q99per[k "|" rep] = $16 }
      if (mode != "none" && mode != "matview") { verified[k]++; if ($10 == "0") verok[k]++ }
      # Deadlocks and retries (columns 17-22; absent in older results).
      if ($22 != "" && $8 != "") { dl[k] += $22; dlx[k] += $8; dlruns[k]++; anydl = 1 }
      if ($17 != "") mtries[k] = $17
      if ($17 > 1 && $8 != "") { rtr[k] += $19; rtx[k] += $8; rtruns[k]++ }
      if ($9 != "") { fx[k] += $9; fxdl[k] += $21; fxser[k] += $20; fxruns[k]++ }
      next
    }
    FILENAME == "ops.csv" {
      k = $1 "|" $2 "|" $4
      if (!(k in seeno)) { seeno[k] = 1; opkeys[++nops] = k }
      ms[k "|" $3] = ms[k "|" $3] " " $7
      next
    }
    FILENAME == "bulk.csv" {
      k = $1 "|" $2
      if (!(k in seenb)) { seenb[k] = 1; bkeys[++nb] = k }
      if ($3 != "none") bmode[k] = $3
      if ($7 != "-") { bms[k "|" $3] = bms[k "|" $3] " " $7; brows[k] = $6; bper[k "|" $3 "|" $4] = $7 }
      if ($11 != "") { bcpu[k "|" $3] = bcpu[k "|" $3] " " $11; bcper[k "|" $3 "|" $4] = $11 }
      if ($3 != "none") { bver[k]++; if ($8 == "0") bverok[k]++ }
      next
    }
    END {
      for (i = 1; i <= nlagruns; i++) {                # per-run lag percentiles
        rk = lagruns[i]; split(rk, p, "|"); k = p[1] "|" p[2] "|" p[3]
        lp50[rk] = pct(lags[rk], 0.5); lp99[rk] = pct(lags[rk], 0.99); lmax[rk] = hi(lags[rk])
        p50s[k] = p50s[k] " " lp50[rk]; p99s[k] = p99s[k] " " lp99[rk]; maxs[k] = maxs[k] " " lmax[rk]
      }
      print "## Writer throughput (pgbench)\n"
      print "Median over repetitions of the pgbench TPS and average latency. Paired ratio = with-view TPS / no-view TPS of the same repetition: median and range over repetitions; ratio of medians = median TPS / median no-view TPS. A target counts as met (or missed) when both estimates agree, unclear otherwise. A plain materialized view puts no work on writers, so its ratio is an A/A control: its distance from 1.00 is the noise of the machine. Deferred IMMVs: lag p99 = median over repetitions of the 99th percentile of each run of the sampled lag (100 ms samples, see below); catch-up = median time after the run until nothing is pending, without flush (timeouts counted apart); the IMMV check follows an `ivmx.flush`.\n"
      print "| scenario | mode | clients | runs | median TPS | latency avg (ms) | paired ratio | ratio range | ratio of medians | target | lag p99 (s) | catch-up (ms) | IMMV check |"
      print "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|"
      for (i = 1; i <= nscen; i++) {
        sc = order[i]; if (kind[sc] != "tps") continue
        nc = split(clients[sc], cl, " ")
        for (ci = 1; ci <= nc; ci++) {
          c = cl[ci]
          nm = split("none" modes[sc], md, " ")
          for (mi = 1; mi <= nm; mi++) {
            mode = md[mi]; k = sc "|" mode "|" c
            if (!(k in runs)) continue
            failed = (status[sc] != "OK" && mode != "none")
            ratios = ""
            if (mode != "none")
              for (r in per) {
                split(r, p, "|")
                if (p[1] == sc && p[2] == mode && p[3] == c && ((sc "|none|" c "|" p[4]) in per))
                  ratios = ratios " " per[r] / per[sc "|none|" c "|" p[4]]
              }
            rom = ""
            if (mode != "none" && tps[k] != "" && tps[sc "|none|" c] != "")
              rom = median(tps[k]) / median(tps[sc "|none|" c])
            tgt = ""
            if ((sc "|" mode "|" c) in target) {
              t = target[sc "|" mode "|" c]
              verdict = failed ? "FAILED" : ratios == "" || rom == "" ? "no data" : \
                        (median(ratios) >= t && rom >= t) ? "met" : \
                        (median(ratios) < t && rom < t) ? "**missed**" : "unclear"
              tgt = sprintf("≥ %.2f: %s", t, verdict)
            }
            lagc = (k in p99s) ? fmt(median(p99s[k]), 3) : "—"
            cuc = (k in cums) ? fmt(median(cums[k]), 0) : "—"
            if (cubad[k] > 0) cuc = cuc " (" cubad[k] " **timeout**)"
            if (mode != "deferred") { lagc = "—"; cuc = "—" }
            chk = (mode == "immediate" || mode == "deferred") ? sprintf("%s (%d/%d)", verok[k] == verified[k] ? "ok" : "**FAILED**", verok[k], verified[k]) : "—"
            if (failed)
              printf "| %s | %s | %s | %d | FAILED | FAILED | FAILED | | FAILED | %s | %s | %s | %s |\n", sc, label(mode), c, runs[k], tgt,
                mode == "deferred" ? "FAILED" : lagc, mode == "deferred" ? "FAILED" : cuc, chk
            else
              printf "| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", sc, label(mode), c, runs[k],
                fmt(median(tps[k]), 0), fmt(median(lat[k]), 3),
                mode == "none" ? "1 (baseline)" : fmt(median(ratios), 2),
                ratios == "" ? "" : fmt(lo(ratios), 2) "–" fmt(hi(ratios), 2),
                mode == "none" ? "" : fmt(rom, 2), tgt, lagc, cuc, chk
          }
        }
      }

      if (anydl) {
        print "\n## Deadlocks\n"
        print "Deadlocks the server counted in the scenario database during the runs (`pg_stat_database.deadlocks`, read before and after each pgbench run once its sessions had left), per 1,000 committed transactions, pooled over the repetitions (all deadlocks / all transactions; in parentheses the deadlocks). Difference = with views − no view; target: at most that many more per 1,000 transactions with the views. Retries (scenarios run with `--max-tries` above 1): the total number of retries reported by pgbench, per 1,000 transactions, each a deadlock or serialization failure the transaction then survived. Failed: transactions pgbench counted as failed (after the last try), all repetitions (deadlock / serialization); without retries any of them fails the run. TPS paired ratio: as in the throughput table.\n"
        print "| scenario | clients | views | runs | deadlocks / 1,000 txn, no view | deadlocks / 1,000 txn, with views | difference | target | retries / 1,000 txn, no view | retries / 1,000 txn, with views | failed txn, no view | failed txn, with views | TPS paired ratio |"
        print "|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"
        for (i = 1; i <= nscen; i++) {
          sc = order[i]; if (kind[sc] != "tps") continue
          nc = split(clients[sc], cl, " ")
          for (ci = 1; ci <= nc; ci++) {
            c = cl[ci]; n = sc "|none|" c
            nm = split(modes[sc], md, " ")
            for (mi = 1; mi <= nm; mi++) {
              mode = md[mi]; k = sc "|" mode "|" c
              if (!(k in runs) || (!(k in dlruns) && !(n in dlruns))) continue
              failed = (status[sc] != "OK")
              rn = (n in dlruns) ? per1000(dl[n], dlx[n]) : ""
              rk = (k in dlruns) ? per1000(dl[k], dlx[k]) : ""
              diff = (rn == "" || rk == "") ? "" : rk - rn
              tgt = ""
              if ((sc "|" mode "|" c) in dtarget) {
                t = dtarget[sc "|" mode "|" c]
                verdict = failed ? "FAILED" : diff == "" ? "no data" : diff <= t ? "met" : "**missed**"
                tgt = sprintf("≤ +%s: %s", t, verdict)
              }
              dn = rn == "" ? "—" : fmt(rn, 2) " (" dl[n] ")"
              dk = rk == "" ? "—" : fmt(rk, 2) " (" dl[k] ")"
              retn = (n in rtruns) ? fmt(per1000(rtr[n], rtx[n]), 2) " (" rtr[n] ")" : "—"
              retk = (k in rtruns) ? fmt(per1000(rtr[k], rtx[k]), 2) " (" rtr[k] ")" : "—"
              fn = !(n in fxruns) ? "—" : fx[n] == 0 ? "0" : "**" fx[n] "** (" fxdl[n] " / " fxser[n] ")"
              fk = !(k in fxruns) ? "—" : fx[k] == 0 ? "0" : "**" fx[k] "** (" fxdl[k] " / " fxser[k] ")"
              ratios = paired(per, sc, mode, c)
              if (failed)
                printf "| %s | %s | %s | %d | %s | FAILED | FAILED | %s | %s | FAILED | %s | FAILED | FAILED |\n", sc, c, label(mode), runs[k], dn, tgt, retn, fn
              else
                printf "| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", sc, c, label(mode), runs[k],
                  dn, dk, diff == "" ? "—" : sprintf("%+.2f", diff), tgt, retn, retk, fn, fk, fmt(median(ratios), 2)
            }
          }
        }
      }

      if (length_of(q99) > 0) {
        print "\n## Transaction latency percentiles\n"
        print "From the pgbench log of every transaction (`-l`): the 50th, 95th and 99th percentile (nearest rank) of the latencies of each run, in ms, then the median over repetitions. p99 ratio = with-view p99 / no-view p99 of the same repetition (median, range): the tail cost of the view on writers.\n"
        print "| scenario | mode | clients | p50 (ms) | p95 (ms) | p99 (ms) | p99 ratio vs no view | ratio range |"
        print "|---|---|---:|---:|---:|---:|---:|---:|"
        for (i = 1; i <= nscen; i++) {
          sc = order[i]; if (kind[sc] != "tps") continue
          nc = split(clients[sc], cl, " ")
          for (ci = 1; ci <= nc; ci++) {
            c = cl[ci]
            nm = split("none" modes[sc], md, " ")
            for (mi = 1; mi <= nm; mi++) {
              mode = md[mi]; k = sc "|" mode "|" c
              if (!(k in q99)) continue
              ratios = paired(q99per, sc, mode, c)
              if (status[sc] != "OK" && mode != "none")
                printf "| %s | %s | %s | FAILED | FAILED | FAILED | FAILED | |\n", sc, label(mode), c
              else
                printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", sc, label(mode), c,
                  fmt(median(q50[k]), 3), fmt(median(q95[k]), 3), fmt(median(q99[k]), 3),
                  mode == "none" ? "1 (baseline)" : fmt(median(ratios), 2),
                  ratios == "" ? "" : fmt(lo(ratios), 2) "–" fmt(hi(ratios), 2)
            }
          }
        }
      }

      for (i = 1; i <= nscen; i++) {
        sc = order[i]; if (kind[sc] != "sweep") continue
        if (!sweep_header++) {
          print "\n## Deferred scheduler settings: lag versus writer throughput\n"
          print "One deferred IMMV under the same write load at each settings point (the `ivmx.*` scheduler GUCs set with ALTER SYSTEM and reloaded; columns: the values a new session saw), and once without a view. Writer TPS: median over repetitions; paired ratio = TPS / no-view TPS of the same repetition (median). Latency p99: median over repetitions of the 99th percentile of each run. Lag p50 / p99: median over repetitions of the percentile of the 100 ms lag samples of each run; lag max: over every run. Catch-up: median time after the run until nothing is pending, without flush (timeouts counted apart). The IMMV check follows an `ivmx.flush`.\n"
          print "| scenario | settings point | naptime | refresh_delay | max_batch_rows | clients | runs | writer TPS | paired ratio | latency p99 (ms) | lag p50 (s) | lag p99 (s) | lag max (s) | catch-up (ms) | IMMV check |"
          print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        }
        nc = split(clients[sc], cl, " ")
        for (ci = 1; ci <= nc; ci++) {
          c = cl[ci]
          nm = split("none" swpoints[sc], md, " ")
          for (mi = 1; mi <= nm; mi++) {
            mode = md[mi]; k = sc "|" mode "|" c; sk = sc "|" mode
            if (!(k in runs)) continue
            ratios = paired(per, sc, mode, c)
            point = mode == "none" ? "no view" : substr(mode, 10)
            cuc = (k in cums) ? fmt(median(cums[k]), 0) : "—"
            if (cubad[k] > 0) cuc = cuc " (" cubad[k] " **timeout**)"
            chk = mode == "none" ? "—" : sprintf("%s (%d/%d)", verok[k] == verified[k] ? "ok" : "**FAILED**", verok[k], verified[k])
            settings = mode == "none" ? " | | " : sprintf("%s | %s | %s", swnap[sk], swdelay[sk], swbatch[sk])
            if (status[sc] != "OK" && mode != "none")
              printf "| %s | %s | %s | %s | %d | FAILED | FAILED | FAILED | FAILED | FAILED | FAILED | %s | %s |\n", sc, point, settings, c, runs[k], cuc, chk
            else
              printf "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", sc, point, settings, c, runs[k],
                fmt(median(tps[k]), 0), mode == "none" ? "1 (baseline)" : fmt(median(ratios), 2),
                fmt(median(q99[k]), 3),
                (k in p50s) ? fmt(median(p50s[k]), 3) : "—", (k in p99s) ? fmt(median(p99s[k]), 3) : "—",
                (k in maxs) ? fmt(hi(maxs[k]), 3) : "—", mode == "none" ? "—" : cuc, chk
          }
        }
      }

      if (nlagruns + ncuruns > 0) {
        print "\n## Deferred maintenance: lag and catch-up\n"
        print "Per run. Lag: `max(lag)` of `ivmx.immv_status` over the deferred IMMVs (only the leaf for scenarios that say so), sampled every 100 ms during the pgbench run (one psql session repeating the query, each sample its own transaction; it runs in the no-view runs too); percentiles are nearest-rank over the samples of that run. Catch-up: after the run (or bulk statement), the time until `pending_rows` is 0 for every deferred IMMV, polled every 50 ms on the server without `ivmx.flush` (10 s at most); pending = log rows pending when the wait began.\n"
        print "| scenario | mode | clients | rep | after | lag samples | lag p50 (s) | lag p99 (s) | lag max (s) | pending | catch-up (ms) |"
        print "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"
        for (i = 1; i <= ncuruns; i++) {
          rk = curuns[i]; split(rk, p, "|"); lk = p[1] "|" p[2] "|" p[3] "|" p[4]
          if (status[p[1]] != "OK") {
            printf "| %s | %s | %s | %s | %s | %s | FAILED | FAILED | FAILED | %s | FAILED |\n", p[1], label(p[2]), p[3], p[4], p[5],
              (lk in lagn && p[5] == "pgbench") ? lagn[lk] : "—", cup0[rk] == "" ? "—" : cup0[rk]
            continue
          }
          printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p[1], label(p[2]), p[3], p[4], p[5],
            (lk in lagn && p[5] == "pgbench") ? lagn[lk] : "—",
            (lk in lagn && p[5] == "pgbench") ? fmt(lp50[lk], 3) : "—",
            (lk in lagn && p[5] == "pgbench") ? fmt(lp99[lk], 3) : "—",
            (lk in lagn && p[5] == "pgbench") ? fmt(lmax[lk], 3) : "—",
            cup0[rk] == "" ? "—" : cup0[rk],
            cust[rk] == "ok" ? fmt(cu[rk], 0) : "**" cust[rk] "**" (cu[rk] == "" ? "" : " (" fmt(cu[rk], 0) ")")
        }
      }

      if (length_of(cpu) > 0) {
        print "\n## Server CPU per transaction\n"
        print "CPU time of the whole server during the run (every postgres process: backends, WAL writer, autovacuum, pg_ivmx workers; from /proc), divided by the transactions. It ignores other processes of the machine, but not their effects on ours (shared caches, contention); in a VM without steal-time accounting, time the hypervisor gives to other guests is charged to whichever process was running, so it can be as noisy as TPS. Median over repetitions; CPU ratio = with-view / no-view of the same repetition (median, range).\n"
        print "| scenario | mode | clients | server CPU µs/txn | CPU ratio vs no view | ratio range |"
        print "|---|---|---:|---:|---:|---:|"
        for (i = 1; i <= nscen; i++) {
          sc = order[i]; if (kind[sc] != "tps") continue
          nc = split(clients[sc], cl, " ")
          for (ci = 1; ci <= nc; ci++) {
            c = cl[ci]
            nm = split("none" modes[sc], md, " ")
            for (mi = 1; mi <= nm; mi++) {
              mode = md[mi]; k = sc "|" mode "|" c
              if (!(k in cpu)) continue
              ratios = ""
              if (mode != "none")
                for (r in cper) {
                  split(r, p, "|")
                  if (p[1] == sc && p[2] == mode && p[3] == c && ((sc "|none|" c "|" p[4]) in cper) && cper[sc "|none|" c "|" p[4]] > 0)
                    ratios = ratios " " cper[r] / cper[sc "|none|" c "|" p[4]]
                }
              if (status[sc] != "OK" && mode != "none")
                printf "| %s | %s | %s | FAILED | FAILED | |\n", sc, label(mode), c
              else
                printf "| %s | %s | %s | %s | %s | %s |\n", sc, label(mode), c, fmt(median(cpu[k]), 0),
                  mode == "none" ? "1 (baseline)" : fmt(median(ratios), 2),
                  ratios == "" ? "" : fmt(lo(ratios), 2) "–" fmt(hi(ratios), 2)
            }
          }
        }
      }

      print "\n## Create and full refresh\n"
      print "Client-side time of each statement in ms: median (min–max) over every with-view run; the refresh runs right after the pgbench run, on an idle server.\n"
      print "| scenario | view | operation | IMMV (pg_ivmx) | deferred IMMV | plain matview | IMMV / matview |"
      print "|---|---|---|---:|---:|---:|---:|"
      for (i = 1; i <= nops; i++) {
        k = opkeys[i]; split(k, p, "|")
        a = ms[k "|immediate"]; b = ms[k "|matview"]; d = ms[k "|deferred"]
        what = p[3] == "create" ? "create (`ivmx.create_immv` / `CREATE MATERIALIZED VIEW`)" : \
               p[3] == "flush" ? "flush after catch-up (`ivmx.flush(v)`)" : \
               "refresh (`ivmx.refresh_immv(v, true)` / `REFRESH MATERIALIZED VIEW`)"
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", p[1], p[2], what,
          a == "" ? "—" : fmt(median(a), 1) " (" fmt(lo(a), 1) "–" fmt(hi(a), 1) ", n=" count(a) ")",
          d == "" ? "—" : fmt(median(d), 1) " (" fmt(lo(d), 1) "–" fmt(hi(d), 1) ", n=" count(d) ")",
          b == "" ? "—" : fmt(median(b), 1) " (" fmt(lo(b), 1) "–" fmt(hi(b), 1) ", n=" count(b) ")",
          (a == "" || b == "") ? "—" : fmt(median(a) / median(b), 2)
      }

      if (nb > 0) {
        print "\n## Bulk updates\n"
        print "One statement, client-side time in ms (median over repetitions, each after a VACUUM and a CHECKPOINT); paired ratio = with-IMMV time / no-view time of the same repetition (median, range); ratio of medians = median with IMMV / median without. Server CPU: what the backend running the statement spent on it (its AFTER triggers, hence the IMMV maintenance, included; 10 ms resolution); CPU ratio = paired median.\n"
        print "| scenario | statement | rows | no view (ms) | with IMMV (ms) | paired ratio | ratio range | ratio of medians | server CPU no view (ms) | server CPU with IMMV (ms) | CPU ratio | IMMV check |"
        print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        for (i = 1; i <= nb; i++) {
          k = bkeys[i]; split(k, p, "|"); mode = bmode[k]
          ratios = ""
          for (r in bper) {
            split(r, q, "|")
            if (q[1] == p[1] && q[2] == p[2] && q[3] == mode && ((k "|none|" q[4]) in bper))
              ratios = ratios " " bper[r] / bper[k "|none|" q[4]]
          }
          cratios = ""
          for (r in bcper) {
            split(r, q, "|")
            if (q[1] == p[1] && q[2] == p[2] && q[3] == mode && ((k "|none|" q[4]) in bcper) && bcper[k "|none|" q[4]] > 0)
              cratios = cratios " " bcper[r] / bcper[k "|none|" q[4]]
          }
          chk = bver[k] == 0 ? "—" : sprintf("%s (%d/%d)", bverok[k] == bver[k] ? "ok" : "**FAILED**", bverok[k], bver[k])
          if (status[p[1]] != "OK")
            printf "| %s | %s | %s | %s | FAILED | FAILED | | FAILED | %s | FAILED | FAILED | %s |\n", p[1], p[2], brows[k], fmt(median(bms[k "|none"]), 1), fmt(median(bcpu[k "|none"]), 0), chk
          else
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p[1], p[2], brows[k],
              fmt(median(bms[k "|none"]), 1), fmt(median(bms[k "|" mode]), 1), fmt(median(ratios), 2),
              ratios == "" ? "" : fmt(lo(ratios), 2) "–" fmt(hi(ratios), 2),
              (bms[k "|none"] == "" || bms[k "|" mode] == "") ? "—" : fmt(median(bms[k "|" mode]) / median(bms[k "|none"]), 2),
              fmt(median(bcpu[k "|none"]), 0), fmt(median(bcpu[k "|" mode]), 0), fmt(median(cratios), 2), chk
        }
      }

      print "\n## Scenarios\n"
      print "| scenario | status | what it measures |"
      print "|---|---|---|"
      for (i = 1; i <= nscen; i++) {
        sc = order[i]
        st = (sc in status) ? status[sc] : "FAILED"
        printf "| %s | %s | %s |\n", sc, st == "OK" ? "ok" : "**" st "**", desc[sc]
      }
      for (i = 1; i <= nscen; i++) {
        sc = order[i]
        if (status[sc] == "OK") continue
        printf "\n**%s FAILED**: %s\n", sc, (sc in detail) && detail[sc] != "" ? detail[sc] : "the scenario stopped with an error; see bench.log"
      }
    }
  ' scenarios.txt status.csv targets.csv deadlock_targets.csv sweep.csv lag.csv catchup.csv tps.csv ops.csv bulk.csv
}

# chart.dat: one bar per scenario/mode/clients: median paired TPS ratio, min,
# max; scenarios that FAILED have no bar.
chart_data() {
  awk -F, "$awk_lib"'
    FNR == 1 { next }
    FILENAME == "status.csv" { if ($2 == "OK") ok[$1] = 1; next }
    !($1 in ok) { next }
    $2 ~ /\// { next }                    # settings sweep points: their own table
    { k = $1 "|" $2 "|" $3; if ($6 != "") per[k "|" $4] = $6
      if ($2 != "none" && !(k in seen)) { seen[k] = 1; keys[++n] = k } }
    END {
      for (i = 1; i <= n; i++) {
        split(keys[i], p, "|"); ratios = ""
        for (r in per) { split(r, q, "|")
          if (q[1] == p[1] && q[2] == p[2] && q[3] == p[3] && ((p[1] "|none|" p[3] "|" q[4]) in per))
            ratios = ratios " " per[r] / per[p[1] "|none|" p[3] "|" q[4]] }
        if (ratios != "") printf "\"%s %s c=%s\" %.3f %.3f %.3f\n", p[1], p[2], p[3], median(ratios), lo(ratios), hi(ratios)
      }
    }
  ' status.csv tps.csv
}

draw_chart() {
  if ! command -v gnuplot >/dev/null; then
    echo "report: gnuplot not installed, no chart (apt-get install gnuplot-nox)" >&2
    return 0
  fi
  rm -f tps_ratio.png
  chart_data >chart.dat
  [[ -s chart.dat ]] || return 0
  local width
  width=$(awk 'END { w = 240 + 44 * NR; print (w < 900 ? 900 : w) }' chart.dat)
  gnuplot <<GP 2>>bench.log || echo "report: gnuplot failed, no chart (see bench.log)" >&2
set terminal png size $width,560 noenhanced
set output 'tps_ratio.png'
set title 'Writer TPS with view / without view: median of paired repetitions, bars = range; gray line = 1.0'
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.7 border -1
set boxwidth 0.7
set yrange [0:*]
set offsets 0, 0, 0.15, 0
set ylabel 'TPS ratio'
set grid ytics
set xtics rotate by 40 right
set bmargin 11
set lmargin 16
set key off
plot 'chart.dat' using 2:3:4:xtic(1) lc rgb '#4477aa', \
     '' using (\$0 - 0.25):2:(sprintf('%.2f', \$2)) with labels, \
     1 with lines lc rgb 'gray' 
GP
}

# lag_plot.dat + lag_plot.gp: the lag samples of repetition 1 of every
# deferred run, against the seconds since the run's first sample; one panel
# per scenario (a line per client count) and, for a settings sweep, one panel
# per client count (a line per settings point).
lag_chart_files() {
  awk -F, '
    FILENAME == "status.csv" { if (FNR > 1 && $2 != "OK") failed[$1] = 1; next }
    FNR == 1 || $4 != 1 { next }
    {
      if ($2 ~ /\//) { panel = $1 " c=" $3; line = substr($2, index($2, "/") + 1) }
      else { panel = $1 " (" $2 ")"; line = "c=" $3 }
      if ($1 in failed) panel = panel " - FAILED its IMMV check or a run"
      pk = panel; lk = panel "|" line
      if (!(pk in pidx)) { pidx[pk] = ++np; pname[np] = panel }
      if (!(lk in lidx)) { lidx[lk] = nl++; lpanel[nl - 1] = pidx[pk]; lname[nl - 1] = line; t0[lk] = $5 }
      data[lidx[lk]] = data[lidx[lk]] sprintf("%.3f %s\n", $5 - t0[lk], $6)
    }
    END {
      if (nl == 0) exit
      for (i = 0; i < nl; i++) printf "%s\n\n", data[i] > "lag_plot.dat"
      cols = np > 1 ? 2 : 1; rows = int((np + cols - 1) / cols)
      gp = "lag_plot.gp"
      printf "set terminal png size %d,%d noenhanced\n", cols * 560, rows * 330 + 40 > gp
      print "set output \"lag_over_time.png\"" > gp
      printf "set multiplot layout %d,%d title \"Lag of deferred IMMVs during each pgbench run (repetition 1; max(lag) of ivmx.immv_status every 100 ms)\"\n", rows, cols > gp
      print "set xlabel \"s since the first sample\"; set ylabel \"lag (s)\"; set yrange [0:*]; set grid; set key top left Left reverse samplen 2" > gp
      for (p = 1; p <= np; p++) {
        printf "set title \"%s\"\nplot ", pname[p] > gp
        sep = ""
        for (i = 0; i < nl; i++) if (lpanel[i] == p) {
          printf "%s\"lag_plot.dat\" index %d using 1:2 with lines lw 1.5 title \"%s\"", sep, i, lname[i] > gp
          sep = ", "
        }
        printf "\n" > gp
      }
      print "unset multiplot" > gp
    }
  ' status.csv lag.csv
}

draw_lag_chart() {
  command -v gnuplot >/dev/null || return 0
  rm -f lag_plot.dat lag_plot.gp lag_over_time.png
  lag_chart_files
  [[ -s lag_plot.gp ]] || return 0
  gnuplot lag_plot.gp 2>>bench.log || echo "report: gnuplot failed, no lag chart (see bench.log)" >&2
}

{
  [[ -f meta.md ]] && cat meta.md
  render_tables
  if [[ -f server.log ]]; then
    echo
    echo "Server log (server.log): $(grep -cE '^[^ ]+ [^ ]+ [^ ]+ \[[0-9]+\] (ERROR|FATAL|PANIC):' server.log || true) ERROR/FATAL/PANIC entries ($(grep -cE '^[^ ]+ [^ ]+ [^ ]+ \[[0-9]+\] ERROR: +deadlock detected' server.log || true) of them \"deadlock detected\") and $(grep -cE '^[^ ]+ [^ ]+ [^ ]+ \[[0-9]+\] WARNING:' server.log || true) WARNING entries."
  fi
  echo
  echo "Raw data: tps.csv, ops.csv, bulk.csv (one row per run; tps.csv also has each run's retries, failures by kind and server deadlocks), lag.csv, catchup.csv, sweep.csv; pgbench output in logs/; progress in bench.log."
  draw_chart
  draw_lag_chart
  [[ -f tps_ratio.png ]] && echo "Chart: tps_ratio.png"
  [[ -f lag_over_time.png ]] && echo "Lag over time of the deferred runs: lag_over_time.png"
} >report.md.tmp
mv report.md.tmp report.md
