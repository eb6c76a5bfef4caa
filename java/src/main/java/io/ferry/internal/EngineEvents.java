package io.ferry.internal;

import io.ferry.EngineStats;
import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** The engine's lifecycle and statistics as JFR events (io.ferry.*), and their registration. */
final class EngineEvents {
    private static volatile boolean registered;

    private EngineEvents() {
    }

    @Name("io.ferry.EngineStart")
    @Label("Ferry Engine Start")
    @Category("Ferry")
    @StackTrace(false)
    static final class Start extends Event {
        @Label("Engine")
        String engine;

        @Label("Capacity")
        int capacity;
    }

    @Name("io.ferry.EngineClose")
    @Label("Ferry Engine Close")
    @Category("Ferry")
    @Description("An engine closed: how long from close() to the engine thread joined, and whether it was abandoned")
    @StackTrace(false)
    static final class Close extends Event {
        @Label("Engine")
        String engine;

        @Label("Drain Time")
        @Timespan(Timespan.NANOSECONDS)
        long drainTime;

        @Label("Abandoned")
        @Description("The engine thread did not stop within the close timeout")
        boolean abandoned;

        @Label("Calls")
        long calls;
    }

    @Name("io.ferry.EngineAbandon")
    @Label("Ferry Engine Abandon")
    @Category("Ferry")
    @Description("The engine thread did not stop within the close timeout: its callers were failed, its memory leaked")
    @StackTrace(false)
    static final class Abandon extends Event {
        @Label("Engine")
        String engine;

        @Label("Close Timeout")
        @Timespan(Timespan.NANOSECONDS)
        long closeTimeout;
    }

    @Name("io.ferry.ContextOpen")
    @Label("Ferry Context Open")
    @Category("Ferry")
    @StackTrace(false)
    static final class ContextOpen extends Event {
        @Label("Engine")
        String engine;

        @Label("Context")
        String context;

        @Label("Context Id")
        long id;
    }

    @Name("io.ferry.ContextClose")
    @Label("Ferry Context Close")
    @Category("Ferry")
    @StackTrace(false)
    static final class ContextClose extends Event {
        @Label("Engine")
        String engine;

        @Label("Context")
        String context;

        @Label("Context Id")
        long id;
    }

    @Name("io.ferry.EngineStatistics")
    @Label("Ferry Engine Statistics")
    @Category("Ferry")
    @Description("Engine.stats() of every running engine")
    @Period("everyChunk")
    @StackTrace(false)
    static final class Statistics extends Event {
        @Label("Engine")
        String engine;

        @Label("Submitted")
        long submitted;

        @Label("Completed")
        long completed;

        @Label("Failed")
        long failed;

        @Label("Skipped")
        long skipped;

        @Label("Rejected")
        long rejected;

        @Label("Timed Out")
        long timedOut;

        @Label("Cancelled")
        long cancelled;

        @Label("In Flight")
        long inFlight;

        @Label("Queued")
        long queued;

        @Label("Engine Busy")
        @Timespan(Timespan.NANOSECONDS)
        long engineBusy;

        @Label("Engine Busy On Core")
        @Description("Of the busy time, the time the engine thread was on its core (its CPU clock)")
        @Timespan(Timespan.NANOSECONDS)
        long engineBusyOnCore;

        @Label("Engine Busy Fraction")
        @jdk.jfr.Percentage
        double engineBusyFraction;

        @Label("Engine CPU Time")
        @Timespan(Timespan.NANOSECONDS)
        long engineCpuTime;

        @Label("Engine Wake-ups")
        long engineWakeups;

        @Label("Caller Parks")
        long callerParks;
    }

    /** Registers the periodic event and the recorder listener, once. */
    private static void register() {
        if (registered || !Observe.ENABLED) {
            return;
        }
        synchronized (EngineEvents.class) {
            if (registered) {
                return;
            }
            registered = true;
            try {
                FlightRecorder.addPeriodicEvent(Statistics.class, EngineEvents::emitStatistics);
            } catch (RuntimeException | Error noJfr) {
                // JFR unavailable: no periodic event.
            }
            Observe.listen();
        }
    }

    private static void emitStatistics() {
        for (EngineCounters c : EngineCounters.live()) {
            Statistics e = new Statistics();
            if (!e.isEnabled()) {
                return;
            }
            EngineStats s = c.snapshot();
            e.engine = s.engine();
            e.submitted = s.submitted();
            e.completed = s.completed();
            e.failed = s.failed();
            e.skipped = s.skipped();
            e.rejected = s.rejected();
            e.timedOut = s.timedOut();
            e.cancelled = s.cancelled();
            e.inFlight = s.inFlight();
            e.queued = s.queued();
            e.engineBusy = s.engineBusyNanos();
            e.engineBusyFraction = s.engineBusyFraction();
            e.engineBusyOnCore = s.engineBusyCpuNanos();
            e.engineCpuTime = s.engineCpuNanos();
            e.engineWakeups = s.engineWakeups();
            e.callerParks = s.callerParks();
            e.commit();
        }
    }

    static void started(EngineCounters c) {
        register();
        Start e = new Start();
        if (e.isEnabled()) {
            e.engine = c.name();
            e.capacity = c.capacity();
            e.commit();
        }
    }

    static void abandoned(EngineCounters c, long closeTimeoutNanos) {
        Abandon e = new Abandon();
        if (e.isEnabled()) {
            e.engine = c.name();
            e.closeTimeout = closeTimeoutNanos;
            e.commit();
        }
    }

    static void closed(EngineCounters c, long drainNanos, boolean abandoned) {
        Close e = new Close();
        if (e.isEnabled()) {
            e.engine = c.name();
            e.drainTime = drainNanos;
            e.abandoned = abandoned;
            e.calls = c.ringFigures()[0];
            e.commit();
        }
    }

    /** A context opened (ContextBuilder.create) or closed (ExecutionContext.close). */
    static void context(String engine, String context, long id, boolean open) {
        if (open) {
            ContextOpen e = new ContextOpen();
            if (e.isEnabled()) {
                e.engine = engine;
                e.context = context;
                e.id = id;
                e.commit();
            }
        } else {
            ContextClose e = new ContextClose();
            if (e.isEnabled()) {
                e.engine = engine;
                e.context = context;
                e.id = id;
                e.commit();
            }
        }
    }
}
