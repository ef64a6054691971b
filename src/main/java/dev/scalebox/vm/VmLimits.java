package dev.scalebox.vm;

/** Defaults and bounds for VM sizes, from the settings. */
public record VmLimits(int defaultVcpus, int defaultMemMib, int defaultDiskGib, int maxDiskGib, String sshHost,
                       String bindAddress, int portMin, int portMax) {
}
