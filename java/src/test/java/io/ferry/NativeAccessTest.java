package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.child.ChildJvm;
import io.ferry.child.NativeAccessProbe;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Without --enable-native-access, Ferry must say so: Engine.isAvailable() is false with a cause that
 * names the flag, and starting an engine fails with an exception that names it, instead of crashing or
 * half-working. Runs in a child JVM started without the flag.
 */
class NativeAccessTest {
    @Test
    void withoutEnableNativeAccessStartFailsWithAMessageNamingTheFlagAndIsAvailableIsFalse() throws Exception {
        ChildJvm.Result r = ChildJvm.run(NativeAccessProbe.class, false, Duration.ofSeconds(10));
        System.out.println(r.describe());
        assertEquals(0, r.exitCode(), () -> "the probe must not start an engine\n" + r.describe());
        List<String> marks = r.marks();
        assertEquals(3, marks.size(), r::describe);

        assertEquals("available=false", marks.get(0), r::describe);

        String cause = marks.get(1);
        assertTrue(cause.startsWith("cause=") && !cause.equals("cause=null"), r::describe);
        assertTrue(cause.contains("--enable-native-access=ALL-UNNAMED"),
                () -> "unavailabilityCause() must name the flag to add\n" + r.describe());

        String failure = marks.get(2);
        assertTrue(failure.startsWith("start failed: " + FerryException.class.getName() + ": "),
                () -> "start() must throw FerryException\n" + r.describe());
        assertTrue(failure.contains("--enable-native-access"),
                () -> "the start failure must name --enable-native-access\n" + r.describe());
    }

    @Test
    void withoutEnableNativeAccessFerryMakesNoRestrictedCallSoTheJdkPrintsNoWarning() throws Exception {
        // Ferry checks for native access before touching a restricted method; under the JDK's default
        // --illegal-native-access=warn a restricted call would print a warning and then work anyway.
        ChildJvm.Result r = ChildJvm.run(NativeAccessProbe.class, false, Duration.ofSeconds(10));
        assertEquals(0, r.exitCode(), r::describe);
        assertFalse(r.stderr().contains("restricted method"), () -> "unexpected JDK warning\n" + r.describe());
    }
}
