package dev.scalebox.hypervisor;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CPU model guests see: the one KVM_CPU_MODEL names under KVM (common to the hosts of a store),
 * max under TCG; and the guest kernel's command line under each.
 */
class AcceleratorTest {

    @Test
    void kvmTakesTheConfiguredModelAndTcgItsMax() {
        assertThat(Accelerator.KVM.qemuArgs(64, "EPYC-v4")).containsExactly("-accel", "kvm", "-cpu", "EPYC-v4");
        assertThat(Accelerator.KVM.qemuArgs(64, "host")).containsExactly("-accel", "kvm", "-cpu", "host");
        assertThat(Accelerator.TCG.qemuArgs(32, "EPYC-v4")).containsExactly("-accel", "tcg,tb-size=32", "-cpu", "max");
    }

    @Test
    void onlyGuestsUnderTcgGoWithoutAddressSpaceRandomization() {
        assertThat(Accelerator.TCG.guestCmdline("root=/dev/vda rw")).isEqualTo("root=/dev/vda rw norandmaps");
        assertThat(Accelerator.KVM.guestCmdline("root=/dev/vda rw")).isEqualTo("root=/dev/vda rw");
    }
}
