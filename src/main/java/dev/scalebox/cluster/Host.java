package dev.scalebox.cluster;

import dev.scalebox.store.HostStore;

import java.time.Instant;

/**
 * A host as clients see it: where its API and SSH gateway are reached, its state ({@code up},
 * {@code draining}, {@code down}) and why, its capacity and load (the one-minute load average), how
 * many VMs it holds, what its memory states need of another host to resume there, and its box
 * pool (null before its gateway started).
 */
public record Host(String name, String url, String gateway, String state, String stateReason, int cores, long memTotalMib,
                   long memFreeMib, long poolTotalBytes, long poolFreeBytes, double load, long vms, String qemuVersion,
                   String cpuModel, Instant startedAt, Instant heartbeatAt, HostStore.BoxPool boxPool) {

    static Host of(HostStore.Row r, long vms) {
        return new Host(r.name(), r.url(), r.gateway(), r.state(), r.stateReason(), r.cores(), r.memTotalMib(), r.memFreeMib(),
                r.poolTotalBytes(), r.poolFreeBytes(), r.loadMilli() / 1000.0, vms, r.qemuVersion(), r.cpuModel(),
                r.startedAt(), r.heartbeatAt(), r.boxPool());
    }
}
