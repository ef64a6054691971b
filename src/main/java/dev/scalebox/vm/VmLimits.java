package dev.scalebox.vm;

/**
 * Defaults and bounds for VM sizes, from the settings; {@code templateSnapshotsMax} is how many
 * memory snapshots (shapes) each template keeps, 0 for none: every VM then boots;
 * {@code warmGuests} how many guests resumed from a snapshot wait for the creates of its shape.
 */
public record VmLimits(int defaultVcpus, int defaultMemMib, int defaultDiskGib, int maxDiskGib, String sshHost,
                       String bindAddress, int portMin, int portMax, int templateSnapshotsMax,
                       int warmGuests) {
}
