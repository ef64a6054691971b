package dev.scalebox.vm;

/** A create request; null fields take the configured defaults. */
public record CreateVm(String template, String sshPublicKey, String name, Integer vcpuCount, Integer memSizeMib,
                       Integer diskSizeGib) {
}
