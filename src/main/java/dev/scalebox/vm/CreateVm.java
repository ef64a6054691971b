package dev.scalebox.vm;

import dev.scalebox.network.Egress;

/**
 * A create request; null fields take the configured defaults. {@code httpPort} is the port of
 * the VM's web server that its HTTPS address leads to (80 when null).
 */
public record CreateVm(String template, String sshPublicKey, String name, Integer vcpuCount, Integer memSizeMib,
                       Integer diskSizeGib, Egress egress, Integer httpPort) {

    public CreateVm(String template, String sshPublicKey, String name, Integer vcpuCount, Integer memSizeMib,
                    Integer diskSizeGib, Egress egress) {
        this(template, sshPublicKey, name, vcpuCount, memSizeMib, diskSizeGib, egress, null);
    }
}
