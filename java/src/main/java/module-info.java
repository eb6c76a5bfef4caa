/**
 * Ferry: drive a native engine that must live on one thread from any number of Java threads.
 *
 * <p>Only {@code io.ferry} is exported; {@code io.ferry.internal} holds the ring, the bindings and the
 * loader. The library needs native access: {@code --enable-native-access=io.ferry} on the module path,
 * {@code --enable-native-access=ALL-UNNAMED} on the class path.
 */
module io.ferry {
    exports io.ferry;
    exports io.ferry.sqlite;
}
