package dev.scalebox.vm;

import dev.scalebox.ScaleboxException;
import dev.scalebox.store.Database;
import dev.scalebox.store.VmStore;
import dev.scalebox.testing.LoopFs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The one owner of VM state, without QEMU: its transition table, and waiting on a start by a future. */
class VmStatesTest {

    private static Path dir;
    private static VmStates states;
    private static int port = 30000;

    @BeforeAll
    static void open() {
        dir = LoopFs.tempDir();
        states = new VmStates(Database.openSqlite(dir.resolve("scalebox.db")).vms());
    }

    @AfterAll
    static void close() {
        LoopFs.deleteTree(dir);
    }

    @Test
    void aStartIsQueuedThenBootingThenRunningAndItsWaiterIsTold() throws Exception {
        VmStore.Row row = created("vm-00000000000a");
        CompletableFuture<VmStore.Row> running = states.untilRunning(row.id());

        row = states.locked(row.id(), () -> states.move(states.current("vm-00000000000a").orElseThrow(),
                VmStatus.STARTING, "queued: 2 ahead"));
        row = states.move(row, VmStatus.STARTING, "booting");
        assertThat(states.current(row.id()).orElseThrow().statusReason()).isEqualTo("booting");
        assertThat(running).isNotDone();

        states.move(row, VmStatus.RUNNING, null);
        assertThat(running.get().status()).isEqualTo("running");
        assertThat(states.untilRunning(row.id())).as("already running").isCompleted();
    }

    @Test
    void aStartThatEndsOtherwiseFailsItsWaitersWithTheReason() {
        VmStore.Row row = states.move(created("vm-00000000000b"), VmStatus.STARTING, "booting");
        CompletableFuture<VmStore.Row> first = states.untilRunning(row.id());
        CompletableFuture<VmStore.Row> second = states.untilRunning(row.id());

        states.move(row, VmStatus.ERROR, "the guest made no progress");

        for (CompletableFuture<VmStore.Row> f : java.util.List.of(first, second)) {
            assertThatThrownBy(f::get).isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(ScaleboxException.HostFailure.class)
                    .hasMessageContaining("error (the guest made no progress)");
        }
        assertThat(states.untilRunning(row.id())).isCompletedExceptionally();
    }

    @Test
    void aDeletedVmFailsItsWaiters() {
        VmStore.Row row = states.move(created("vm-00000000000c"), VmStatus.STARTING, "queued: 0 ahead");
        CompletableFuture<VmStore.Row> waiting = states.untilRunning(row.id());
        states.remove(row.id());
        assertThatThrownBy(waiting::get).hasMessageContaining("deleted");
        assertThat(states.current(row.id())).isEmpty();
    }

    @Test
    void movesTheTableDoesNotAllowAreRefusedAndChangeNothing() {
        VmStore.Row row = states.move(created("vm-00000000000d"), VmStatus.STARTING, null);
        row = states.move(row, VmStatus.RUNNING, null);
        VmStore.Row stopped = states.move(row, VmStatus.STOPPED, "QEMU exited unexpectedly");

        assertThatThrownBy(() -> states.move(stopped, VmStatus.RUNNING, null)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot go from stopped to running");
        assertThatThrownBy(() -> states.move(stopped, VmStatus.SUSPENDED, null)).isInstanceOf(IllegalStateException.class);
        assertThat(states.current(stopped.id()).orElseThrow().status()).isEqualTo("stopped");
        assertThat(VmStates.allowed(VmStatus.CREATING, VmStatus.RUNNING)).isFalse();
        assertThat(VmStates.allowed(VmStatus.SUSPENDED, VmStatus.STARTING)).isTrue();
        assertThat(VmStates.allowed(VmStatus.ERROR, VmStatus.STARTING)).isTrue();
    }

    @Test
    void moveIfChangesNothingWhenTheVmHasMovedOn() {
        VmStore.Row row = states.move(created("vm-00000000000e"), VmStatus.STARTING, "booting");
        states.move(row, VmStatus.STOPPED, "stopped on request");
        assertThat(states.moveIf(row.id(), VmStatus.STARTING, VmStatus.RUNNING, null, r -> true)).isEmpty();
        assertThat(states.current(row.id()).orElseThrow().status()).isEqualTo("stopped");
    }

    private static VmStore.Row created(String id) {
        VmStore.Row row = new VmStore.Row(id, "n-" + id.substring(3), "debian-base", "creating", null, 1, 256, 2, port++,
                Instant.now(), false, null, "internet", 80);
        assertThat(states.insert(row)).isTrue();
        return row;
    }
}
