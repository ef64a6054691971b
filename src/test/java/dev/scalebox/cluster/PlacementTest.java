package dev.scalebox.cluster;

import dev.scalebox.ScaleboxException;
import dev.scalebox.store.HostStore;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The choice of a new VM's host, from the hosts' last heartbeats and where its template is. */
class PlacementTest {

    private static final List<HostStore.Row> HOSTS = List.of(
            host("alpha", "up", 1_000, 100), host("beta", "up", 8_000, 100), host("gamma", "up", 16_000, 1),
            host("delta", "down", 32_000, 100), host("eps", "draining", 32_000, 100));
    private static final Set<String> EVERYWHERE = Set.of("alpha", "beta", "gamma", "delta", "eps");

    @Test
    void theUpHostWithTheMostFreeMemoryThatHasTheDiskTooTakesIt() {
        assertThat(Placement.choose(HOSTS, EVERYWHERE, "debian-base", 2048, 2, Optional.empty()))
                .as("gamma has more memory but 1 GiB of disk; delta and eps are not up").isEqualTo("beta");
        assertThat(Placement.choose(HOSTS, EVERYWHERE, "debian-base", 2048, 1, Optional.empty())).isEqualTo("gamma");
        assertThat(Placement.choose(HOSTS, Set.of("alpha"), "debian-base", 512, 2, Optional.empty()))
                .as("only alpha holds the template").isEqualTo("alpha");
    }

    @Test
    void aNamedHostMustBeUpAndHoldTheTemplate() {
        assertThat(Placement.choose(HOSTS, EVERYWHERE, "debian-base", 64_000, 2, Optional.of("alpha")))
                .as("a named host is taken as asked").isEqualTo("alpha");
        assertThatThrownBy(() -> Placement.choose(HOSTS, EVERYWHERE, "debian-base", 512, 2, Optional.of("zeta")))
                .isInstanceOf(ScaleboxException.NotFound.class).hasMessage("No host named 'zeta'");
        assertThatThrownBy(() -> Placement.choose(HOSTS, EVERYWHERE, "debian-base", 512, 2, Optional.of("delta")))
                .isInstanceOf(ScaleboxException.Conflict.class).hasMessage("host delta is down and takes no new VMs: silent");
        assertThatThrownBy(() -> Placement.choose(HOSTS, Set.of("beta"), "app", 512, 2, Optional.of("alpha")))
                .isInstanceOf(ScaleboxException.Conflict.class)
                .hasMessage("host alpha has no copy of template 'app'; it is on beta");
    }

    @Test
    void whenNoHostCanTakeItEachSaysWhatItLacks() {
        assertThatThrownBy(() -> Placement.choose(HOSTS, Set.of("delta"), "app", 512, 2, Optional.empty()))
                .isInstanceOf(ScaleboxException.NotFound.class)
                .hasMessage("No up host holds template 'app' (it is on delta, which are not up)");
        assertThatThrownBy(() -> Placement.choose(HOSTS, Set.of("alpha", "beta"), "app", 9_000, 2, Optional.empty()))
                .isInstanceOf(ScaleboxException.InsufficientStorage.class)
                .hasMessage("No up host with template 'app' has 9000 MiB of memory and 2 GiB of disk free:"
                        + " alpha has 1000 MiB and 100 GiB, beta has 8000 MiB and 100 GiB");
    }

    private static HostStore.Row host(String name, String state, long memFreeMib, long poolFreeGib) {
        return new HostStore.Row(name, "http://" + name + ":8080", name, state, state.equals("up") ? null : "silent", 2,
                64_000, memFreeMib, 200L << 30, poolFreeGib << 30, 500, "QEMU emulator version 7.2.19", "tcg: max", 3,
                Instant.EPOCH, Instant.EPOCH);
    }
}
