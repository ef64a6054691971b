package dev.scalebox.cluster;

import dev.scalebox.ScaleboxException;
import dev.scalebox.store.HostStore;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Where a new VM goes: the {@code up} host with the most free memory among those that hold its
 * template and have its memory and disk free, unless the request names a host, which must then be
 * up and hold the template. Every refusal says what each host lacked.
 */
final class Placement {

    private Placement() {
    }

    /**
     * @param hosts    every host of the store, as their heartbeats left them
     * @param holders  the hosts that hold the template
     * @param named    the host the request names, if it does
     */
    static String choose(List<HostStore.Row> hosts, Set<String> holders, String template, int memMib, int diskGib,
                         Optional<String> named) {
        if (named.isPresent()) {
            String name = named.get();
            HostStore.Row host = hosts.stream().filter(h -> h.name().equals(name)).findFirst()
                    .orElseThrow(() -> new ScaleboxException.NotFound("No host named '" + name + "'"));
            if (!host.state().equals("up")) {
                throw new ScaleboxException.Conflict("host " + name + " is " + host.state() + " and takes no new VMs"
                        + (host.stateReason() == null ? "" : ": " + host.stateReason()));
            }
            if (!holders.contains(name)) {
                throw new ScaleboxException.Conflict("host " + name + " has no copy of template '" + template + "'"
                        + (holders.isEmpty() ? "" : "; it is on " + String.join(", ", holders)));
            }
            return name;
        }
        List<HostStore.Row> up = hosts.stream().filter(h -> h.state().equals("up") && holders.contains(h.name())).toList();
        if (up.isEmpty()) {
            throw new ScaleboxException.NotFound("No up host holds template '" + template + "'"
                    + (holders.isEmpty() ? "" : " (it is on " + String.join(", ", holders) + ", which are not up)"));
        }
        long diskBytes = (long) diskGib << 30;
        return up.stream().filter(h -> h.memFreeMib() >= memMib && h.poolFreeBytes() >= diskBytes)
                .max(Comparator.comparingLong(HostStore.Row::memFreeMib).thenComparing(HostStore.Row::name,
                        Comparator.reverseOrder()))
                .map(HostStore.Row::name)
                .orElseThrow(() -> new ScaleboxException.InsufficientStorage("No up host with template '" + template
                        + "' has " + memMib + " MiB of memory and " + diskGib + " GiB of disk free: " + up.stream()
                        .map(h -> h.name() + " has " + h.memFreeMib() + " MiB and " + (h.poolFreeBytes() >> 30) + " GiB")
                        .collect(Collectors.joining(", "))));
    }
}
