package dev.scalebox.vm;

import dev.scalebox.network.Egress;

/** A create request; null fields take the configured defaults. */
public record CreateVm(String template, String sshPublicKey, String name, Integer vcpuCount, Integer memSizeMib,
                       Integer diskSizeGib, Egress egress) {
}
