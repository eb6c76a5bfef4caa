package io.ferry.internal;

import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;
import jdk.jfr.Recording;
import jdk.jfr.RecordingState;

/**
 * The switches the op handles read on every sync call, chosen so that a call pays nothing for
 * observability while nobody looks: {@link #ENABLED} is a static final (the JIT folds it), and
 * {@link #jfr} is a plain static field a recorder listener flips while any JFR recording runs.
 */
public final class Observe {
    /**
     * {@code -Dferry.observability=false} removes per-call observation (JFR per-call events, histograms) and
     * the engine's counters block: the "compiled out" reference the benchmarks compare against. Read once.
     */
    public static final boolean ENABLED = !"false".equals(System.getProperty("ferry.observability"));

    /**
     * Whether a JFR recording is running (any: the per-call event's own setting then decides). A benign
     * race: a call that reads a stale value is observed, or not, one call late.
     */
    public static volatile boolean jfr;

    private static volatile boolean listening;

    private Observe() {
    }

    /** Starts following the JFR recordings' state (once, at the first engine start). */
    static void listen() {
        if (!ENABLED || listening) {
            return;
        }
        synchronized (Observe.class) {
            if (listening) {
                return;
            }
            listening = true;
            // Loaded and initialised here, on the thread that starts the first engine: a virtual thread that
            // loaded it in its first observed call would pin its carrier while it did (StressTest saw it).
            new CallEvent();
            try {
                FlightRecorder.addListener(new FlightRecorderListener() {
                    @Override
                    public void recordingStateChanged(Recording recording) {
                        update();
                    }

                    @Override
                    public void recorderInitialized(FlightRecorder recorder) {
                        update();
                    }
                });
                update();
            } catch (RuntimeException | Error noJfr) {
                // JFR unavailable (a JVM without it, or a security policy): per-call events stay off.
            }
        }
    }

    private static void update() {
        boolean running = false;
        if (FlightRecorder.isInitialized()) {
            for (Recording r : FlightRecorder.getFlightRecorder().getRecordings()) {
                running |= r.getState() == RecordingState.RUNNING;
            }
        }
        jfr = running;
    }
}
