package dev.scalebox.cluster;

import dev.scalebox.ScaleboxException;
import dev.scalebox.storage.StorageService;
import dev.scalebox.store.HostStore;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Where a new VM goes: the {@code up} host with the most free memory among those that have its
 * memory and disk free, unless the request names a host, which must then be up. A host without
 * the template needs room for a copy too, which it takes from a host that holds it; at equal
 * memory, a host that holds it wins. Every refusal says what each host lacked.
 */
final class Placement {

    private Placement() {
    }

    /**
     * @param hosts         every host of the store, as their heartbeats left them
     * @param holders       the hosts that hold the template
     * @param templateBytes the size of the template's image, which a host without it must have room for
     * @param named         the host the request names, if it does
     */
    static String choose(List<HostStore.Row> hosts, Set<String> holders, long templateBytes, String template, int memMib,
                         int diskGib, Optional<String> named) {
        Set<String> senders = hosts.stream().filter(h -> !h.state().equals("down") && holders.contains(h.name()))
                .map(HostStore.Row::name).collect(Collectors.toSet());
        if (senders.isEmpty()) {
            throw new ScaleboxException.NotFound("No up host holds template '" + template + "'"
                    + (holders.isEmpty() ? "" : " (it is on " + String.join(", ", holders) + ", which are down)"));
        }
        if (named.isPresent()) {
            String name = named.get();
            HostStore.Row host = hosts.stream().filter(h -> h.name().equals(name)).findFirst()
                    .orElseThrow(() -> new ScaleboxException.NotFound("No host named '" + name + "'"));
            if (!host.state().equals("up")) {
                throw new ScaleboxException.Conflict("host " + name + " is " + host.state() + " and takes no new VMs"
                        + (host.stateReason() == null ? "" : ": " + host.stateReason()));
            }
            return name;
        }
        List<HostStore.Row> up = hosts.stream().filter(h -> h.state().equals("up")).toList();
        // A host keeps SPACE_BUFFER_GIB free beyond what a create needs, and refuses one that would not.
        long diskBytes = (long) (diskGib + StorageService.SPACE_BUFFER_GIB) << 30;
        return up.stream()
                .filter(h -> h.memFreeMib() >= memMib
                        && h.poolFreeBytes() >= diskBytes + (holders.contains(h.name()) ? 0 : templateBytes))
                .max(Comparator.comparingLong(HostStore.Row::memFreeMib)
                        .thenComparing(h -> holders.contains(h.name()))
                        .thenComparing(HostStore.Row::name, Comparator.reverseOrder()))
                .map(HostStore.Row::name)
                .orElseThrow(() -> new ScaleboxException.InsufficientStorage("No up host has " + memMib
                        + " MiB of memory and " + (diskGib + StorageService.SPACE_BUFFER_GIB) + " GiB of disk free ("
                        + diskGib + " for the disk, " + StorageService.SPACE_BUFFER_GIB + " kept spare) for a VM of template '"
                        + template + "'"
                        + (up.isEmpty() ? "" : ": " + up.stream().map(h -> h.name() + " has " + h.memFreeMib() + " MiB and "
                        + (h.poolFreeBytes() >> 30) + " GiB" + (holders.contains(h.name()) ? ""
                        : " and needs " + Math.ceilDiv(templateBytes, 1L << 30) + " GiB more for a copy of the template"))
                        .collect(Collectors.joining(", ")))));
    }

    /**
     * Where a box of host {@code self} goes when its host drains, or is full: the up host, other
     * than {@code self}, with the most free memory among those with {@code memMib} of memory and
     * {@code bytes} of pool free and the QEMU and CPU model of {@code self}, which its memory needs;
     * for a box that is to run at once ({@code toRun}), only a host whose box pool has room for one
     * more instance.
     */
    static Optional<String> forBox(List<HostStore.Row> hosts, String self, int memMib, long bytes, boolean toRun) {
        Optional<HostStore.Row> from = hosts.stream().filter(h -> h.name().equals(self)).findFirst();
        return from.flatMap(source -> hosts.stream()
                .filter(h -> !h.name().equals(self) && h.state().equals("up") && h.memFreeMib() >= memMib
                        && h.poolFreeBytes() >= bytes && h.qemuVersion().equals(source.qemuVersion())
                        && h.cpuModel().equals(source.cpuModel())
                        && (!toRun || h.boxPool() != null && h.boxPool().hasInstanceRoom()))
                .max(Comparator.comparingLong(HostStore.Row::memFreeMib))
                .map(HostStore.Row::name));
    }
}
