package io.ferry.internal;

/** The engine's lifecycle as JFR events (filled in with the JFR step). */
final class EngineEvents {
    private EngineEvents() {
    }

    static void started(EngineCounters c) {
    }

    static void closed(EngineCounters c, long drainNanos, boolean abandoned) {
    }
}
