#!/usr/bin/env python3
"""Same-run ratios of TaskBenchmark.paired and TclBenchmark.cycle from a JMH JSON file (issue 12).

Each iteration's aux counters are sums over its bursts; the ratio reported per iteration is the
geometric mean over its burst pairs (exp(sum of log ratios / count)) and, beside it, the ratio of the
summed times. Usage: bench/tasks-ratios.py results.json
"""
import json
import math
import sys


def per_iteration(bench, name):
    m = bench["secondaryMetrics"].get(name)
    return [x for fork in m["rawData"] for x in fork] if m else []


def main(path):
    for b in json.load(open(path)):
        name = b["benchmark"].rsplit(".", 2)[-2] + "." + b["benchmark"].rsplit(".", 1)[-1]
        params = b.get("params") or {}
        label = name + (" " + ",".join(f"{k}={v}" for k, v in params.items()) if params else "")
        if name == "TaskBenchmark.paired":
            pairs = per_iteration(b, "pairs")
            logs = per_iteration(b, "logRatio")
            op = per_iteration(b, "opNanos")
            task = per_iteration(b, "taskNanos")
            for i in range(len(pairs)):
                n = pairs[i] * 200
                print(f"{label} iter {i}: task/op geo-mean {math.exp(logs[i] / pairs[i]):.3f}, "
                      f"by total time {task[i] / op[i]:.3f} (op {op[i] / n:.0f} ns, task {task[i] / n:.0f} ns per call)")
        elif name == "CancelHookBenchmark.paired":
            pairs = per_iteration(b, "pairs")
            logs = per_iteration(b, "logRatio")
            plain = per_iteration(b, "plainNanos")
            hooked = per_iteration(b, "hookedNanos")
            for i in range(len(pairs)):
                n = pairs[i] * 500
                print(f"{label} iter {i}: hooked/plain geo-mean {math.exp(logs[i] / pairs[i]):.3f}, by total time "
                      f"{hooked[i] / plain[i]:.3f} (plain {plain[i] / n:.1f} ns, hooked {hooked[i] / n:.1f} ns per call)")
        elif name == "TclBenchmark.cycle":
            cyc = per_iteration(b, "cycles")
            keys = ["floorNanos", "ferryNanos", "tripNanos", "executorNanos"]
            vals = {k: per_iteration(b, k) for k in keys}
            l1 = per_iteration(b, "logFerryOverFloorPlusTrip")
            l2 = per_iteration(b, "logExecutorOverFerry")
            for i in range(len(cyc)):
                n = cyc[i] * 100
                ns = {k: vals[k][i] / n for k in keys}
                print(f"{label} iter {i}: ferry/(floor+trip) {math.exp(l1[i] / cyc[i]):.3f}, executor/ferry "
                      f"{math.exp(l2[i] / cyc[i]):.2f} (ns per eval: floor {ns['floorNanos']:.0f}, ferry "
                      f"{ns['ferryNanos']:.0f}, trip {ns['tripNanos']:.0f}, executor {ns['executorNanos']:.0f})")


if __name__ == "__main__":
    main(sys.argv[1])
