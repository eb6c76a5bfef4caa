package io.ferry;

import java.util.List;

/**
 * A snapshot of what an engine has done since it started ({@link Engine#stats()}): each figure is exact
 * as read, a snapshot of several is not atomic (a call may complete between two reads), and it reads no
 * line a waiting caller polls. Counts are of ring calls: a {@code callBatch} slot of up to 256 items is
 * one call.
 *
 * <p>Where each comes from: {@code submitted} is the ring's claim counter, {@code completed},
 * {@code started} and {@code engineCallNanos} the stats block the engine publishes for waiting callers;
 * {@code failed}, {@code skipped}, {@code aborted}, the engine's busy time, its wake-ups and the per-op
 * figures are counted by the engine thread in a block of its own; timeouts, cancels, interrupts, rejected
 * tries and parks are counted by the callers on those (rare) paths.
 *
 * @param engine the engine's name
 * @param uptimeNanos time since the engine started (to its close, once closed)
 * @param submitted calls claimed on the ring (sequences handed out)
 * @param completed calls the engine is done with: run (with any outcome), skipped or aborted
 * @param run calls whose op the engine ran (or refused before running it: bad context, unknown op)
 * @param failed calls that ended in an error (a {@link CallFailedException} for their caller)
 * @param skipped calls the engine skipped because their caller gave up before they started
 * @param aborted abort records (a producer failed between claiming and publishing a slot)
 * @param rejected {@code tryCall} attempts that found every slot in flight and sent nothing
 * @param timedOut calls given up at their deadline
 * @param cancelled async calls given up by their future
 * @param interrupted calls given up because their caller was interrupted
 * @param inFlight calls submitted and not completed (submitted - completed): the ring's depth
 * @param queued calls submitted and not yet started by the engine (submitted - started)
 * @param engineBusyNanos wall time the engine thread spent in runs of calls, preemption included: an
 *        estimate, the slots taken times the time per slot of one run in 64 (measured with two clock reads)
 * @param engineBusyFraction engineBusyNanos / uptimeNanos
 * @param engineBusyCpuNanos of engineBusyNanos, the time the engine thread was on its core (its CPU clock,
 *        same samples, at most its whole CPU time): the rest, engineBusyNanos - engineBusyCpuNanos, it was
 *        off its core mid-run (preempted: the machine had no core for it)
 * @param engineCpuNanos CPU time of the engine thread (busy and spinning idle alike); once closed, as close
 *        began (the thread's clock is gone once it is joined), or -1 if it was never read
 * @param engineCallNanos what a call took the engine lately, by the engine's own CPU clock (0 until measured)
 * @param engineWakeups times the idle engine slept and had to be woken
 * @param callerParks callers that parked for their result
 * @param callerWakeups parked callers the engine woke with their outcome
 * @param ops per op (only ops called at least once; names of ops never looked up in Java read {@code op#id})
 * @param closed whether the engine was closed when the snapshot was taken
 */
public record EngineStats(String engine, long uptimeNanos, long submitted, long completed, long run, long failed,
        long skipped, long aborted, long rejected, long timedOut, long cancelled, long interrupted, long inFlight,
        long queued, long engineBusyNanos, double engineBusyFraction, long engineBusyCpuNanos, long engineCpuNanos,
        long engineCallNanos,
        long engineWakeups, long callerParks, long callerWakeups, List<OpStats> ops, boolean closed) {

    /** A defensive copy of the op list. */
    public EngineStats {
        ops = List.copyOf(ops);
    }

    /**
     * One op's figures, counted by the engine thread.
     *
     * @param name the op's name
     * @param id the op's id
     * @param calls calls of this op the engine ran
     * @param failed of which failed
     * @param timedCalls of which timed: every call of a tracked op ({@link EngineBuilder#trackOps}), or
     *        every call with histograms on
     * @param timedNanos the timed calls' wall time on the engine thread
     */
    public record OpStats(String name, int id, long calls, long failed, long timedCalls, long timedNanos) {
        /**
         * Mean engine time of the timed calls.
         *
         * @return ns per timed call, or 0 if none was timed
         */
        public long meanNanos() {
            return timedCalls == 0 ? 0 : timedNanos / timedCalls;
        }
    }

    /**
     * The figures of one op by name.
     *
     * @param name the op's name
     * @return its figures, or null if it has none (never called)
     */
    public OpStats op(String name) {
        for (OpStats o : ops) {
            if (o.name().equals(name)) {
                return o;
            }
        }
        return null;
    }

    /** One line per group, for logs and the demo. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        b.append("engine '").append(engine).append("'").append(closed ? " (closed)" : "")
                .append(String.format(" up %.3f s%n", uptimeNanos / 1e9));
        b.append(String.format("  calls: submitted %d, completed %d, run %d, failed %d, skipped %d, aborted %d%n",
                submitted, completed, run, failed, skipped, aborted));
        b.append(String.format("  given up: timed out %d, cancelled %d, interrupted %d; rejected tries %d%n",
                timedOut, cancelled, interrupted, rejected));
        b.append(String.format("  ring: in flight %d, queued %d%n", inFlight, queued));
        b.append(String.format("  engine: busy %.1f%% (%.3f s, of which off its core %.3f s), cpu %s, recent call %d ns,"
                + " wake-ups %d%n", engineBusyFraction * 100, engineBusyNanos / 1e9,
                (engineBusyNanos - engineBusyCpuNanos) / 1e9,
                engineCpuNanos < 0 ? "n/a" : String.format("%.3f s", engineCpuNanos / 1e9), engineCallNanos,
                engineWakeups));
        b.append(String.format("  callers: parked %d, woken %d%n", callerParks, callerWakeups));
        for (OpStats o : ops) {
            b.append(String.format("  op %-20s calls %d, failed %d%s%n", o.name(), o.calls(), o.failed(),
                    o.timedCalls() == 0 ? "" : String.format(", mean %d ns over %d timed", o.meanNanos(), o.timedCalls())));
        }
        return b.toString();
    }
}
