package dev.scalebox.network;

import dev.scalebox.host.ProgramResult;
import dev.scalebox.host.ProgramRunner;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The rules as nftables itself reads them ({@code nft -c}: checked, not applied). */
class FirewallTest {

    private static final NetworkConfig CONFIG = new NetworkConfig(true, "sbcheck0",
            Subnet.parse("10.79.255.0/24").orElseThrow(), "127.0.0.1", Egress.INTERNET, Egress.INTERNET);

    private static ProgramResult check(NetworkConfig config, List<Guest> guests) {
        String rules = new Firewall(new ProgramRunner(), config).ruleset(guests);
        ProgramResult r = new ProgramRunner().run(List.of("nft", "-c", "-f", "-"), Duration.ofSeconds(30),
                rules.getBytes(StandardCharsets.UTF_8), line -> { });
        assertThat(r.succeeded()).as(r.stderr() + "\n" + rules).isTrue();
        return r;
    }

    @Test
    void rulesWithNoGuestAreValid() {
        check(CONFIG, List.of());
    }

    @Test
    void rulesForEveryKindOfEgressAreValid() {
        check(CONFIG, List.of(
                new Guest("vm-000000000001", "10.79.255.2", 22001, Egress.INTERNET),
                new Guest("vm-000000000002", "10.79.255.3", 22002, Egress.named("all")),
                new Guest("vm-000000000003", "10.79.255.4", 22003, Egress.named("none")),
                new Guest("vm-000000000004", "10.79.255.5", 22004, Egress.allow(List.of("203.0.113.80", "198.51.100.0/24:443")))));
    }

    @Test
    void aWildcardBindForwardsFromEveryLocalAddress() {
        check(new NetworkConfig(true, "sbcheck0", Subnet.parse("10.79.255.0/24").orElseThrow(), "0.0.0.0",
                Egress.INTERNET, Egress.INTERNET), List.of(new Guest("vm-000000000001", "10.79.255.2", 22001, Egress.INTERNET)));
    }
}
