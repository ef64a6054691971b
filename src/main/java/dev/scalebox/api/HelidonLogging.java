package dev.scalebox.api;

import io.helidon.logging.common.spi.LoggingProvider;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Helidon's logging, found by its service loader: Helidon logs through java.util.logging, which
 * this routes to SLF4J and Logback, the log of the rest of Scalebox.
 */
public final class HelidonLogging implements LoggingProvider {

    @Override
    public void initialization() {
        install();
    }

    @Override
    public void runTime() {
    }

    static synchronized void install() {
        if (!SLF4JBridgeHandler.isInstalled()) {
            SLF4JBridgeHandler.removeHandlersForRootLogger();
            SLF4JBridgeHandler.install();
        }
    }
}
