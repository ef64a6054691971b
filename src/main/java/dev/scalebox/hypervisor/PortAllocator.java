package dev.scalebox.hypervisor;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Host ports for forwarded guest SSH, from {@code PORT_MIN..PORT_MAX}. A port is free when no VM
 * holds it and the host can bind it now; QEMU binds it moments later, and a lost race makes QEMU's
 * start fail, which the caller undoes.
 */
public final class PortAllocator {

    private final int min;
    private final int max;
    private final String bindAddress;

    public PortAllocator(int min, int max, String bindAddress) {
        this.min = min;
        this.max = max;
        this.bindAddress = bindAddress;
    }

    /** The lowest port not in {@code taken} that can be bound, or empty when the range is used up. */
    public java.util.OptionalInt allocate(Set<Integer> taken) {
        return allocate(p -> !taken.contains(p));
    }

    public java.util.OptionalInt allocate(Predicate<Integer> unclaimed) {
        for (int port = min; port <= max; port++) {
            if (unclaimed.test(port) && bindable(port)) {
                return java.util.OptionalInt.of(port);
            }
        }
        return java.util.OptionalInt.empty();
    }

    private boolean bindable(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getByName(bindAddress))) {
            socket.setReuseAddress(true);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
