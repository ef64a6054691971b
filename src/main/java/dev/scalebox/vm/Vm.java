package dev.scalebox.vm;

import dev.scalebox.network.Egress;

import java.time.Instant;

/**
 * A VM as clients see it. {@code statusReason} says why a VM stopped or failed, when it did;
 * {@code ip} and {@code mac} are its address and MAC on the bridge, null under the user-mode network;
 * {@code url} its HTTPS address, null when VMs have none (HTTP_DOMAIN unset, or a name that is not
 * one DNS label), which leads to its {@code httpPort}; {@code startedFrom} how its guest last
 * came to run ({@code snapshot}, {@code boot}, null before it first ran); {@code sshHostKey} the
 * public SSH host key Scalebox made for it ({@code ssh-ed25519 …}), to check it by; {@code host}
 * the host it lives on.
 */
public record Vm(String id, String name, String template, VmStatus status, String statusReason, int vcpuCount,
                 int memSizeMib, int diskSizeGib, String sshHost, int sshPort, String sshUser, Instant createdAt,
                 String ip, String mac, Egress egress, int httpPort, String url, String startedFrom, String sshHostKey, String host) {

    /** A ready command line to log in. */
    public String ssh() {
        return "ssh -p " + sshPort + " " + sshUser + "@" + sshHost;
    }
}
