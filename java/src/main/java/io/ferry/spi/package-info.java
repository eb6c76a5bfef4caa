/**
 * What an engine binding needs beyond the public call API, exported so that a third party can build an
 * engine the way {@code io.ferry.sqlite} is built: find its C plug-in (bundled in its own jar or named by
 * a system property) beside Ferry's own library, and allocate native memory that the engine side frees.
 *
 * <p>An engine binding is a C plug-in (see {@code ferry.h}: {@code ferry_registry_add} and friends)
 * loaded with {@link io.ferry.EngineBuilder#library}, plus a Java façade that looks its ops up by name
 * and calls them through {@link io.ferry.Engine}; its plumbing ops, registered {@code FERRY_OP_INTERNAL},
 * it looks up with {@link io.ferry.spi.EngineOps}. Nothing here touches the ring.
 */
package io.ferry.spi;
