package dev.scalebox.network;

import dev.scalebox.api.ApiServer;
import dev.scalebox.api.ApiToken;
import dev.scalebox.host.ProgramResult;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestVms;
import dev.scalebox.testing.Waits;
import dev.scalebox.vm.CreateVm;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A VM's HTTPS address, through a real Caddy to a web server in a real guest: served with a
 * certificate of Caddy's internal CA, woken from suspended by a request, and gone (404) once the
 * VM is deleted.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HttpsAddressTest {

    private static final String DOMAIN = "vms.scalebox.test";
    private static TestVms env;
    private static VmService vms;
    private static ApiServer api;
    private static int httpsPort;
    private static Vm web;

    @BeforeAll
    static void start() throws IOException {
        int apiPort = freePort();
        httpsPort = freePort();
        env = new TestVms("https", 32101, layout -> new HttpsConfig(DOMAIN, "127.0.0.1", httpsPort, null,
                layout.root().resolve("caddy"), "127.0.0.1:" + apiPort));
        vms = env.service();
        api = ApiServer.start("127.0.0.1", apiPort, ApiToken.resolve(Optional.of("https-test-token-0123456789"),
                Path.of("/nonexistent")), new ApiServer.Services(env.templates, vms, env.storage, "tcg", null, null));
        web = vms.create(new CreateVm("debian-base", env.publicKey, "web", 1, 384, null, null));
        web = Waits.status(vms, web.id(), VmStatus.RUNNING, Waits.START);
        env.serveHttp(web);
    }

    @AfterAll
    static void stop() {
        if (api != null) {
            api.close();
        }
        if (env != null) {
            env.close();
        }
    }

    @Test
    @Order(1)
    void aVmIsServedAtItsNameUnderTheDomainWithACertificateOfTheInternalCa() {
        assertThat(web.url()).isEqualTo("https://web." + DOMAIN + ":" + httpsPort + "/");
        assertThat(vms.get("web").httpPort()).isEqualTo(80);
        ProgramResult page = curl("web");
        assertThat(page.stdout()).as(page.stderr()).isEqualTo("hello from web\n200");
    }

    @Test
    @Order(2)
    void aRequestWakesASuspendedVmAndIsServedOnceItRuns() {
        vms.suspend("web");
        assertThat(vms.get("web").status()).isEqualTo(VmStatus.SUSPENDED);

        assertThatThrownBy(() -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(web.ip(), 80), 20_000);
            }
        })
                .as("a connection to a VM that does not run is reset, not left to fail on ARP")
                .isInstanceOf(ConnectException.class).hasMessageContaining("Connection refused");
        ProgramResult first = curl("web");
        assertThat(first.stdout()).as("the first answer, while the VM wakes").endsWith("503");
        assertThat(first.stdout()).contains("waking up");
        // The resume waits its turn in the host's line of starts, which other test classes fill.
        ProgramResult page = curl("web", "--retry", "10000", "--retry-max-time", "900");
        assertThat(page.stdout()).as(page.stderr()).endsWith("hello from web\n200");
        assertThat(curl("web").stdout()).isEqualTo("hello from web\n200");
        Waits.status(vms, "web", VmStatus.RUNNING, Waits.STEP);
    }

    @Test
    @Order(3)
    void aDeletedVmLosesItsRouteAndItsAddressAnswers404() {
        vms.delete("web");
        ProgramResult gone = curl("web");
        assertThat(gone.stdout()).as(gone.stderr()).isEqualTo("No VM is published at this address.\n404");
        assertThat(curl("never-was").stdout()).endsWith("404");
    }

    /** {@code curl} to NAME's address on loopback, trusting only the internal CA's root; body then status. */
    private static ProgramResult curl(String name, String... options) {
        String host = name + "." + DOMAIN;
        List<String> argv = new ArrayList<>(List.of("curl", "-sS", "--resolve", host + ":" + httpsPort + ":127.0.0.1",
                "--cacert", env.network.https().orElseThrow().rootCertificate().toString(), "-w", "%{http_code}", "-m", "120"));
        argv.addAll(List.of(options));
        argv.add("https://" + host + ":" + httpsPort + "/");
        return Sh.tryRun(argv.toArray(String[]::new));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
