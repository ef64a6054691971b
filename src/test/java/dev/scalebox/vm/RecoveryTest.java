package dev.scalebox.vm;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What a start of Scalebox does with a QEMU a crash left in the middle of an operation. */
class RecoveryTest {

    @Test
    void aResumeCutShortBeforeItsMemoryRanLeavesTheVmSuspendedWithItsState() {
        assertThat(Recovery.of(VmStatus.STARTING, "inmigrate", true)).isEqualTo(Recovery.END_KEEP_STATE);
        assertThat(Recovery.of(VmStatus.STARTING, "prelaunch", true)).isEqualTo(Recovery.END_KEEP_STATE);
        assertThat(Recovery.of(VmStatus.SUSPENDED, "paused", true)).isEqualTo(Recovery.END_KEEP_STATE);
    }

    @Test
    void aSuspendCutShortLetsTheGuestRunOn() {
        assertThat(Recovery.of(VmStatus.RUNNING, "paused", false)).isEqualTo(Recovery.CONTINUE);
        assertThat(Recovery.of(VmStatus.RUNNING, "postmigrate", true)).isEqualTo(Recovery.CONTINUE);
        assertThat(Recovery.of(VmStatus.RUNNING, "finish-migrate", false)).isEqualTo(Recovery.CONTINUE);
    }

    @Test
    void aGuestThatRunsIsAdopted() {
        assertThat(Recovery.of(VmStatus.RUNNING, "running", false)).isEqualTo(Recovery.ADOPT);
        assertThat(Recovery.of(VmStatus.STARTING, "running", true)).isEqualTo(Recovery.ADOPT);
        assertThat(Recovery.of(VmStatus.ERROR, "running", false)).isEqualTo(Recovery.ADOPT);
    }
}
