package io.ferry.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Threshold;
import jdk.jfr.Timespan;

/**
 * One sync call, from its submit to its result (the event's duration is the caller's wait). Disabled by
 * default and gated by its threshold (20 ms by default): a recording of slow calls writes nothing for
 * fast ones.
 */
@Name("io.ferry.Call")
@Label("Ferry Call")
@Category("Ferry")
@Description("A call through Ferry's ring: its wait, from submit to result, is the event's duration")
@StackTrace(false)
@Enabled(false)
@Threshold("20 ms")
public final class CallEvent extends jdk.jfr.Event {
    @Label("Engine")
    public String engine;

    @Label("Op")
    public String op;

    @Label("Context")
    @Description("The context id the call ran in")
    public long context;

    @Label("Engine Time")
    @Description("What a call of this op takes the engine: its mean, for a tracked op or with histograms on;"
            + " else the engine's recent time per call (stats.call_ns)")
    @Timespan(Timespan.NANOSECONDS)
    public long engineTime;

    @Label("Outcome")
    @Description("ok, failed, timed out, interrupted, closed, or error")
    public String outcome;
}
