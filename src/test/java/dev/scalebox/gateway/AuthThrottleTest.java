package dev.scalebox.gateway;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;

import static org.assertj.core.api.Assertions.assertThat;

class AuthThrottleTest {

    @Test
    void anAddressOverTheLimitIsRefusedOthersAreNot() throws Exception {
        AuthThrottle throttle = new AuthThrottle();
        InetAddress attacker = InetAddress.getByName("192.0.2.1");
        InetAddress user = InetAddress.getByName("192.0.2.2");
        for (int i = 0; i < AuthThrottle.MAX_FAILURES; i++) {
            assertThat(throttle.allows(attacker)).isTrue();
            throttle.failed(attacker);
        }
        assertThat(throttle.allows(attacker)).isFalse();
        assertThat(throttle.allows(user)).isTrue();
    }

    @Test
    void aFloodFromManyAddressesKeepsTheTableBounded() throws Exception {
        AuthThrottle throttle = new AuthThrottle();
        byte[] ip = {10, 0, 0, 0};
        for (int i = 0; i < 200_000; i++) {
            ip[1] = (byte) (i >> 16);
            ip[2] = (byte) (i >> 8);
            ip[3] = (byte) i;
            throttle.failed(InetAddress.getByAddress(ip));
        }
        assertThat(throttle.size()).isLessThanOrEqualTo(10_000);
    }
}
