package dev.scalebox.vm;

import dev.scalebox.ScaleboxException;
import dev.scalebox.hypervisor.PortAllocator;
import dev.scalebox.network.Egress;
import dev.scalebox.network.Subnet;
import dev.scalebox.store.VmStore;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The id, name, SSH port and address of each new VM, chosen under one short lock so that two
 * creates never take the same one; renames take the same lock. The record is written in
 * {@code creating}.
 */
final class Reservations {

    private final VmStore store;
    private final VmStates states;
    private final VmLimits limits;
    private final PortAllocator ports;
    private final Subnet subnet;
    private final SecureRandom random = new SecureRandom();

    /** {@code subnet}: the bridge's, from which each VM gets its address; null under the user-mode network. */
    Reservations(VmStore store, VmStates states, VmLimits limits, Subnet subnet) {
        this.store = store;
        this.subnet = subnet;
        this.states = states;
        this.limits = limits;
        this.ports = new PortAllocator(limits.portMin(), limits.portMax(), limits.bindAddress());
    }

    /** A new VM's record, in {@code creating}; a generated name when {@code name} is null. */
    synchronized VmStore.Row reserve(String template, String name, int vcpus, int mem, int disk, boolean box,
                                     Egress egress, int httpPort) {
        // names and SSH ports are unique across every host of the store; addresses on each host's own bridge
        List<VmStore.Row> existing = store.listAll();
        Set<Integer> taken = existing.stream().map(VmStore.Row::sshPort).collect(Collectors.toSet());
        Set<String> names = existing.stream().map(VmStore.Row::name).collect(Collectors.toSet());
        if (name != null && names.contains(name)) {
            throw new ScaleboxException.Conflict("A VM named '" + name + "' already exists");
        }
        int port = ports.allocate(taken).orElseThrow(() -> new ScaleboxException.InsufficientStorage(
                "No free SSH port left in " + limits.portMin() + ".." + limits.portMax()));
        byte[] idBytes = new byte[6];
        random.nextBytes(idBytes);
        String id = "vm-" + HexFormat.of().formatHex(idBytes);
        String chosen = name != null ? name : NameGenerator.unique(names, random);
        VmStore.Row row = new VmStore.Row(id, chosen, template, VmStatus.CREATING.label(), null, vcpus, mem, disk,
                port, Instant.now(), box, freeAddress(store.list()), egress.stored(), httpPort);
        if (!states.insert(row)) {
            throw new ScaleboxException.Conflict("A VM named '" + chosen + "' already exists");
        }
        return row;
    }

    /** The VM with an address on the bridge, given one now when it has none (it was made under the user-mode network). */
    synchronized VmStore.Row addressed(VmStore.Row row) {
        if (subnet == null || row.ip() != null) {
            return row;
        }
        VmStore.Row addressed = row.withNetwork(freeAddress(store.list()), row.egress());
        store.setNetwork(row.id(), addressed.ip(), addressed.egress());
        return addressed;
    }

    private String freeAddress(List<VmStore.Row> existing) {
        if (subnet == null) {
            return null;
        }
        Set<String> taken = existing.stream().map(VmStore.Row::ip).filter(java.util.Objects::nonNull)
                .collect(Collectors.toSet());
        return subnet.firstFree(taken).orElseThrow(() -> new ScaleboxException.InsufficientStorage(
                "No free address left in the guests' network " + subnet + " (NETWORK_CIDR)"));
    }

    /** Gives VM {@code id} another name; 409 when another VM has it. */
    synchronized void rename(String id, String name) {
        if (!store.rename(id, name)) {
            throw new ScaleboxException.Conflict("A VM named '" + name + "' already exists");
        }
    }
}
