package io.ferry.bench;

import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.TearDown;

/**
 * A JMH state that holds one {@link CallPath} for a trial. Subclasses carry the {@code @Param} that
 * names the path (each benchmark method needs its own parameter name, so the JSON tells them apart)
 * and call {@link #open} from their trial setup.
 */
abstract class PathState {
    CallPath p;

    /** Creates the path, wakes it and makes its untimed warm-up calls (spaced, if the path is). */
    final void open(String name) {
        p = CallPath.create(name);
        p.resume();
        if (p.gapNs > 0) {
            p.runSpaced(p.warm);
        } else {
            p.run(p.warm);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        p.close();
    }
}
