package dev.scalebox.vm;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.HostFacts;
import dev.scalebox.storage.Names;
import dev.scalebox.storage.SshPublicKey;

/** Checks of a create or restart request, all before anything is touched. */
final class Validation {

    private static final int MIN_MEM_MIB = 128;

    private Validation() {
    }

    static int vcpus(Integer requested, VmLimits limits) {
        int v = requested != null ? requested : Math.min(limits.defaultVcpus(), hostCores());
        int cores = hostCores();
        if (v < 1 || v > cores) {
            throw new ScaleboxException.BadRequest("vcpu_count must be between 1 and " + cores + " (this host's cores), not " + v);
        }
        return v;
    }

    /** The port of the VM's web server its HTTPS address leads to: 80 unless asked. */
    static int httpPort(Integer requested) {
        int port = requested != null ? requested : 80;
        if (port < 1 || port > 65535) {
            throw new ScaleboxException.BadRequest("http_port must be a TCP port from 1 to 65535, not " + port);
        }
        return port;
    }

    /** The memory for a VM; {@code releasedMib} is what the VM gives back first (a restart's old size). */
    static int memMib(Integer requested, VmLimits limits, int releasedMib) {
        int m = requested != null ? requested : limits.defaultMemMib();
        if (m < MIN_MEM_MIB || m > 1024 * 1024) {
            throw new ScaleboxException.BadRequest("mem_size_mib must be between " + MIN_MEM_MIB + " and 1048576, not " + m);
        }
        long available = availableMemMib() + releasedMib;
        if (m > available) {
            throw new ScaleboxException.InsufficientStorage("Insufficient memory: " + available + " MiB available, need "
                    + m + " MiB");
        }
        return m;
    }

    /** The disk for a VM: as asked, else the larger of DEFAULT_DISK_SIZE_GIB and the template's size. */
    static int diskGib(Integer requested, VmLimits limits, long templateBytes) {
        int templateGib = (int) Math.ceilDiv(templateBytes, 1L << 30);
        int d = requested != null ? requested : Math.max(limits.defaultDiskGib(), templateGib);
        if (d < 1 || d > limits.maxDiskGib()) {
            throw new ScaleboxException.BadRequest("disk_size_gib must be between 1 and " + limits.maxDiskGib() + ", not " + d);
        }
        if (d < templateGib) {
            throw new ScaleboxException.BadRequest("disk_size_gib " + d + " is smaller than the template's " + templateGib
                    + " GiB");
        }
        return d;
    }

    static int grownDiskGib(int requested, int currentGib, VmLimits limits) {
        if (requested > limits.maxDiskGib()) {
            throw new ScaleboxException.BadRequest("disk_size_gib must be at most " + limits.maxDiskGib() + ", not "
                    + requested);
        }
        if (requested < currentGib) {
            throw new ScaleboxException.BadRequest("disk_size_gib " + requested + " is smaller than the disk's "
                    + currentGib + " GiB; disks can only grow");
        }
        return requested;
    }

    static String name(String requested) {
        return requested == null ? null : Names.require("name", requested);
    }

    static void key(String key) {
        SshPublicKey.parse(key);
    }

    static int hostCores() {
        return Runtime.getRuntime().availableProcessors();
    }

    /** MemAvailable in MiB; no limit when the host does not say. */
    static long availableMemMib() {
        long available = HostFacts.availableMemMib();
        return available < 0 ? Long.MAX_VALUE : available;
    }
}
