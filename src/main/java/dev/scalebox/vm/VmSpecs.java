package dev.scalebox.vm;

import dev.scalebox.hypervisor.VmSpec;
import dev.scalebox.network.Egress;
import dev.scalebox.network.Guest;
import dev.scalebox.network.Subnet;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.store.VmStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What QEMU is given for a VM or a blank warm instance: its sizes, disk, run directory, port and NIC,
 * and the kernel, initrd and command line the base template's build left in {@code kernel/}.
 */
final class VmSpecs {

    /** A locally administered MAC no VM on the bridge has (theirs are 52:54 and their address). */
    private static final String ISOLATED_MAC = "52:54:00:00:00:01";
    private static final String FALLBACK_CMDLINE = "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet";

    private final DataLayout layout;
    private final String bindAddress;

    VmSpecs(DataLayout layout, String bindAddress) {
        this.layout = layout;
        this.bindAddress = bindAddress;
    }

    /** The VM's QEMU: on the bridge when it has an address there, else on QEMU's user-mode network. */
    VmSpec of(VmStore.Row row) {
        boolean bridged = row.ip() != null;
        return new VmSpec(row.id(), row.vcpuCount(), row.memSizeMib(), layout.disk(row.id(), row.box()),
                layout.runDir(row.id()), bindAddress, row.sshPort(), kernel(), initrd(), cmdline(),
                bridged ? Guest.tapOf(row.id()) : null, bridged ? Subnet.macOf(row.ip()) : null);
    }

    /** The VM as the bridge's network sees it; null when it has no address there. */
    static Guest guest(VmStore.Row row) {
        return row.ip() == null ? null : new Guest(row.id(), row.ip(), row.sshPort(), Egress.ofStored(row.egress()),
                row.name(), row.httpPort());
    }

    /**
     * A QEMU of {@code shape} that boots the disk {@code vms/ID.ext4} cut off from everything, with
     * a network card of the kind the VMs have (the card's backend is part of a saved state): a TAP
     * device on no bridge, or a user-mode network with no way out and no port forwarded.
     */
    VmSpec isolated(String id, WarmInstances.Shape shape, boolean bridged) {
        return new VmSpec(id, shape.vcpus(), shape.memMib(), layout.vmImage(id), layout.runDir(id), bindAddress, 0,
                kernel(), initrd(), cmdline(), bridged ? Guest.tapOf(id) : null, bridged ? ISOLATED_MAC : null);
    }

    VmSpec blank(String name, WarmInstances.Shape shape) {
        return VmSpec.blank(name, shape.vcpus(), shape.memMib(), layout.runDir(name), kernel(), initrd(), cmdline());
    }

    private Path kernel() {
        return layout.kernel().resolve("vmlinuz");
    }

    private Path initrd() {
        Path initrd = layout.kernel().resolve("initrd.img");
        return Files.exists(initrd) ? initrd : null;
    }

    private String cmdline() {
        try {
            return Files.readString(layout.kernel().resolve("cmdline")).strip();
        } catch (IOException e) {
            return FALLBACK_CMDLINE;
        }
    }
}
