/**
 * Ferry: drive a native engine that must live on one thread from any number of Java threads.
 *
 * <p>{@code io.ferry} is the API, {@code io.ferry.sqlite} the SQLite engine and {@code io.ferry.spi} what an
 * engine binding needs beyond the API; {@code io.ferry.internal}, not exported, holds the ring, the bindings
 * and the loader. The library needs native access: {@code --enable-native-access=io.ferry} on the module path,
 * {@code --enable-native-access=ALL-UNNAMED} on the class path.
 */
module io.ferry {
    requires java.management;
    requires jdk.jfr;

    exports io.ferry;
    exports io.ferry.sqlite;
    exports io.ferry.spi;
    exports io.ferry.tcl; // issue 12: the Tcl engine
    // Ferry's JFR event classes (io.ferry.internal.CallEvent, EngineEvents.*) are not public API; the
    // recorder reads and instruments them.
    opens io.ferry.internal to jdk.jfr;
}
