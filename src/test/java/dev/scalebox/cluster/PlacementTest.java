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
            host("alpha", "up", 1_000, 100), host("beta", "up", 8_000, 100), host("gamma", "up", 16_000, 3),
            host("delta", "down", 32_000, 100), host("eps", "draining", 32_000, 100));
    private static final Set<String> EVERYWHERE = Set.of("alpha", "beta", "gamma", "delta", "eps");

    private static final long GIB = 1L << 30;

    @Test
    void theUpHostWithTheMostFreeMemoryThatHasTheDiskTooTakesIt() {
        assertThat(Placement.choose(HOSTS, EVERYWHERE, GIB, "debian-base", 2048, 2, Optional.empty()))
                .as("gamma has more memory but 3 GiB of disk, not 2 and 2 to spare; delta and eps are not up").isEqualTo("beta");
        assertThat(Placement.choose(HOSTS, EVERYWHERE, GIB, "debian-base", 2048, 1, Optional.empty())).isEqualTo("gamma");
    }

    @Test
    void aHostWithoutTheTemplateTakesItWhenItHasRoomForACopyToo() {
        assertThat(Placement.choose(HOSTS, Set.of("alpha"), GIB, "app", 512, 2, Optional.empty()))
                .as("beta has the most memory and room for the VM and a copy of the template").isEqualTo("beta");
        assertThat(Placement.choose(HOSTS, Set.of("alpha"), 99 * GIB, "app", 512, 2, Optional.empty()))
                .as("no room for a 99 GiB template but on alpha, which holds it").isEqualTo("alpha");
        assertThat(Placement.choose(HOSTS, Set.of("eps"), GIB, "app", 512, 1, Optional.empty()))
                .as("a draining host still sends its templates").isEqualTo("beta");
        List<HostStore.Row> twins = List.of(host("alpha", "up", 8_000, 100), host("beta", "up", 8_000, 100));
        assertThat(Placement.choose(twins, Set.of("beta"), GIB, "app", 512, 2, Optional.empty()))
                .as("at equal memory, the host that holds the template").isEqualTo("beta");
    }

    @Test
    void aNamedHostMustBeUp() {
        assertThat(Placement.choose(HOSTS, EVERYWHERE, GIB, "debian-base", 64_000, 2, Optional.of("alpha")))
                .as("a named host is taken as asked").isEqualTo("alpha");
        assertThat(Placement.choose(HOSTS, Set.of("beta"), GIB, "app", 512, 2, Optional.of("alpha")))
                .as("a named host without the template takes a copy").isEqualTo("alpha");
        assertThatThrownBy(() -> Placement.choose(HOSTS, EVERYWHERE, GIB, "debian-base", 512, 2, Optional.of("zeta")))
                .isInstanceOf(ScaleboxException.NotFound.class).hasMessage("No host named 'zeta'");
        assertThatThrownBy(() -> Placement.choose(HOSTS, EVERYWHERE, GIB, "debian-base", 512, 2, Optional.of("delta")))
                .isInstanceOf(ScaleboxException.Conflict.class).hasMessage("host delta is down and takes no new VMs: silent");
        assertThatThrownBy(() -> Placement.choose(HOSTS, EVERYWHERE, GIB, "debian-base", 512, 2, Optional.of("eps")))
                .isInstanceOf(ScaleboxException.Conflict.class)
                .hasMessage("host eps is draining and takes no new VMs: silent");
    }

    @Test
    void whenNoHostCanTakeItEachSaysWhatItLacks() {
        assertThatThrownBy(() -> Placement.choose(HOSTS, Set.of("delta"), GIB, "app", 512, 2, Optional.empty()))
                .isInstanceOf(ScaleboxException.NotFound.class)
                .hasMessage("No up host holds template 'app' (it is on delta, which are down)");
        assertThatThrownBy(() -> Placement.choose(HOSTS, Set.of("alpha", "beta"), GIB, "app", 9_000, 2, Optional.empty()))
                .isInstanceOf(ScaleboxException.InsufficientStorage.class)
                .hasMessage("No up host has 9000 MiB of memory and 4 GiB of disk free (2 for the disk, 2 kept spare) for a VM"
                        + " of template 'app':"
                        + " alpha has 1000 MiB and 100 GiB, beta has 8000 MiB and 100 GiB,"
                        + " gamma has 16000 MiB and 3 GiB and needs 1 GiB more for a copy of the template");
    }

    @Test
    void aBoxGoesToAnotherUpHostWithItsRoomAndAnInstanceWhenItIsToRun() {
        HostStore.BoxPool full = new HostStore.BoxPool(0, 0, 2, 2, 2, 8);
        HostStore.BoxPool warm = new HostStore.BoxPool(0, 1, 2, 2, 2, 8);
        List<HostStore.Row> hosts = List.of(host("alpha", "up", 8_000, 100, full), host("beta", "up", 4_000, 100, warm),
                host("gamma", "up", 2_000, 100, new HostStore.BoxPool(1, 0, 1, 4, 3, 8)),
                host("delta", "up", 16_000, 1, new HostStore.BoxPool(0, 0, 0, 4, 0, 8)),
                host("eps", "draining", 32_000, 100, null), host("zeta", "up", 32_000, 100, null));
        assertThat(Placement.forBox(hosts, "gamma", 512, 5 * GIB, false))
                .as("the most free memory among up hosts with room for the volume; delta has 1 GiB, eps drains")
                .contains("zeta");
        assertThat(Placement.forBox(hosts, "gamma", 512, 5 * GIB, true))
                .as("to run: alpha's instances are all taken, zeta has no pool; beta has a warm instance")
                .contains("beta");
        assertThat(Placement.forBox(hosts, "beta", 512, 5 * GIB, true)).as("never the box's own host").contains("gamma");
        assertThat(Placement.forBox(hosts, "gamma", 8_192, 5 * GIB, true)).isEmpty();
        List<HostStore.Row> otherQemu = List.of(host("alpha", "up", 8_000, 100, warm),
                new HostStore.Row("beta", "http://beta:8080", "beta", "up", null, 2, 64_000, 8_000, 200L << 30, 100L << 30,
                        500, "QEMU emulator version 9.2.0", "tcg: max", 3, Instant.EPOCH, Instant.EPOCH, null, null, warm));
        assertThat(Placement.forBox(otherQemu, "alpha", 512, GIB, false))
                .as("a memory state resumes only under the QEMU that saved it").isEmpty();
    }

    private static HostStore.Row host(String name, String state, long memFreeMib, long poolFreeGib) {
        return host(name, state, memFreeMib, poolFreeGib, null);
    }

    private static HostStore.Row host(String name, String state, long memFreeMib, long poolFreeGib,
                                      HostStore.BoxPool boxPool) {
        return new HostStore.Row(name, "http://" + name + ":8080", name, state, state.equals("up") ? null : "silent", 2,
                64_000, memFreeMib, 200L << 30, poolFreeGib << 30, 500, "QEMU emulator version 7.2.19", "tcg: max", 3,
                Instant.EPOCH, Instant.EPOCH, null, null, boxPool);
    }
}
