package dev.scalebox.gateway;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Failed authentications per source address, in a fixed window. An address over the limit is
 * refused without its key being looked at. The table is bounded: under a flood from many
 * addresses the oldest entries are forgotten, so memory stays flat whatever the attacker sends.
 */
final class AuthThrottle {

    static final int MAX_FAILURES = 20;
    static final long WINDOW_NANOS = 60_000_000_000L;
    private static final int MAX_ADDRESSES = 10_000;

    private record Window(long startNanos, int failures) {
    }

    private final Map<InetAddress, Window> windows = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<InetAddress, Window> eldest) {
            return size() > MAX_ADDRESSES;
        }
    };

    synchronized int size() {
        return windows.size();
    }

    synchronized boolean allows(InetAddress address) {
        Window w = windows.get(address);
        return w == null || System.nanoTime() - w.startNanos() > WINDOW_NANOS || w.failures() < MAX_FAILURES;
    }

    synchronized void failed(InetAddress address) {
        long now = System.nanoTime();
        Window w = windows.get(address);
        windows.put(address, w == null || now - w.startNanos() > WINDOW_NANOS ? new Window(now, 1)
                : new Window(w.startNanos(), w.failures() + 1));
    }
}
