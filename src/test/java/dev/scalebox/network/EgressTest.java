package dev.scalebox.network;

import dev.scalebox.ScaleboxException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EgressTest {

    @Test
    void wordsAndListsSurviveTheStore() {
        for (Egress e : List.of(Egress.INTERNET, Egress.named("all"), Egress.named("none"),
                Egress.allow(List.of("203.0.113.80", "198.51.100.0/24:443")), Egress.allow(List.of()))) {
            assertThat(Egress.ofStored(e.stored())).isEqualTo(e);
        }
        assertThat(Egress.allow(List.of("203.0.113.80", "198.51.100.0/24:443")).json())
                .isEqualTo(List.of("203.0.113.80", "198.51.100.0/24:443"));
    }

    @Test
    void badEntriesAreRefusedWithWhatIsExpected() {
        for (String bad : List.of("10.0.0.1/8", "300.1.1.1", "1.2.3.4:0", "1.2.3.4:70000", "::1", "example.com",
                "1.2.3.4/33", "")) {
            assertThatThrownBy(() -> Egress.allow(List.of(bad))).as(bad)
                    .isInstanceOf(ScaleboxException.BadRequest.class).hasMessageContaining("is not an IPv4 address");
        }
        assertThatThrownBy(() -> Egress.named("everything")).isInstanceOf(ScaleboxException.BadRequest.class);
    }

    @Test
    void addressesAreHandedOutAfterTheBridgesAndNeverTheBroadcast() {
        Subnet net = Subnet.parse("10.77.0.0/30").orElseThrow();
        assertThat(Subnet.format(net.gateway())).isEqualTo("10.77.0.1");
        assertThat(net.firstFree(Set.of())).contains("10.77.0.2");
        assertThat(net.firstFree(Set.of("10.77.0.2"))).isEmpty();
        assertThat(Subnet.macOf("10.77.1.2")).isEqualTo("52:54:0a:4d:01:02");
    }
}
