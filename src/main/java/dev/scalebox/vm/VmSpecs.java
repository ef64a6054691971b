package dev.scalebox.vm;

import dev.scalebox.hypervisor.VmSpec;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.store.VmStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What QEMU is given for a VM or a blank warm instance: its sizes, disk, run directory and port,
 * and the kernel, initrd and command line the base template's build left in {@code kernel/}.
 */
final class VmSpecs {

    private static final String FALLBACK_CMDLINE = "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet";

    private final DataLayout layout;
    private final String bindAddress;

    VmSpecs(DataLayout layout, String bindAddress) {
        this.layout = layout;
        this.bindAddress = bindAddress;
    }

    VmSpec of(VmStore.Row row) {
        return new VmSpec(row.id(), row.vcpuCount(), row.memSizeMib(), layout.disk(row.id(), row.box()),
                layout.runDir(row.id()), bindAddress, row.sshPort(), kernel(), initrd(), cmdline());
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
